"""Record every command output the documentation shows, from real runs, so none can drift.

Each *scene* sets up a fresh workspace (a release built by ``testkit.release_factory``, its
archives served by a loopback Zenodo, a local test Hub, the paper's published score files, ...)
and runs its *recordings* there in order: ``codecfake`` commands (in this process, through
``codecfake_cli.main``), Python snippets from ``docs/outputs/snippets/`` (the very files the
pages show) and a few shell commands. Each recording is one transcript,
``docs/outputs/<name>.txt``, that the pages include with ``--8<--``.

    python docs/outputs/make.py               # rewrite the transcripts of the fast scenes
    python docs/outputs/make.py --slow        # ... and of the slow ones (demo, training)
    python docs/outputs/make.py --check       # compare instead of writing: exit 1 on drift
    python docs/outputs/make.py --scene release --check

``tests/test_docs.py`` runs ``--check``. What may differ between two honest runs is handled the
same way on both sides before comparing: the workspace's absolute path prints as ``$PWD``, a
loopback server's port as ``PORT``; durations, rates and free disk space are masked (the pages say
so next to each block that shows one); lines that finish in any order (parallel downloads) are
compared as a set. Everything else must match to the character.

Each scene runs in a process of its own (``--run-scene``), because ``datasets`` and
``huggingface_hub`` read their settings (caches, offline mode, the Hub's address) once, at import.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import glob
import gzip
import io
import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

OUTPUTS = Path(__file__).resolve().parent
SNIPPETS = OUTPUTS / "snippets"
ROOT = OUTPUTS.parents[1]
IMAGES = ROOT / "docs" / "images"
for _path in (ROOT, ROOT / "tests"):  # testkit, and the tests' loopback Hub (tests/helpers)
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
WORKSPACE = "$PWD"
"""What the workspace's absolute path prints as."""

# ------------------------------------------------------------------------------- steps


def _is_glob(word: str) -> bool:
    return any(char in word for char in "*?[")


@dataclass(frozen=True)
class Cli:
    """``codecfake ARGS``, shown as typed; a word with ``*``, ``?`` or ``[`` is a glob, expanded
    sorted (as a shell would)."""

    args: tuple[str, ...]
    status: int = 0
    """The exit status the run must end with (a recording of a failure says so)."""

    def __init__(self, *args: str, status: int = 0):
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "status", status)

    def show(self) -> str:
        return "$ codecfake " + " ".join(a if _is_glob(a) else shlex.quote(a) for a in self.args)

    def run(self, workspace: Path, out: io.StringIO) -> None:
        import codecfake_cli

        argv: list[str] = []
        for arg in self.args:
            argv += sorted(glob.glob(arg, root_dir=workspace)) if _is_glob(arg) else [arg]
        status = codecfake_cli.main(argv)
        if status != self.status:
            raise RecordingError(
                f"{self.show()} exited {status}, expected {self.status}:\n{out.getvalue()}"
            )


@dataclass(frozen=True)
class Python:
    """A snippet of ``docs/outputs/snippets/``, run as a script: only its output is shown."""

    snippet: str

    def show(self) -> str | None:
        return None

    def run(self, workspace: Path, out: io.StringIO) -> None:
        runpy.run_path(str(SNIPPETS / self.snippet), run_name="__main__")


@dataclass(frozen=True)
class Shell:
    """A shell command (``ls``), shown as typed."""

    command: str

    def show(self) -> str:
        return "$ " + self.command

    def run(self, workspace: Path, out: io.StringIO) -> None:
        terminal = {
            **os.environ,
            "COLUMNS": "100",
            "TABSIZE": "0",
        }  # `ls -C` as on a terminal, no tabs
        done = subprocess.run(
            self.command, shell=True, capture_output=True, text=True, check=True, env=terminal
        )
        out.write(done.stdout + done.stderr)


Step = Cli | Python | Shell


@dataclass(frozen=True)
class Recording:
    name: str
    steps: tuple[Step, ...]
    unordered: str | None = None
    """A regex: consecutive lines matching it may come in any order (compared sorted)."""


@dataclass(frozen=True)
class Scene:
    name: str
    setup: Callable[[Path], contextlib.AbstractContextManager[None]]
    recordings: tuple[Recording, ...]
    slow: bool = False
    needs: Callable[[], str | None] = lambda: None
    """Why the scene cannot run here (missing data), or None."""
    images: dict[str, str] = field(default_factory=dict)
    """Workspace file -> docs/images/ name, copied when recording (pictures are not compared)."""


