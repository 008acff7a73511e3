"""Turn an extracted Codecfake release into a dataset folder that ``load_dataset`` reads.

The folder holds Parquet shards with the release's own audio bytes (every clip stored once: the
real test clips all conditions share are one part), a dataset card whose YAML lists every
configuration, and ``codecfake_folder.json``, which lets ``--add`` grow the folder later by new
conditions (C8, ...) without touching a byte of the shards already there.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import codecfake
from codecfake import CodecfakeError, Part, ReleaseError
from codecfake_core.dataset_folder import (
    MANIFEST,
    FolderConfig,
    FolderManifest,
    Provenance,
    folder_configs,
    is_dataset_folder,
    manifest_path,
)
from codecfake_core.io import atomic_write_text, run_lock, temporaries
from codecfake_core.processes import worker_pool
from codecfake_core.release_source import (
    ClipReader,
    ReleaseSource,
    archive_position,
    open_release,
)

from ..synthesis.provenance import iter_records
from .card import write_card
from .install import check_collisions, install, owned_files
from .plan import (
    SKIP_DAMAGED_OPTION,
    ReleasePlan,
    check_complete_sizes,
    drop_from_ledger,
    missing_note,
    plan_release,
    summarise,
)
from .reconcile import Reconciliation, reconcile
from .resume import ShardRecord
from .shards import (
    ShardOutcome,
    ShardTask,
    kept_outcome,
    shard_files,
    shard_tasks,
    write_in_archive_order,
    write_shard,
)

SOURCE_LICENCES = "VCTK: CC BY 4.0; AISHELL-3: Apache-2.0"
PROVENANCE_GLOBS = ("provenance*", "label/provenance*", "provenance/*")
"""Where a rebuilt release keeps the builder's provenance manifest; it is copied into the folder."""


@dataclass
class PrepareReport:
    """What a run stored and what it noticed, for the caller to show."""

    folder: Path
    configs: list[FolderConfig]
    clips: int
    bytes: int
    seconds: float
    extra_files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped_conditions: list[str] = field(default_factory=list)
    unextracted: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    unknown_language: int = 0
    reconciliation: Reconciliation | None = None
    damaged: list[str] = field(default_factory=list)
    missing_note: str = ""

    def warnings(self) -> Iterator[str]:
        """What the user should look at: rows left out, files not taken (for stderr)."""
        if self.extra_files:
            yield (
                f"warning: {len(self.extra_files)} audio files on disk are named by no label file "
                f"and were not taken: {summarise(self.extra_files)}"
            )
        if self.missing:
            yield (
                f"warning: {len(self.missing)} label rows name missing files and were left out: "
                f"{summarise(self.missing)}{self.missing_note}"
            )
        if self.damaged:
            yield (
                f"warning: {len(self.damaged)} clips with damaged audio were left out "
                f"(--skip-damaged-audio): {summarise(self.damaged)}"
            )
        if self.unextracted:
            yield f"warning: not extracted, so left out: {summarise(self.unextracted)}"

    def lines(self) -> Iterator[str]:
        """What was stored (for stdout)."""
        rate = self.bytes / 1e6 / max(self.seconds, 1e-9)
        yield (
            f"stored {self.clips:,} clips ({self.bytes / 1e6:,.1f} MB) in {self.seconds:.1f} s "
            f"({rate:,.1f} MB/s) -> {self.folder}"
        )
        if self.skipped_conditions:
            yield f"already in the dataset, not added again: {', '.join(self.skipped_conditions)}"
        if self.differing:
            yield (
                f"{len(self.differing)} shared real clips have differing copies between condition "
                f"folders; each configuration reads its own folder's copy: "
                f"{summarise(self.differing)}"
            )
        if self.unknown_language:
            yield (
                f"{self.unknown_language:,} clips whose language their name does not tell are "
                "in the pooled configurations only"
            )
        yield f"{len(self.configs)} configurations:"
        for c in self.configs:
            sizes = ", ".join(f"{s} {n:,}" for s, n in c.sizes.items())
            yield f"  {c.name:<10} {sizes}"
        if self.reconciliation is not None:
            yield self.reconciliation.line()


