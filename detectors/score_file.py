"""The official score file, ``filename score label`` one trial a line, written so a run resumes.

Lines go to ``<out>.partial`` as they are scored, beside an identity stamp (model bytes + what is
scored) that keeps a partial file of another model or split from being mixed in; a rerun skips
the files already there, and the finished file appears atomically under its real name. Both the
neural detectors and the LFCC-GMM baseline score through this one class.
"""

from __future__ import annotations

from pathlib import Path

from codecfake_core.io import atomic_write_text, replace_durably


def format_score_line(file: str, score: float, label: str) -> str:
    return f"{file} {score:.6f} {label}\n"


def finished_files(partial: Path) -> set[str]:
    """Files already scored in a partial file; a half-written last line is cut off (in place, so
    a crash now cannot lose the lines before it)."""
    if not partial.is_file():
        return set()
    data = partial.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(partial, "r+b") as handle:
            handle.truncate(keep)
    complete = data[:keep].decode("utf-8")
    return {line.split()[0] for line in complete.splitlines() if line.strip()}


class ScoreFile:
    """``out`` written through ``out.partial``: resumable, and atomic when finished."""

    def __init__(self, out: Path, identity: str) -> None:
        self.target = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = out.with_name(out.name + ".partial")
        self.stamp = out.with_name(out.name + ".partial.json")
        if not self.stamp.is_file() or self.stamp.read_text(encoding="utf-8") != identity:
            self.partial.unlink(missing_ok=True)  # a partial run of another model or split
            atomic_write_text(self.stamp, identity)
        self.done = finished_files(self.partial)
        self.handle = open(self.partial, "a", encoding="utf-8")  # noqa: SIM115 (closed in finish)

    def write(self, file: str, score: float, label: str) -> None:
        self.handle.write(format_score_line(file, score, label))

    def flush(self) -> None:
        self.handle.flush()

    def finish(self) -> Path:
        """Close, and put the finished file in place under its real name."""
        self.handle.close()
        replace_durably(self.partial, self.target)
        self.stamp.unlink()
        return self.target

    def close(self) -> None:
        """Close after an error; the partial file stays for a rerun to resume."""
        self.handle.close()
