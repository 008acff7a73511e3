"""Rebuild or extend Codecfake: pass VCTK and AISHELL-3 through neural codecs into a release tree.

The tree has the official layout (``label/*.txt``, ``train/``, ``dev/``, ``test/C<k>/``) and
official file names, so ``codecfake prepare`` reads it like the published release. Every clip,
real and fake, is 16-bit PCM WAV at one rate. ``provenance.jsonl`` says where each file came from.

A run is deterministic and resumable: the work is cut into length-sorted batches fixed by the
plan alone, each finished file is logged right after it is renamed into place, and a rerun makes
again exactly the files without a log record. ``--shard I/N`` runs every N-th batch; the last
step (automatic for a single run, ``codecfake merge-shards`` otherwise) writes the label files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from builder.provenance import PROVENANCE_FILE, RunLog, package_versions, write_jsonl
from builder.release import atomic_write, encode_wav
from builder.sources.aishell3 import prepare_aishell3
from builder.sources.manifest import Utterance
from builder.sources.vctk import MICROPHONES, prepare_vctk
from builder.splits import SplitPlan, plan_from_labels, seeded_plan, split_counts
from builder.work import Output, make_batches, plan_outputs, shard_batches
from codecfake import CODEC_CONDITIONS, SAMPLING_RATE, CodecfakeError, utterance_language

EPILOG = """\
examples:
  # offline smoke run: each codec family's real architecture with random weights
  codecfake synthesize --vctk VCTK-Corpus-0.92 --aishell3 data_aishell3 --out rebuilt/ \\
      --conditions C4,C7 --codec C8=opus@12kbps --codec-weights random

  # the official split, your own checkpoints
  codecfake synthesize --vctk VCTK-Corpus-0.92 --aishell3 data_aishell3 --out rebuilt/ \\
      --splits-from Codecfake/label --checkpoint C4=facebook/encodec_24khz \\
      --checkpoint C7=descript/dac_44khz --conditions C4,C7

  # eight workers (a job array), then one merge
  codecfake synthesize ... --out rebuilt/ --shard $SLURM_ARRAY_TASK_ID/8
  codecfake merge-shards rebuilt/

