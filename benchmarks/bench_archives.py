"""``codecfake prepare`` from the archives as downloaded, against extracting them first.

Writes a release with a fraction of the complete release's counts (``--scale``, 1% by default)
of ``--seconds``-long 16-bit clips (``testkit.counted_release``), packs it the way the official
release is packed (``testkit.official_archives``, with Info-ZIP's ``zip``: ``train_split`` and
``dev_split`` are split sets spread over record folders, each holding its zip under the
absolute prefix ``data7/xyk/codecfake/upload_zenodo/``, stored or ``--nested deflated``; a zip
per test condition, four inner layouts; loose label files; about as many volumes as the
official train set's 17), deletes the tree, then times two routes, as a user runs them
(subprocesses), in this order:

(a) the best manual route: link each split set's volumes side by side (7z wants them so;
    no bytes copied), ``7z x`` it, ``unzip -j`` the zip it held into ``train/`` (or ``dev/``)
    and delete that zip at once, ``unzip -j`` each condition's zip into ``test/<condition>/``
    (``-j``: whatever the inner layout, the files land where prepare looks), copy the label
    files, then ``codecfake prepare FOLDER OUT``;
(b) ``codecfake prepare ARCHIVES OUT``.

Both pass ``--allow-missing`` (A3.zip lacks A3's real clips, as the official one does) and the
same ``--num-proc``. For each, a thread samples the RSS of the running command's whole process
tree and the disk under the route's work folder: *extra disk* is what lies there beyond the
archives and the dataset being written (the extracted files, the zip 7z took out of a set,
temporaries: ``TMPDIR`` points into the work folder); the dataset is counted apart, since both
routes end with it. *CPU s* is the user and system time of every process a route ran: on a
shared machine, wall time depends on what else runs, CPU time much less. Both routes read the
archives from a warm page cache (they were just written).

``--full`` writes the complete counts (1,254,470 tiny WAVs: every central directory at full
size) and runs route (b) only, with the size check on, to check the process tree's peak RSS.

    python -m benchmarks.bench_archives                                   # 1%, 3-s clips
    python -m benchmarks.bench_archives --num-proc 2 --nested deflated
    python -m benchmarks.bench_archives --full                            # RSS at full counts
    python -m benchmarks.bench_archives --keep /big/disk    # keep the archives for a rerun
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from testkit.counted_release import write_release
from testkit.official_archives import pack_official
from testkit.sampling import PeakSampler, disk_used

OFFICIAL_TRAIN_VOLUMES = 17  # train_split.zip + .z01 .. .z16
ENTRY_OVERHEAD = 120
"""Bytes of local and central headers per entry beside its name, to size volumes by."""
SPEED_GOAL = 1.5  # (b) at least this many times faster than (a)
DISK_GOAL = 0.10  # (b)'s peak extra disk under this fraction of the archives
RSS_GOAL = 1.5e9  # the whole tree at full counts, bytes
STAMP = "archives.json"


@dataclass
class Archives:
    """What :func:`pack_official` wrote, as the routes need it (saved beside it for ``--keep``)."""

    root: Path
    split_sets: dict[str, list[Path]]  # stem -> its volumes
    condition_zips: dict[str, Path]
    labels: Path
    settings: dict[str, object]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    @property
    def volumes(self) -> int:
        return sum(len(volumes) for volumes in self.split_sets.values())

    def save(self) -> None:
        relative = {
            "split_sets": {
                stem: [str(p.relative_to(self.root)) for p in volumes]
                for stem, volumes in self.split_sets.items()
            },
            "condition_zips": {
                condition: str(path.relative_to(self.root))
                for condition, path in self.condition_zips.items()
            },
            "labels": str(self.labels.relative_to(self.root)),
            "settings": self.settings,
        }
        (self.root.parent / STAMP).write_text(json.dumps(relative, indent=1))

    @classmethod
    def load(cls, root: Path, settings: dict[str, object]) -> Archives | None:
        """The archives a run with the same settings left under ``root``, if any."""
        stamp = root.parent / STAMP
        if not stamp.is_file():
            return None
        saved = json.loads(stamp.read_text())
        if saved["settings"] != settings:
            return None
        return cls(
            root,
            {stem: [root / p for p in volumes] for stem, volumes in saved["split_sets"].items()},
            {c: root / p for c, p in saved["condition_zips"].items()},
            root / saved["labels"],
            settings,
        )


def build_archives(
    base: Path, scale: float, seconds: float, nested: Literal["stored", "deflated"]
) -> Archives:
    """Write the release, pack it officially, delete the tree (reusing a kept packing)."""
    root = base / "archives"
    settings: dict[str, object] = {"scale": scale, "seconds": seconds, "nested": nested}
    kept = Archives.load(root, settings)
    if kept is not None:
        print(f"reusing the archives in {root}", flush=True)
        return kept
    tree = base / "release"
    for stale in (root, tree):
        shutil.rmtree(stale, ignore_errors=True)
    (base / STAMP).unlink(missing_ok=True)
    started = time.perf_counter()
    write_release(tree, scale, seconds)
    wrote = time.perf_counter() - started
    with os.scandir(tree / "train") as entries:
        sizes = [e.stat().st_size + ENTRY_OVERHEAD + 2 * len(e.name) for e in entries]
    volume_kib = max(64, sum(sizes) // (OFFICIAL_TRAIN_VOLUMES - 1) // 1024)
    packed = pack_official(tree, root, nested=nested, volume_kib=volume_kib)
    shutil.rmtree(tree)
    print(
        f"wrote the release in {wrote:.0f} s, packed it in "
        f"{time.perf_counter() - started - wrote:.0f} s (volumes of {volume_kib:,} KiB)",
        flush=True,
    )
    archives = Archives(
        root, packed.split_sets, packed.condition_zips, root / "record1" / "label", settings
    )
    archives.save()
    return archives


@dataclass
class Route:
    """One route's measurements."""

    name: str
    seconds: float
    prepare_seconds: float  # of which ``codecfake prepare``
    cpu_seconds: float  # user + system, of every process the route ran
    peak_rss: int
    peak_extra: int  # beyond the archives and the dataset
    peak_all: int  # beyond the archives, the dataset included
    dataset: int  # at the end
    reconciled: str