def prepare(
    release_dir: os.PathLike[str] | str,
    out_dir: os.PathLike[str] | str,
    *,
    num_proc: int = 1,
    max_shard_bytes: int = 500_000_000,
    allow_missing: bool = False,
    allow_unknown_language: bool = False,
    skip_damaged_audio: bool = False,
    size_check: bool = True,
    into_aggregates: bool = False,
    progress: bool = False,
) -> PrepareReport:
    """Write the dataset folder ``out_dir`` from the release in ``release_dir``: the archives
    as downloaded (split sets, nested zips, loose label files), an extracted release, or both.

    Everything is written into a hidden staging folder beside ``out_dir`` and moved into place
    at the end, replacing only what an earlier ``prepare`` wrote there: ``out_dir`` holds the
    previous dataset or the complete new one, plus whatever else the user keeps in it. A run
    stopped while writing (killed, a full disk, damaged audio) keeps its finished shards, and
    the rerun keeps those whose audio the release still holds.
    """
    started = time.perf_counter()
    out = Path(out_dir).absolute()
    with run_lock(_lock_path(out), str(out)), _opened(release_dir) as release:
        release_id = release.fingerprint()
        owned = _check_out_dir(out, release_id)
        plan = plan_release(
            release, allow_missing=allow_missing, allow_unknown_language=allow_unknown_language
        )
        if size_check:
            check_complete_sizes(plan)
        staging = out.parent / f".{out.name}.partial"
        with _staging(staging, release_id, out, plan.total_bytes):
            written = _write_shards(
                plan, staging, num_proc, max_shard_bytes, progress, skip_damaged_audio
            )
            manifest = FolderManifest(releases=[release_id], shard_digests=written.digests)
            _record_conditions(manifest, plan, staging, release_id, into_aggregates, "", {})
            configs = folder_configs(staging, manifest)
            reconciliation = reconcile(plan, staging, manifest, configs)
            atomic_write_text(staging / MANIFEST, manifest.to_json())
            write_card(staging, manifest)
            check_collisions(staging, out, owned)
            install(staging, out, owned)
            shutil.rmtree(staging)
    return PrepareReport(
        out,
        configs,
        plan.clip_count,
        plan.total_bytes,
        time.perf_counter() - started,
        plan.extra_files,
        plan.missing,
        unextracted=plan.unextracted,
        differing=plan.differing,
        unknown_language=len(plan.unknown_language),
        reconciliation=reconciliation,
        damaged=written.damaged,
        missing_note=missing_note(plan),
    )


def add_conditions(
    release_dir: os.PathLike[str] | str,
    dataset_dir: os.PathLike[str] | str,
    *,
    into_aggregates: bool = False,
    made_by: str = "",
    checkpoints: dict[str, str] | None = None,
    num_proc: int = 1,
    max_shard_bytes: int = 500_000_000,
    allow_missing: bool = False,
    allow_unknown_language: bool = False,
    skip_damaged_audio: bool = False,
    progress: bool = False,
) -> PrepareReport:
    """Merge the conditions of ``release_dir`` that ``dataset_dir`` lacks into it.

    Shards already in the folder are never rewritten; only new shard folders, provenance files,
    the manifest and README.md change, so a later ``publish`` uploads just those.
    """
    started = time.perf_counter()
    folder = Path(dataset_dir).absolute()
    with run_lock(_lock_path(folder), str(folder)), _opened(release_dir) as release:
        manifest = FolderManifest.read(folder)
        manifest_file = manifest_path(folder)
        stored = {p.name for p in (folder / "data").iterdir() if p.is_dir()}
        kept = {codecfake.REAL_CONDITION, *manifest.keyed_reals}
        orphans = sorted(stored - set(manifest.provenance) - kept)
        if orphans:
            raise CodecfakeError(
                f"{folder}: data/{orphans[0]} is not in {manifest_file.name}, probably left by an "
                "interrupted --add; remove it and rerun"
            )
        plan = plan_release(
            release,
            skip_groups=stored - kept,
            allow_missing=allow_missing,
            allow_unknown_language=allow_unknown_language,
        )
        _drop_stored_reals(plan, folder)
        new_groups = sorted(plan.groups - {codecfake.REAL_CONDITION})
        if not new_groups:
            raise CodecfakeError(
                f"{release.root}: adds no condition that {folder} lacks (it already has "
                f"{', '.join(sorted(stored - kept))})"
            )
        unknown = sorted(set(checkpoints or {}) - set(new_groups))
        if unknown:
            raise CodecfakeError(
                f"--checkpoint names {', '.join(unknown)}, which this run does not add"
            )
        release_id = release.fingerprint()
        staging = folder.parent / f".{folder.name}.add-partial"
        with _staging(staging, release_id, folder, plan.total_bytes):
            written = _write_shards(
                plan, staging, num_proc, max_shard_bytes, progress, skip_damaged_audio
            )
            manifest.shard_digests.update(written.digests)
            manifest.releases.append(release_id)
            _record_conditions(
                manifest, plan, staging, release_id, into_aggregates, made_by, checkpoints or {}
            )
            added = sorted((staging / "data").rglob("*.parquet"))
            for shard in added:
                target = folder / shard.relative_to(staging)
                if target.exists():
                    raise CodecfakeError(
                        f"{target}: stands where prepare --add writes a new shard; move it away, "
                        "then rerun"
                    )
            for shard in added:
                target = folder / shard.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(shard, target)  # new parts only: nothing already there is replaced
            if (staging / "provenance").is_dir():
                (folder / "provenance").mkdir(exist_ok=True)
                os.rename(staging / "provenance" / release_id, folder / "provenance" / release_id)
            atomic_write_text(manifest_file, manifest.to_json())
            write_card(folder, manifest)
            shutil.rmtree(staging)
    return PrepareReport(
        folder,
        folder_configs(folder, manifest),
        plan.clip_count,
        plan.total_bytes,
        time.perf_counter() - started,
        plan.extra_files,
        plan.missing,
        sorted(plan.skipped_groups),
        plan.unextracted,
        plan.differing,
        len(plan.unknown_language),
        damaged=written.damaged,
        missing_note=missing_note(plan),
    )


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------