Rerun the same command after a crash: finished files are kept, the rest is made again."""

STATE_DIR = ".synthesize"
"""Per-shard logs and markers; the merge folds them into the release and removes the folder."""
SETTINGS_FILE = "synthesis.json"
"""The settings that decide output bytes; every shard and every resume must agree with them."""
CORPORA: dict[str, tuple[str, Callable[..., list[Utterance]]]] = {
    "en": ("VCTK", prepare_vctk),
    "zh": ("AISHELL-3", prepare_aishell3),
}

READ_AHEAD = 2
"""Batches decoded ahead of the one the codec is working on."""
CodecLoader = Callable[..., Any]
"""``load_codec(condition, *, checkpoint, weights, device, seed) -> Codec`` (builder.codecs)."""


@dataclass(frozen=True)
class Settings:
    out: Path
    corpora: Mapping[str, Path]  # language -> corpus root
    conditions: tuple[str, ...] = CODEC_CONDITIONS
    definitions: tuple[str, ...] = ()  # new conditions, e.g. "C8=mimi:kyutai/mimi@q8"
    weights: str = "pretrained"
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    splits_from: Path | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 8
    shard: tuple[int, int] = (0, 1)
    sample_rate: int = SAMPLING_RATE
    max_failures: int = 100
    vctk_mic: str = "mic1"

    def fingerprint(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "splits": "official" if self.splits_from else "seeded",
            "weights": self.weights,
            "sample_rate": self.sample_rate,
            "batch_size": self.batch_size,
            "vctk_mic": self.vctk_mic,
        }

    @property
    def shard_tag(self) -> str:
        return f"shard-{self.shard[0]}-of-{self.shard[1]}"


@dataclass
class ShardSummary:
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


@dataclass
class Source:
    """A decoded source utterance, with resampled versions cached per rate within one batch."""

    utterance: Utterance
    corpus: str
    sha256: str
    samples: np.ndarray
    rate: int
    _at: dict[int, np.ndarray] = field(default_factory=dict)

    def at(self, rate: int) -> np.ndarray:
        if rate not in self._at:
            self._at[rate] = resample(self.samples, self.rate, rate)
        return self._at[rate]


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    import soxr

    samples = np.asarray(samples, dtype=np.float32)
    return samples if rate == target else soxr.resample(samples, rate, target)


def read_source(root: Path, utterance: Utterance, corpus: str) -> Source:
    """Decode one corpus file to mono float32; raises ValueError for empty audio."""
    import soundfile

    data = (root / utterance.path).read_bytes()
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    if samples.shape[0] == 0:
        raise ValueError("empty audio (0 samples)")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return Source(utterance, corpus, hashlib.sha256(data).hexdigest(), mono, rate)


def decoded_batches(
    batches: list[list[str]], listed: Mapping[str, tuple[Path, str, Utterance]], rates: set[int]
) -> Iterator[tuple[list[str], dict[str, Source], list[tuple[Utterance, Exception]]]]:
    """(batch, its decoded sources at every rate needed, its unreadable files), in batch order.

    Sources are decoded and resampled a few batches ahead in threads (libsndfile and soxr
    release the GIL), so reading overlaps the codec and the writes. Results do not depend on it.
    """

    def decode(utterance: str) -> Source:
        root, corpus, record = listed[utterance]
        source = read_source(root, record, corpus)
        for rate in sorted(rates):
            source.at(rate)
        return source

    def settle(batch: list[str], futures: list[Future[Source]]):
        sources, unreadable = {}, []
        for utterance, future in zip(batch, futures, strict=True):
            try:
                sources[utterance] = future.result()
            except (OSError, RuntimeError, ValueError) as error:
                unreadable.append((listed[utterance][2], error))
        return batch, sources, unreadable

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        queue: deque[tuple[list[str], list[Future[Source]]]] = deque()
        for batch in batches:
            queue.append((batch, [pool.submit(decode, u) for u in batch]))
            if len(queue) > READ_AHEAD:
                yield settle(*queue.popleft())
        while queue:
            yield settle(*queue.popleft())


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def requested_conditions(settings: Settings) -> tuple[str, ...]:
    """``--conditions``, then the conditions ``--codec`` defines (registered here)."""
    from builder.codecs import parse_codec_definition

    defined = [parse_codec_definition(text).condition for text in settings.definitions]
    return tuple(dict.fromkeys([*settings.conditions, *defined]))


def load_codecs(settings: Settings, device: str, load: CodecLoader | None) -> dict[str, Any]:
    """Every requested codec, loaded before any work so a missing plugin fails at once."""
    names = requested_conditions(settings)
    unused = sorted(set(settings.checkpoints) - set(names))
    if unused:
        raise CodecfakeError(f"--checkpoint given for {', '.join(unused)}, not in --conditions")
    if load is None:
        from builder.codecs import load_codec as load
    return {
        name: load(
            name,
            checkpoint=settings.checkpoints.get(name),
            weights=settings.weights,
            device=device,
            seed=settings.seed,
        )
        for name in names
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


def check_settings_file(out: Path, fingerprint: dict[str, Any]) -> None:
    path = out / SETTINGS_FILE
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        changed = {k: (before.get(k), v) for k, v in fingerprint.items() if before.get(k) != v}
        if changed:
            listing = ", ".join(
                f"{k} was {old!r}, now {new!r}" for k, (old, new) in changed.items()
            )
            raise CodecfakeError(
                f"{path}: this release was started with other settings ({listing}); "
                "use the same settings to resume, or a new --out"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(fingerprint, indent=2, sort_keys=True) + "\n").encode())


class BatchWriter:
    """Makes the files of one batch: reals first, then each codec over the whole batch.

    Files are encoded and written by one background thread while the next batch is coded; being
    one thread, it keeps each file's log record strictly after the file itself.
    """

    def __init__(self, settings: Settings, codecs: Mapping[str, Any], log: RunLog, device: str):
        self.settings = settings
        self.codecs = codecs
        self.log = log
        self.device = device
        self.versions = package_versions()
        self.failures: list[dict[str, Any]] = []
        self.written = 0
        self._writer = ThreadPoolExecutor(max_workers=1)
        self._in_flight: deque[list[Future[None]]] = deque()

    def run(self, sources: dict[str, Source], outputs: dict[str, list[Output]], pending: set[str]):
        rate = self.settings.sample_rate
        writes = []
        for utterance, source in sources.items():
            reals = [o for o in outputs[utterance] if o.condition is None and o.file in pending]
            if reals:
                writes.append(self._writer.submit(self.write, reals, source.at(rate), rate, source))
        for name, codec in self.codecs.items():
            # The codec always sees the whole batch, finished files included: its output for one
            # clip may depend on its batch-mates, and a resumed run must reproduce it exactly.
            members = [(o, sources[u]) for u in sources for o in outputs[u] if o.condition == name]
            if not any(o.file in pending for o, _ in members):
                continue
            try:
                results = codec.resynthesize([s.at(codec.sample_rate) for _, s in members])
            except CodecfakeError:
                raise
            except Exception as error:  # one bad batch is reported; the run goes on
                for output, source in members:
                    if output.file in pending:
                        self.fail(source.utterance, name, f"{type(error).__name__}: {error}")
                continue
            for (output, source), result in zip(members, results, strict=True):
                if len(result) != len(source.at(codec.sample_rate)):
                    raise CodecfakeError(
                        f"codec for {name} returned {len(result)} samples for "
                        f"{len(source.at(codec.sample_rate))} (backends must trim to the input)"
                    )
                if output.file in pending:
                    task = self._writer.submit(
                        self.write, [output], result, codec.sample_rate, source, codec
                    )
                    writes.append(task)
        self._in_flight.append(writes)
        if len(self._in_flight) > 1:  # at most the previous batch is still being written
            self.wait(self._in_flight.popleft())

    @staticmethod
    def wait(tasks: list[Future[None]]) -> None:
        for task in tasks:
            task.result()  # a failed write (a full disk) stops the run here

    def finish(self) -> None:
        """Wait for every file; re-raise the first write error."""
        try:
            while self._in_flight:
                self.wait(self._in_flight.popleft())
        finally:
            self._writer.shutdown(wait=True)

    def write(
        self, outputs: list[Output], audio: np.ndarray, rate: int, source: Source, codec: Any = None
    ) -> None:
        """Resample to the output rate, encode once, write each file, then log its record."""
        target = self.settings.sample_rate
        data = encode_wav(resample(audio, rate, target), target)
        digest = hashlib.sha256(data).hexdigest()
        for output in outputs:
            atomic_write(self.settings.out / output.file, data)
            self.log.append(self.record(output, digest, source, codec))
            self.written += 1

    def record(self, output: Output, digest: str, source: Source, codec: Any) -> dict[str, Any]:
        return {
            "file": output.file,
            "label": output.label,
            "idx": output.idx,
            "split": output.split,
            "condition": output.condition or "real",
            "utterance": output.utterance,
            "sha256": digest,
            "sample_rate": self.settings.sample_rate,
            "source": {
                "corpus": source.corpus,
                "path": source.utterance.path,
                "sha256": source.sha256,
            },
            "codec": asdict(codec.spec) if codec is not None else None,
            "checkpoint": dict(codec.provenance) if codec is not None else None,
            "weights": self.settings.weights if codec is not None else None,
            "device": self.device if codec is not None else None,
            "versions": self.versions,
        }

    def fail(self, utterance: Utterance, condition: str | None, error: str) -> None:
        self.failures.append(
            {
                "utterance": utterance.id,
                "source": utterance.path,
                "condition": condition,
                "error": error,
            }
        )


def run_shard(settings: Settings, load: CodecLoader | None = None) -> ShardSummary:
    """Make this shard's files. Safe to rerun: finished files are skipped, the rest redone."""
    from tqdm import tqdm

    from builder.codecs import release_condition

    out = settings.out
    check_settings_file(out, settings.fingerprint())
    device = resolve_device(settings.device)
    codecs = load_codecs(settings, device, load)
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
        with tqdm(total=len(todo), unit="clip", desc=f"synthesize {index}/{count}") as bar:
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
    atomic_write(state / f"{settings.shard_tag}.done", b"")
    return summary


