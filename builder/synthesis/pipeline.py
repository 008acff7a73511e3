"""A synthesis run: corpora, split plan and codecs in; this shard's files and records out.

A run is deterministic and resumable. The work is cut into length-sorted batches fixed by the
plan alone; each finished file is logged right after it is renamed into place; a rerun makes
again exactly the files without a log record. ``shard=(I, N)`` runs every N-th batch, and
:func:`codecfake_builder.synthesis.merge.merge_release` then writes the label files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError, utterance_language
from codecfake_core.environment import resolve_device
from codecfake_core.io import atomic_write_bytes, run_lock

from ..codecs.base import CodecSpec
from ..sources.aishell3 import prepare_aishell3
from ..sources.manifest import Utterance
from ..sources.vctk import prepare_vctk
from .decode import decoded_batches
from .provenance import PROVENANCE_FILE, RunLog, write_jsonl
from .recorded import SETTINGS_FILE, check_run_settings, condition_record, record_settings
from .settings import SETTINGS_LOCK, STATE_DIR, Settings
from .splits import SplitPlan, plan_from_labels, seeded_plan, split_counts
from .work import make_batches, plan_outputs, shard_batches
from .writer import BatchWriter

CORPORA: dict[str, tuple[str, Callable[..., list[Utterance]]]] = {
    "en": ("VCTK", prepare_vctk),
    "zh": ("AISHELL-3", prepare_aishell3),
}
CodecLoader = Callable[..., Any]
"""``load_codec(spec, *, checkpoint, weights, device, seed) -> Codec`` (codecfake_builder.codecs)."""


@dataclass
class ShardSummary:
    """What a shard did, for the caller to print: counts, failures, speed."""

    written: int = 0
    finished_before: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    left_out: int = 0
    seconds: float = 0.0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    report: Path | None = None

    @property
    def clips_per_second(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


def requested_codecs(settings: Settings) -> dict[str, CodecSpec]:
    """``--conditions`` (built in, or among the ones ``--codec`` adds), then the added ones."""
    from ..codecs import collect_specs, get_spec

    defined = collect_specs(settings.codecs)
    names = dict.fromkeys([*settings.conditions, *defined])
    if not names:
        raise CodecfakeError("no conditions to make: give --conditions and/or --codec")
    return {name: get_spec(name, defined) for name in names}


def load_codecs(settings: Settings, device: str, load: CodecLoader | None) -> dict[str, Any]:
    """Every requested codec, loaded before any work so a missing plugin fails at once."""
    specs = requested_codecs(settings)
    unused = sorted(set(settings.checkpoints) - set(specs))
    if unused:
        raise CodecfakeError(f"--checkpoint given for {', '.join(unused)}, not in --conditions")
    if settings.checkpoints and settings.weights == "random":
        raise CodecfakeError(
            "--checkpoint loads trained weights; it has no effect with random ones"
        )
    if load is None:
        from ..codecs import load_codec as load
    return {
        name: load(
            spec,
            checkpoint=settings.checkpoints.get(name),
            weights=settings.weights,
            device=device,
            seed=settings.seed,
        )
        for name, spec in specs.items()
    }


def list_corpora(settings: Settings) -> dict[str, tuple[Path, str, Utterance]]:
    """utterance id -> (corpus root, corpus name, record) over every corpus given."""
    if not settings.corpora:
        raise CodecfakeError("give at least one corpus: --vctk DIR and/or --aishell3 DIR")
    listed: dict[str, tuple[Path, str, Utterance]] = {}
    for language, root in settings.corpora.items():
        name, prepare = CORPORA[language]
        options = {"mic": settings.vctk_mic} if language == "en" else {}
        for utterance in prepare(root, **options):
            listed[utterance.id] = (Path(root), name, utterance)
    return listed


def make_plan(settings: Settings, languages: Mapping[str, str]) -> tuple[SplitPlan, list[str]]:
    """The split plan, and the officially listed utterances the given corpora lack."""
    if settings.splits_from is None:
        return seeded_plan(languages.items(), settings.seed), []
    official = plan_from_labels(settings.splits_from)
    given = set(languages.values())
    missing = sorted(
        u for u in official if u not in languages and utterance_language(u)[0] in given
    )
    return {u: s for u, s in official.items() if u in languages}, missing


def run_shard(
    settings: Settings, load: CodecLoader | None = None, *, progress: bool = False
) -> ShardSummary:
    """Make this shard's files. Safe to rerun: finished files are skipped, the rest redone.

    ``progress`` shows a bar of clips (the caller's choice: batch logs want none). A second run
    of the same shard on the same output is refused at once, naming the first one's pid: both
    would otherwise do all of the work.
    """
    index, count = settings.shard
    lock = settings.out / STATE_DIR / f"{settings.shard_tag}.lock"
    with run_lock(lock, f"{settings.out} (shard {index}/{count})"):
        return _run_shard(settings, load, progress)


def _run_shard(settings: Settings, load: CodecLoader | None, progress: bool) -> ShardSummary:
    from tqdm import tqdm

    from ..codecs import release_condition

    out = settings.out
    check_run_settings(out / SETTINGS_FILE, settings.fingerprint())  # before loading any weights
    device = resolve_device(settings.device)
    codecs = load_codecs(settings, device, load)
    record_settings(
        out / SETTINGS_FILE,
        settings.fingerprint(),
        {name: condition_record(codec) for name, codec in codecs.items()},
        lock=out / STATE_DIR / SETTINGS_LOCK,
    )
    conditions = [release_condition(codec.spec) for codec in codecs.values()]
    listed = list_corpora(settings)
    languages = {u: record.language for u, (_, _, record) in listed.items()}
    plan, missing = make_plan(settings, languages)
    outputs = plan_outputs(plan, conditions)
    durations = {u: listed[u][2].duration for u in outputs}
    index, count = settings.shard
    batches = shard_batches(make_batches(durations, settings.batch_size), index, count)

    state = out / STATE_DIR
    (state / f"{settings.shard_tag}.done").unlink(missing_ok=True)
    log = RunLog(state / f"{settings.shard_tag}.log.jsonl", merged=out / PROVENANCE_FILE)
    writer = BatchWriter(settings, codecs, log, device)
    summary = ShardSummary(
        left_out=len(languages) - len(plan), counts=split_counts(plan, languages)
    )
    todo = [o.file for b in batches for u in b for o in outputs[u] if not log.finished(out, o.file)]
    summary.finished_before = sum(len(outputs[u]) for b in batches for u in b) - len(todo)
    pending = set(todo)
    started = time.perf_counter()
    try:
        with tqdm(
            total=len(todo), unit="clip", desc=f"synthesize {index}/{count}", disable=not progress
        ) as bar:
            work = [b for b in batches if any(o.file in pending for u in b for o in outputs[u])]
            rates = {settings.sample_rate, *(c.sample_rate for c in codecs.values())}
            for batch, sources, unreadable in decoded_batches(work, listed, rates):
                for record, error in unreadable:
                    writer.fail(record, None, f"unreadable source: {error}")
                writer.run(sources, outputs, pending)
                bar.update(sum(o.file in pending for u in batch for o in outputs[u]))
                if len(writer.failures) > settings.max_failures:
                    report = write_failures(state, settings.shard_tag, writer.failures)
                    raise CodecfakeError(
                        f"{len(writer.failures)} failures, more than --max-failures "
                        f"{settings.max_failures}; see {report}"
                    )
    finally:
        writer.finish()  # files already handed to the writer are completed, even on an error
        log.close()
    missing_report = [
        {
            "utterance": u,
            "source": None,
            "condition": None,
            "error": "in the official labels, not in the corpus",
        }
        for u in missing
    ]
    summary.failures = missing_report + writer.failures
    summary.report = write_failures(state, settings.shard_tag, summary.failures)
    summary.written = writer.written
    summary.seconds = time.perf_counter() - started
    atomic_write_bytes(state / f"{settings.shard_tag}.done", b"")
    return summary


def write_failures(state: Path, tag: str, failures: list[dict[str, Any]]) -> Path:
    path = state / f"{tag}.failures.jsonl"
    state.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, failures)
    return path