_STAGING_MARK = ".release"
"""In a staging folder: the fingerprint of the release it holds shards of (resume only those)."""


def _lock_path(out: Path) -> Path:
    """One lock per dataset folder, beside it (the folder itself may not exist yet)."""
    return out.parent / f".{out.name}.lock"


def _check_out_dir(out: Path, release_id: str) -> set[str]:
    """Refuse an OUT_DIR that holds another dataset or visible files of the user's; return the
    files an earlier ``prepare`` of this release wrote there (what this run may replace).

    A folder of hidden entries only (a fresh git repository: ``.git``, ``.gitattributes``) is
    taken: they are left as they are.
    """
    if out.is_file():
        raise CodecfakeError(f"{out}: is a file; OUT_DIR must be a folder")
    if not out.is_dir():
        return set()
    if not is_dataset_folder(out):
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if visible:
            raise CodecfakeError(
                f"{out}: already holds other files ({summarise(visible)}); choose a new or empty "
                "folder"
            )
        return set()
    releases = FolderManifest.read(out).releases
    if releases[:1] != [release_id]:
        raise CodecfakeError(
            f"{out}: already holds a dataset prepared from a different release; choose another "
            "OUT_DIR, or merge new conditions into it with --add"
        )
    if len(releases) > 1:
        raise CodecfakeError(
            f"{out}: holds conditions added with --add from other releases; preparing it again "
            "would drop them. Choose another OUT_DIR"
        )
    return owned_files(out)


@contextmanager
def _staging(staging: Path, release_id: str, out: Path, size: int) -> Iterator[None]:
    """The staging folder of ``out``: resumed when it holds this release's shards.

    Whatever stops the run once writing has begun, the finished shards stay for the rerun (a
    plan that fails on bad input stops before this folder exists, and leaves nothing). Errors
    name ``out``, the folder the user gave, never the hidden staging folder.
    """
    mark = staging / _STAGING_MARK
    try:
        if staging.exists() and (not mark.is_file() or mark.read_text() != release_id):
            shutil.rmtree(staging)  # ours (hidden name, our mark): another release's shards
        staging.mkdir(parents=True, exist_ok=True)
        atomic_write_text(mark, release_id)
        for leftover in temporaries(staging):  # partial writes of a killed run
            leftover.unlink()
    except OSError as error:
        raise CodecfakeError(
            f"{out}: cannot write a dataset here ({error.strerror}); choose an OUT_DIR in a "
            "folder you can write"
        ) from error
    kept = f"finished shards are kept in {staging}; rerun to resume, or delete that folder"
    try:
        yield
    except OSError as error:
        if error.errno == errno.ENOSPC or "No space left on device" in str(error):
            raise CodecfakeError(
                f"{out}: the disk is full (no space left on device); the dataset needs about "
                f"{size / 1e9:,.1f} GB beside it. Free space or choose an OUT_DIR on another "
                f"disk ({kept})"
            ) from error
        raise CodecfakeError(
            f"{out}: cannot write the dataset ({error.strerror or error}) ({kept})"
        ) from error
    except CodecfakeError as error:
        raise CodecfakeError(f"{error} ({kept})") from error