def write_failures(state: Path, tag: str, failures: list[dict[str, Any]]) -> Path:
    path = state / f"{tag}.failures.jsonl"
    state.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, failures)
    return path


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/8, got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..{count - 1}, got {index}")
    return index, count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    corpora = parser.add_argument_group("source corpora (either may be left out)")
    corpora.add_argument("--vctk", type=Path, metavar="DIR", help="VCTK 0.92 or 0.80 root")
    corpora.add_argument(
        "--vctk-mic", choices=MICROPHONES, default="mic1", help="VCTK 0.92 microphone"
    )
    corpora.add_argument("--aishell3", type=Path, metavar="DIR", help="AISHELL-3 root")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="RELEASE_DIR",
        help="the release tree to write; rerun the same command to resume",
    )
    parser.add_argument(
        "--conditions",
        default=",".join(CODEC_CONDITIONS),
        help="comma-separated conditions (default: C1..C7; also C3-1 .. C4-3)",
    )
    parser.add_argument(
        "--codec",
        action="append",
        default=[],
        metavar="NAME=FAMILY[:CHECKPOINT][@SETTING,...]",
        help="add a new condition (C8 and up), e.g. C8=mimi:kyutai/mimi@q8 or C9=opus@12kbps",
    )
    parser.add_argument(
        "--codec-weights",
        choices=("pretrained", "random"),
        default="pretrained",
        help="random: each family's real architecture with seeded random weights (offline)",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="COND=PATH_OR_HUB_ID",
        help="override one condition's checkpoint (repeatable)",
    )
    parser.add_argument(
        "--splits-from",
        type=Path,
        metavar="LABEL_DIR",
        help="official label/ folder: reproduce its train/dev/test assignment exactly",
    )
    parser.add_argument("--seed", type=int, default=0, help="split order and random weights")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per codec call")
    parser.add_argument(
        "--shard",
        type=parse_shard,
        default=(0, 1),
        metavar="I/N",
        help="this worker's share: every N-th batch from I (0 <= I < N); then merge-shards",
    )
    parser.add_argument("--sample-rate", type=int, default=SAMPLING_RATE, help="output rate")
    parser.add_argument(
        "--max-failures", type=int, default=100, help="stop after this many per-file failures"
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    from builder.codecs import parse_checkpoint_overrides, parse_codec_definition

    for definition in args.codec:  # before the overrides, which may name a new condition
        parse_codec_definition(definition)
    corpora = {lang: d for lang, d in (("en", args.vctk), ("zh", args.aishell3)) if d is not None}
    return Settings(
        out=args.out,
        corpora=corpora,
        conditions=tuple(c.strip() for c in args.conditions.split(",") if c.strip()),
        definitions=tuple(args.codec),
        weights=args.codec_weights,
        checkpoints=parse_checkpoint_overrides(args.checkpoint),
        splits_from=args.splits_from,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        shard=args.shard,
        sample_rate=args.sample_rate,
        max_failures=args.max_failures,
        vctk_mic=args.vctk_mic,
    )


def run(args: argparse.Namespace) -> int:
    from builder.merge import FAILURES_FILE, merge_release

    settings = settings_from_args(args)
    summary = run_shard(settings)
    index, count = settings.shard
    merged = merge_release(settings.out) if count == 1 else None  # before any printing can fail
    print(
        f"shard {index}/{count}: wrote {summary.written} files "
        f"({summary.clips_per_second:.1f} clips/s), {summary.finished_before} already finished"
    )
    for split, by_language in summary.counts.items():
        print(f"  {split:<10} " + "  ".join(f"{k} {v:,}" for k, v in sorted(by_language.items())))
    if summary.left_out:
        print(f"  left out {summary.left_out} corpus utterances the official labels do not list")
    if summary.failures:
        report = settings.out / FAILURES_FILE if merged else summary.report
        print(f"  {len(summary.failures)} failures, all listed in {report}:")
        for failure in summary.failures[:5]:
            print(f"    {failure['utterance']} {failure['condition'] or ''}: {failure['error']}")
    print(
        merged.describe()
        if merged
        else f"when all {count} shards are done: codecfake merge-shards {settings.out}"
    )
    return 0