def _without_espeak() -> str | None:
    """The demo page shows the formant synthesiser's run; with espeak-ng installed, ``codecfake
    demo`` speaks another corpus, so every number after its first step differs (the page says
    so), and there is nothing to compare."""
    if shutil.which("espeak-ng"):
        return "espeak-ng is installed: the demo would speak another corpus than the one recorded"
    return None


class RecordingError(RuntimeError):
    pass


# ------------------------------------------------------------------------------- scenes


@contextlib.contextmanager
def nothing(workspace: Path) -> Iterator[None]:
    yield


def _factory_release(root: Path, **options: object) -> Path:
    """A small release in the official layout (synthetic speech, every quirk of the real one)."""
    from testkit.release_factory import make_release

    conditions = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "A1", "A2", "A3")
    make_release(root, conditions=options.pop("conditions", conditions), **options)  # type: ignore[arg-type]
    return root


ZENODO_RECORDS = (13838106, 13841652, 13853860, 13841216, 13838823, 11125029)
"""The release's six records, in the order ``testkit.official_archives`` names them record1..6."""


@contextlib.contextmanager
def zenodo_release(workspace: Path) -> Iterator[None]:
    """The factory's release packed as the official archives, served by a loopback Zenodo that
    misbehaves as the real one does (a 503 with Retry-After, one corrupted transfer), and
    ``CODECFAKE_ZENODO_ENDPOINT`` pointing at it, so ``codecfake download`` runs unchanged."""
    from testkit.official_archives import pack_official
    from testkit.zenodo_server import Misbehaviour, ZenodoServer

    with tempfile.TemporaryDirectory(prefix="codecfake-docs-factory-") as factory:
        release = _factory_release(Path(factory) / "release")
        packed = pack_official(release, Path(factory) / "packed")
        records = {
            record: {
                path.name: path.read_bytes()
                for path in sorted((packed.root / f"record{number}").rglob("*"))
                if path.is_file()
            }
            for number, record in enumerate(ZENODO_RECORDS, start=1)
        }
        misbehave = Misbehaviour(
            errors={"C1.zip": [(503, {"Retry-After": "1"})]}, corrupt={"A1.zip": 1}
        )
        with ZenodoServer(records, misbehave=misbehave) as zenodo:
            _quiet_server(zenodo)
            os.environ["CODECFAKE_ZENODO_ENDPOINT"] = zenodo.url
            yield


@contextlib.contextmanager
def local_hub(workspace: Path) -> Iterator[None]:
    """A prepared folder in the workspace, and the tests' loopback Hub as ``HF_ENDPOINT``."""
    from helpers.hub_server import HubServer

    token = "hf_docsExampleToken0123456789"
    with HubServer(token=token) as hub:
        _quiet_server(hub)
        os.environ["HF_ENDPOINT"] = hub.url
        os.environ["HF_TOKEN"] = token
        os.environ.pop("HF_HUB_OFFLINE", None)
        with tempfile.TemporaryDirectory(prefix="codecfake-docs-factory-") as factory:
            release = _factory_release(Path(factory) / "release", conditions=("C4", "C7"))
            _quietly(
                ["prepare", str(release), str(workspace / "codecfake-data"), "--no-size-check"]
            )
            broken = Path(shutil.copytree(workspace / "codecfake-data", workspace / "broken"))
        (broken / "codecfake.py").write_text("# a loading script left behind\n")
        for shard in sorted(broken.glob("data/C7/test/zh-*.parquet")):
            shard.unlink()
        yield


@contextlib.contextmanager
def prepared_release(workspace: Path) -> Iterator[None]:
    """An extracted release in ``Codecfake/`` and its dataset folder in ``codecfake-data/``."""
    _factory_release(
        workspace / "Codecfake", conditions=("C1", "C2", "C4", "C7"), n_en=4, n_zh=4, seconds=1.0
    )
    _quietly(["prepare", "Codecfake", "codecfake-data", "--no-size-check"])
    yield


def _quiet_server(server: object) -> None:
    """A loopback server's threads run in this process, whose stderr is the transcript while a
    command runs: a client that hangs up early (as the download does after a corrupted copy)
    must not print the server's traceback into it."""
    server._server.handle_error = lambda request, client_address: None  # type: ignore[attr-defined]


def _official_scores() -> Path:
    from testkit.shared_fixtures import OFFICIAL_SCORES

    return OFFICIAL_SCORES