@dataclass
class Written:
    """The shards a run wrote: each one's content digest, and the damaged clips left out."""

    digests: dict[str, str] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)


@contextmanager
def _opened(release_dir: os.PathLike[str] | str) -> Iterator[ReleaseSource]:
    """The release in ``release_dir``: its archives when it holds any, else the extracted
    release at (or a few folders below) it; closed after the run."""
    release = open_release(Path(release_dir))
    try:
        yield release
    finally:
        release.close()


def _write_shards(
    plan: ReleasePlan,
    staging: Path,
    num_proc: int,
    max_shard_bytes: int,
    progress: bool,
    skip_damaged: bool,
) -> Written:
    """Write every shard of the plan, over ``num_proc`` processes, with a progress bar in MB.

    Shards of clips that can only be read forward (a zip deflated inside an archive) are written
    here, in one pass in archive order; the others by the workers, a few tasks ahead, each
    located (its clips' paths or archive members) only when it is handed out. Damaged clips are
    collected over the whole run, so one run names them all; unless they are to be skipped, the
    run then stops with the finished shards kept. Skipped ones leave the plan (and its ledger),
    so the report and the reconciliation count what was stored.
    """
    from tqdm.auto import tqdm

    streamed_parts = _put_streamed_parts_in_archive_order(plan)
    tasks = shard_tasks(plan, max_shard_bytes)
    _clear_stale(staging, {task.name for task in tasks})
    reader = plan.source.reader()
    sizes = {task.name: sum(c.size for c in task.clips) for task in tasks}
    outcomes: dict[str, ShardOutcome] = {}
    with tqdm(
        total=plan.total_bytes, unit="B", unit_scale=True, desc="prepare", disable=not progress
    ) as bar:

        def done(outcome: ShardOutcome) -> None:
            outcomes[outcome.name] = outcome
            bar.update(sizes[outcome.name])

        streamed = [t.located(plan, reader) for t in tasks if t.part in streamed_parts]
        pending = []
        for task in streamed:
            kept = kept_outcome(task, staging, skip_damaged)
            done(kept) if kept is not None else pending.append(task)
        for outcome in write_in_archive_order(pending, plan.source, staging, skip_damaged):
            done(outcome)
        free = (t for t in tasks if t.part not in streamed_parts)
        if num_proc <= 1:
            for task in free:
                done(write_shard(task.located(plan, reader), staging, skip_damaged))
        else:
            _write_in_workers(plan, reader, free, staging, num_proc, skip_damaged, done)
    damaged = [reason for outcome in outcomes.values() for reason in outcome.damaged]
    if any(outcome.digest is None for outcome in outcomes.values()):
        raise ReleaseError(
            plan.release_dir,
            f"{len(damaged)} clips do not hold all the audio their headers promise: "
            f"{summarise(damaged)}. Re-extract (or re-download) the archives that hold them, or "
            f"pass {SKIP_DAMAGED_OPTION} to leave them out",
        )
    for task in tasks:
        skipped = outcomes[task.name].skipped
        if skipped:
            drop_from_ledger(plan, task.part, list(skipped))
            plan.parts[task.part] = [c for c in plan.parts[task.part] if c not in set(skipped)]
    return Written({name: o.digest for name, o in outcomes.items() if o.digest}, damaged)


def _write_in_workers(
    plan: ReleasePlan,
    reader: ClipReader,
    tasks: Iterator[ShardTask],
    staging: Path,
    num_proc: int,
    skip_damaged: bool,
    done: Callable[[ShardOutcome], None],
) -> None:
    """Hand the tasks to ``num_proc`` worker processes, at most two each at a time."""
    with worker_pool(num_proc) as pool:
        running: set[Future[ShardOutcome]] = set()
        for task in [*tasks, None]:
            while running and (task is None or len(running) >= 2 * num_proc):
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    if future.exception() is not None:
                        pool.shutdown(cancel_futures=True)
                        raise future.exception()  # type: ignore[misc]
                    done(future.result())
            if task is not None:
                located = task.located(plan, reader)
                running.add(pool.submit(write_shard, located, staging, skip_damaged))