def _children_cpu() -> float:
    """CPU seconds of every finished process this one waited for, and of theirs (workers
    included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Work:
    """A route's work folder, timed and sampled: the dataset goes to ``dataset/out`` (prepare
    stages it beside, in ``dataset/``); everything else under the folder is extra."""

    def __init__(self, folder: Path, prepare_options: list[str]) -> None:
        self.folder = folder
        self.dataset = folder / "dataset"
        self.options = prepare_options
        self.dataset.mkdir(parents=True)
        (folder / "tmp").mkdir()
        self.env = {"TMPDIR": str(folder / "tmp")}
        self.sampler = PeakSampler(
            {
                "extra": lambda: disk_used(self.folder, frozenset({self.dataset})),
                "dataset": lambda: disk_used(self.dataset),
            }
        )
        self.started = self.seconds = self.prepare_seconds = self.cpu_seconds = 0.0

    def __enter__(self) -> Work:
        self.started = time.perf_counter()
        self.cpu_seconds = -_children_cpu()
        self.sampler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sampler.__exit__(None, None, None)
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds += _children_cpu()

    def run(self, *command: str | Path) -> str:
        return self.sampler.run([str(part) for part in command], self.env)

    def prepare(self, release: Path) -> str:
        out = self.dataset / "out"
        started = time.perf_counter()
        stdout = self.run(
            sys.executable, "-m", "codecfake_cli", "prepare", release, out, *self.options
        )
        self.prepare_seconds = time.perf_counter() - started
        return stdout

    def result(self, name: str, stdout: str) -> Route:
        peaks = self.sampler.peak_disk
        reconciled = next((ln for ln in stdout.splitlines() if ln.startswith("reconciled:")), "")
        return Route(
            name,
            self.seconds,
            self.prepare_seconds,
            self.cpu_seconds,
            self.sampler.peak_rss,
            peaks["extra"],
            peaks["all"],
            disk_used(self.dataset),
            reconciled,
        )


def extract_then_prepare(archives: Archives, folder: Path, options: list[str]) -> Route:
    """Route (a): see the module docstring."""
    with Work(folder, options) as work:
        release = folder / "release"
        shutil.copytree(archives.labels, release / "label")
        for stem, volumes in archives.split_sets.items():
            side = folder / "volumes" / stem
            side.mkdir(parents=True)
            for volume in volumes:
                (side / volume.name).symlink_to(volume)
            taken = folder / "taken" / stem
            work.run("7z", "x", "-y", "-bd", f"-o{taken}", side / f"{stem}.zip")
            for inner in sorted(taken.rglob("*.zip")):
                work.run("unzip", "-q", "-j", inner, "-d", release / inner.stem)
                inner.unlink()
        (release / "test").mkdir()  # unzip -d makes one folder, not its parents
        for condition, path in archives.condition_zips.items():
            work.run("unzip", "-q", "-j", path, "-d", release / "test" / condition)
        stdout = work.prepare(release)
    return work.result("(a) 7z x / unzip -j, then prepare FOLDER", stdout)


def prepare_from_archives(archives: Archives, folder: Path, options: list[str]) -> Route:
    """Route (b): ``codecfake prepare ARCHIVES OUT``."""
    with Work(folder, options) as work:
        stdout = work.prepare(archives.root)
    return work.result("(b) prepare ARCHIVES", stdout)


COLUMNS = (
    "route",
    "wall s",
    "of which prepare s",
    "CPU s",
    "speed vs (a)",
    "peak RSS, tree (MB)",
    "peak extra disk (MB)",
    "extra / archives",
    "peak disk with dataset (MB)",
    "dataset (MB)",
)


def report(routes: list[Route], archives: Archives, args: argparse.Namespace) -> None:
    """The markdown table, then each goal: met or MISSED."""
    size, mb = archives.size, 1e6
    print(
        f"\n{archives.settings}: archives {size / mb:,.0f} MB ({archives.volumes} split-set "
        f"volumes, {len(archives.condition_zips)} condition zips); --num-proc {args.num_proc}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---" + "|---:" * (len(COLUMNS) - 1) + "|")
    manual = routes[0] if len(routes) > 1 else None
    for r in routes:
        cells = [
            r.name,
            f"{r.seconds:,.1f}",
            f"{r.prepare_seconds:,.1f}",
            f"{r.cpu_seconds:,.1f}",
            f"{manual.seconds / r.seconds:.2f}x" if manual else "-",
            f"{r.peak_rss / mb:,.0f}",
            f"{r.peak_extra / mb:,.0f}",
            f"{r.peak_extra / size:.1%}",
            f"{r.peak_all / mb:,.0f}",
            f"{r.dataset / mb:,.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    ours = routes[-1]
    print()
    if manual is not None:
        speed = manual.seconds / ours.seconds
        _goal(f"(b) at least {SPEED_GOAL}x faster than (a)", f"{speed:.2f}x", speed >= SPEED_GOAL)
        same = "the same" if manual.reconciled == ours.reconciled else "DIFFERENT"
        print(f"both routes stored {same} rows: {ours.reconciled}")
    else:
        print(ours.reconciled)
    share = ours.peak_extra / size
    goal = f"(b) peak extra disk under {DISK_GOAL:.0%} of the archives"
    _goal(goal, f"{share:.1%}", share < DISK_GOAL)
    if args.full:
        rss = ours.peak_rss
        _goal(f"tree RSS at most {RSS_GOAL / 1e9} GB", f"{rss / 1e9:.2f} GB", rss <= RSS_GOAL)


def _goal(goal: str, measured: str, met: bool) -> None:
    print(f"goal: {goal}: {measured}, {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of the full counts")
    parser.add_argument("--seconds", type=float, default=3.0, help="audio per clip")
    parser.add_argument("--num-proc", type=int, default=1, help="prepare's --num-proc")
    parser.add_argument("--nested", choices=("stored", "deflated"), default="stored")
    parser.add_argument(
        "--full", action="store_true", help="complete counts, tiny WAVs, route (b) only: RSS"
    )
    parser.add_argument("--keep", type=Path, help="pack the archives here and keep them")
    args = parser.parse_args()
    if args.full:
        args.scale, args.seconds = 1.0, 0.0
    missing = [tool for tool in ("zip", "unzip", "7z") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"bench_archives needs {', '.join(missing)} on PATH")
    base = args.keep or Path(tempfile.mkdtemp(prefix="codecfake-archives-"))
    base.mkdir(parents=True, exist_ok=True)
    options = ["--num-proc", str(args.num_proc), "--allow-missing"]
    if args.scale != 1:
        options.append("--no-size-check")
    try:
        archives = build_archives(base, args.scale, args.seconds, args.nested)
        routes = []
        if not args.full:
            routes.append(extract_then_prepare(archives, base / "a", options))
            shutil.rmtree(base / "a")
        routes.append(prepare_from_archives(archives, base / "b", options))
        report(routes, archives, args)
    finally:
        for work in ("a", "b"):
            shutil.rmtree(base / work, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