@contextlib.contextmanager
def official_scores(workspace: Path) -> Iterator[None]:
    """The published score files, as the official repository lays them out
    (``pretrained_model/<model>/result/<condition>_result.txt``)."""
    for model in ("codec_w2v2lcnn", "vocoder_w2v2aasist"):
        result = workspace / "pretrained_model" / model / "result"
        result.mkdir(parents=True)
        for packed in sorted((_official_scores() / model).glob("*.txt.gz")):
            (result / packed.name.removesuffix(".gz")).write_bytes(
                gzip.decompress(packed.read_bytes())
            )
    yield


def _quietly(argv: list[str]) -> None:
    import codecfake_cli

    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()) as err,
    ):
        if codecfake_cli.main(["-q", *argv]) != 0:
            raise RecordingError(
                f"setup step codecfake {shlex.join(argv)} failed:\n{err.getvalue()}"
            )


VERIFIED = r"^(\S+: verified \(|\S+: md5 |http://\S+: )"

SCENES: tuple[Scene, ...] = (
    Scene(
        "reference",
        nothing,
        (
            Recording("info", (Cli("info"),)),
            Recording("codecs", (Cli("codecs"),)),
        ),
    ),
    Scene(
        "release",
        zenodo_release,
        (
            Recording(
                "download",
                (
                    Cli("download", "Codecfake-zips/", "--dry-run"),
                    Cli("download", "Codecfake-zips/"),
                    Cli("download", "Codecfake-zips/"),
                ),
                unordered=VERIFIED,
            ),
            Recording(
                "prepare-missing",
                (Cli("prepare", "Codecfake-zips/", "codecfake-data/", "--no-size-check", status=1),),
            ),
            Recording(
                "prepare",
                (
                    Cli("prepare", "Codecfake-zips/", "codecfake-data/", "--no-size-check", "--allow-missing"),
                    Shell("ls -C codecfake-data/ codecfake-data/data/"),
                ),
            ),
            Recording("load", (Python("load.py"),)),
            Recording("stream", (Python("stream.py"),)),
            Recording("fast-audio", (Python("fast_audio.py"),)),
        ),
    ),
    Scene(
        "publish",
        local_hub,
        (
            Recording("publish-dry-run", (Cli("publish", "codecfake-data/", "--repo-id", "my-org/codecfake", "--dry-run"),)),
            Recording("publish", (Cli("publish", "codecfake-data/", "--repo-id", "my-org/codecfake"),)),
            Recording("publish-again", (Cli("publish", "codecfake-data/", "--repo-id", "my-org/codecfake", "--dry-run"),)),
            Recording("publish-broken", (Cli("publish", "broken/", "--repo-id", "my-org/codecfake", status=1),)),
        ),
    ),
    Scene(
        "synthesize",
        nothing,
        (
            Recording("corpora", (Python("make_corpora.py"),)),
            Recording(
                "synthesize",
                (
                    Cli(
                        "synthesize", "--vctk", "corpora/vctk", "--aishell3", "corpora/aishell3",
                        "--out", "rebuilt", "--conditions", "C4", "--codec", "C8=opus@12kbps",
                        "--codec-weights", "random",
                    ),
                    Shell("ls -C rebuilt rebuilt/label rebuilt/test"),
                    Cli("prepare", "rebuilt", "codecfake-rebuilt"),
                ),
            ),
            Recording("load-codec", (Python("load_codec.py"),)),
        ),
        slow=True,
    ),
    Scene(
        "official-scores",
        official_scores,
        (
            Recording(
                "eval-paper",
                (Cli("eval", "--polarity", "free", "--det", "det.png", "pretrained_model/codec_w2v2lcnn/result/*.txt"),),
            ),
            Recording(
                "eval-fixed",
                (
                    Cli(
                        "eval",
                        "pretrained_model/vocoder_w2v2aasist/result/C2_result.txt",
                        "pretrained_model/vocoder_w2v2aasist/result/C5_result.txt",
                    ),
                ),
            ),
            Recording(
                "results",
                (
                    Cli(
                        "eval", "--polarity", "free", "--bootstrap", "0", "--metrics", "eer,mindcf,actdcf,cllr",
                        "--scores", "prob", "--record", "results/codec_w2v2lcnn.json",
                        "pretrained_model/codec_w2v2lcnn/result/[CL]?_result.txt",
                    ),
                    Cli(
                        "eval", "--polarity", "free", "--bootstrap", "0", "--metrics", "eer,mindcf,actdcf,cllr",
                        "--scores", "prob", "--record", "results/vocoder_w2v2aasist.json",
                        "pretrained_model/vocoder_w2v2aasist/result/*.txt",
                    ),
                    Cli("results", "--paper", "results/*.json", "--columns", "C1,C2,C3,C4,C5,C6,C7,A1,A2,A3,CAVG,LAVG"),
                    Cli("results", "--metric", "actdcf", "results/*.json"),
                    Cli("results", "--check", "results/*.json"),
                ),
            ),
        ),
        slow=True,
        needs=lambda: None if _official_scores().is_dir() else f"the published score files are not at {_official_scores()}",
        images={"det.png": "det_codec_w2v2lcnn.png"},
    ),
    Scene(
        "detectors",
        prepared_release,
        (
            Recording(
                "train",
                (
                    Cli(
                        "train", "--model", "mel-lcnn", "--dataset", "codecfake-data/", "--config", "all",
                        "--out", "runs/mel-lcnn", "--epochs", "3", "--batch-size", "8", "--device", "cpu",
                        "--num-workers", "0",
                    ),
                    Cli(
                        "score", "--model", "runs/mel-lcnn", "--dataset", "codecfake-data/", "--config", "all",
                        "--split", "test", "--out", "runs/mel-lcnn/test.txt", "--num-workers", "0",
                    ),
                    Cli("eval", "runs/mel-lcnn/test.txt", "--labels", "Codecfake/"),
                ),
            ),
            Recording(
                "detect",
                (
                    Cli(
                        "detect", "Codecfake/test/C1/p226_201.wav", "Codecfake/test/C1/F01_p226_201.wav",
                        "Codecfake/test/C7/F07_p226_201.wav", "--model", "runs/mel-lcnn",
                    ),
                ),
            ),
            Recording(
                "baseline",
                (
                    Cli(
                        "baseline", "train", "--dataset", "codecfake-data/", "--config", "all",
                        "--out", "runs/lfcc-gmm", "--components", "8",
                    ),
                    Cli(
                        "baseline", "score", "--model", "runs/lfcc-gmm", "--dataset", "codecfake-data/",
                        "--config", "all", "--split", "test", "--out", "runs/lfcc-gmm/test.txt",
                    ),
                    Cli("eval", "runs/lfcc-gmm/test.txt", "--labels", "Codecfake/"),
                ),
            ),
        ),
        slow=True,
    ),
    Scene(
        "demo",
        nothing,
        (
            Recording("demo", (Cli("demo"),)),
            Recording(
                "demo-free",
                (
                    Cli(
                        "eval", "demo-out/baseline/test_scores.txt", "--labels", "demo-out/release",
                        "--polarity", "free",
                    ),
                ),
            ),
        ),
        slow=True,
        needs=_without_espeak,
        images={"demo-out/det.png": "demo-det.png"},
    ),
)  # fmt: skip