def _put_streamed_parts_in_archive_order(plan: ReleasePlan) -> set[Part]:
    """The parts whose clips can only be read forward, each put in archive order (so that one
    pass over the archive fills each of its shards from start to end)."""
    source = plan.source
    streamed: set[Part] = set()
    for part, clips in plan.parts.items():
        refs = [plan.locate(clip) for clip in clips[:1]]
        if refs and not source.random_access(refs[0]):
            order = {clip: archive_position(plan.locate(clip)) for clip in clips}
            plan.parts[part] = sorted(clips, key=order.__getitem__)
            streamed.add(part)
    return streamed


def _clear_stale(staging: Path, names: set[str]) -> None:
    """Remove shards (and their records) of an earlier run cut differently (another
    ``--max-shard-size``): kept, they would be installed beside this run's."""
    for shard in (staging / "data").rglob("*.parquet") if (staging / "data").is_dir() else ():
        name = shard.relative_to(staging).as_posix()
        if name not in names:
            shard.unlink()
            ShardRecord.path(staging, name).unlink(missing_ok=True)


def _drop_stored_reals(plan: ReleasePlan, folder: Path) -> None:
    """``--add`` keeps the reals the folder has; the release's reals must be among them.

    A new condition pairs with the stored reals by utterance, so a real clip the folder lacks
    would leave its fakes unpaired. Reals of a part the folder has no shards of are added.
    """
    for part in [p for p in plan.parts if p.group == codecfake.REAL_CONDITION]:
        shards = sorted(folder.glob(part.pattern))
        if not shards:
            continue
        stored = {name for shard in shards for name in shard_files(shard)}
        unknown = [
            plan.index.where(c) + f" {c.file}" for c in plan.parts[part] if c.file not in stored
        ]
        if unknown:
            raise CodecfakeError(
                f"{len(unknown)} real clips of the release are not in {folder / part.pattern}: "
                f"{summarise(unknown)}; --add only adds conditions over the stored real clips"
            )
        del plan.parts[part]


def _record_conditions(
    manifest: FolderManifest,
    plan: ReleasePlan,
    staging: Path,
    release_id: str,
    into_aggregates: bool,
    made_by: str,
    checkpoints: dict[str, str],
) -> None:
    """Add the plan's conditions to the manifest: specs, aggregate membership, provenance."""
    manifests = _copy_provenance(plan.release_dir, staging / "provenance" / release_id)
    relative = [f"provenance/{release_id}/{m}" for m in manifests]
    added = sorted(plan.groups - {codecfake.REAL_CONDITION})
    recorded = _recorded_checkpoints(staging / "provenance" / release_id, set(added))
    for name in added:
        spec = plan.conditions[name]
        if name not in codecfake.CONDITIONS:
            manifest.user_conditions.append(spec)
        # Rebuilt releases carry the builder's provenance manifest; the official one does not.
        official = name in codecfake.CONDITIONS and not manifests
        manifest.provenance[name] = Provenance(
            source="official Codecfake release" if official else "rebuilt by codecfake synthesize",
            licence="CC BY-NC-ND 4.0" if official else SOURCE_LICENCES,
            release=release_id,
            made_by=made_by,
            checkpoint=checkpoints.get(name) or recorded.get(name, ""),
            manifests=relative,
        )
    pooled = [c for c in codecfake.CODEC_CONDITIONS if c not in manifest.aggregates]
    if into_aggregates:
        pooled += [
            name
            for name in added
            if name not in codecfake.CONDITIONS and plan.conditions[name].kind == "codec"
        ]
    manifest.aggregates.extend(pooled)
    manifest.keyed_reals.update(plan.keyed)
    manifest.differing.extend(plan.differing)


def _copy_provenance(release: Path, target: Path) -> list[str]:
    found = sorted({p for g in PROVENANCE_GLOBS for p in release.glob(g) if p.is_file()})
    if found:
        target.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.copy2(path, target / path.name)
    return [p.name for p in found]


def _recorded_checkpoints(folder: Path, conditions: set[str]) -> dict[str, str]:
    """condition -> the weights ``codecfake synthesize`` recorded for it in ``provenance.jsonl``.

    The first record per condition speaks for all of its files. Lines in any other shape (a
    copied failure report) are not ours to judge and are skipped.
    """
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for record in iter_records(path, skip_others=True):
            summary = record.weights_summary()
            if record.condition in conditions and record.condition not in found and summary:
                found[record.condition] = summary
                if found.keys() >= conditions:
                    return found
    return found