# ------------------------------------------------------------------------------- running


def run_scene(scene: Scene, workspace: Path) -> dict[str, str]:
    """Run ``scene`` in ``workspace``; its transcripts by recording name, paths normalised."""
    transcripts: dict[str, str] = {}
    previous = Path.cwd()
    os.chdir(workspace)
    try:
        with scene.setup(workspace):
            for recording in scene.recordings:
                out = io.StringIO()
                for number, step in enumerate(recording.steps):
                    shown = step.show()
                    if shown is not None:
                        out.write(("\n" if number else "") + shown + "\n")
                    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                        step.run(workspace, out)
                transcripts[recording.name] = normalise(out.getvalue(), workspace)
        for source, target in scene.images.items():
            if (workspace / source).is_file():
                transcripts[f"image:{target}"] = str(workspace / source)
    finally:
        os.chdir(previous)
    return transcripts


PORT = re.compile(r"http://127\.0\.0\.1:\d+")


def normalise(text: str, workspace: Path) -> str:
    """What does not depend on the run: the workspace as ``$PWD``, loopback ports as ``PORT``."""
    for form in {str(workspace), str(workspace.resolve())}:
        text = text.replace(form, WORKSPACE)
    text = PORT.sub("http://127.0.0.1:PORT", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


TIMING = (
    (re.compile(r"\b(in|after|took) \d+(?:\.\d+)? s\b"), r"\1 <seconds> s"),
    (re.compile(r"\d[\d,]*(?:\.\d+)? ?(clips?/s|[kMGT]?B/s)"), r"<rate> \1"),
    (re.compile(r"\d+(?:\.\d+)? [kMGT]?B free"), "<space> free"),
    (re.compile(r"\[\d\d:\d\d<\d\d:\d\d"), "[<elapsed>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<md5>"),
)
"""Durations, rates and free disk space: they differ on every run, and the pages say so. And md5
digests: the miniature release's archives are packed afresh for each run, with that moment's
timestamps inside."""


def masked(text: str, unordered: str | None = None) -> list[str]:
    """The lines of a transcript as compared: timings masked, unordered runs sorted."""
    for pattern, replacement in TIMING:
        text = pattern.sub(replacement, text)
    lines = text.splitlines()
    if unordered is None:
        return lines
    order = re.compile(unordered)
    result: list[str] = []
    run: list[str] = []
    for line in [*lines, None]:
        if line is not None and order.search(line):
            run.append(line)
            continue
        result += sorted(run)
        run = []
        if line is not None:
            result.append(line)
    return result


def drift(recorded: str, fresh: str, unordered: str | None = None) -> str | None:
    """None when the two transcripts agree, else a unified diff (recorded -> fresh)."""
    if masked(recorded, unordered) == masked(fresh, unordered):
        return None
    return "".join(
        difflib.unified_diff(
            recorded.splitlines(keepends=True), fresh.splitlines(keepends=True), "recorded", "fresh"
        )
    )


# ------------------------------------------------------------------------------- command line


def _isolated_environment(workspace: Path) -> None:
    """Caches of this run's own, nothing from the network, and quiet libraries."""
    os.environ["HF_HOME"] = str(workspace.parent / "hf-home")
    os.environ["HF_DATASETS_CACHE"] = str(workspace.parent / "hf-datasets-cache")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.pop("CODECFAKE_ZENODO_ENDPOINT", None)


def _scene_in_subprocess(scene: Scene) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="codecfake-docs-") as tmp:
        workspace = Path(tmp) / "work"
        workspace.mkdir()
        result = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--run-scene", scene.name, str(workspace), str(result)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RecordingError(f"scene {scene.name} failed:\n{done.stdout}{done.stderr}")
        transcripts = json.loads(result.read_text())
        for key, path in list(transcripts.items()):
            if key.startswith("image:"):  # copy out before the workspace goes
                transcripts[key] = Path(path).read_bytes().hex()
        return transcripts


def selected(names: list[str], slow: bool) -> list[Scene]:
    unknown = set(names) - {s.name for s in SCENES}
    if unknown:
        raise SystemExit(
            f"unknown scene(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SCENES)}"
        )
    if names:
        return [s for s in SCENES if s.name in names]
    return [s for s in SCENES if slow or not s.slow]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", action="append", default=[], help="only this scene (repeatable)")
    parser.add_argument("--slow", action="store_true", help="also the slow scenes")
    parser.add_argument(
        "--check", action="store_true", help="compare with the recorded files; write nothing"
    )
    parser.add_argument(
        "--run-scene", nargs=3, metavar=("SCENE", "WORKSPACE", "RESULT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.run_scene:
        name, workspace, result = args.run_scene
        workspace = Path(workspace)
        _isolated_environment(workspace)
        scene = next(s for s in SCENES if s.name == name)
        Path(result).write_text(json.dumps(run_scene(scene, workspace)))
        return 0

    problems = []
    for scene in selected(args.scene, args.slow):
        reason = scene.needs()
        if reason is not None:
            print(f"{scene.name}: skipped ({reason})")
            continue
        transcripts = _scene_in_subprocess(scene)
        unordered = {r.name: r.unordered for r in scene.recordings}
        for name, text in transcripts.items():
            if name.startswith("image:"):
                if not args.check:
                    (IMAGES / name.removeprefix("image:")).write_bytes(bytes.fromhex(text))
                continue
            target = OUTPUTS / f"{name}.txt"
            if args.check:
                recorded = target.read_text(encoding="utf-8") if target.is_file() else ""
                diff = drift(recorded, text, unordered[name])
                if diff is not None:
                    problems.append(
                        f"{target.relative_to(ROOT)} no longer matches what the commands print:\n{diff}"
                    )
            else:
                target.write_text(text, encoding="utf-8")
        print(f"{scene.name}: {'checked' if args.check else 'recorded'} {', '.join(unordered)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            "rerun `python docs/outputs/make.py` (with --slow for the slow scenes) and review the diff",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
