"""Run the whole benchmark on a small synthetic corpus, offline: corpus, codecs, dataset, detector, EER.

Before downloading 100+ GB, see every step work on this machine: a bilingual source corpus in the
VCTK and AISHELL-3 layouts is synthesised (espeak-ng when installed, else a built-in formant
synthesiser), `codecfake synthesize` passes it through codecs that need no download (EnCodec and
DAC architectures with random weights, and the real weight-free lossy codecs Opus and MP3 as
extra conditions C8/C9), `codecfake prepare` makes the dataset folder, `load_dataset` reads it
(in memory and streaming), the LFCC-GMM baseline is trained and scores the test split, and
`codecfake eval` prints the EER table and draws the DET plot. A Markdown report lands in --out.

Each step calls its room's functions (the one place that imports every step) and prints the
`codecfake` command it is equivalent to, for the same step on real data.

The numbers describe this toy data, not Codecfake: random-weight codecs do not sound like trained
ones, and Opus/MP3 are not the paper's codecs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codecfake_builder.sources.synthetic import SyntheticCorpora

DEMO_EPILOG = """\
examples:
  codecfake demo                       # 80 utterances, four codec conditions, into ./demo-out
  codecfake demo --quick --out /tmp/d  # the reduced run the tests use (well under a minute of work)
  codecfake demo --engine formant      # the built-in synthesiser even when espeak-ng is installed

Rerunning (after a crash, or to look again) reuses the corpus and every synthesised clip; the
quick later steps (prepare, training, scoring, eval) run again."""

TRAINED_CONDITIONS = ("C4",)
"""Paper codecs the demo synthesises for every split: the baseline trains on their fakes."""
UNSEEN_CONDITIONS = ("C7",)
"""Paper codecs that are test only (C7 is DAC, unseen in training as in the paper)."""
LOSSY_CONDITIONS = ("C8=opus@12kbps", "C9=mp3@24kbps")
"""Real weight-free lossy codecs added as new conditions, labelled as what they are."""


@dataclass(frozen=True)
class DemoSize:
    speakers_per_language: int
    utterances_per_speaker: int
    conditions: tuple[str, ...]
    components: int


FULL = DemoSize(4, 10, TRAINED_CONDITIONS + UNSEEN_CONDITIONS, components=16)
QUICK = DemoSize(2, 4, TRAINED_CONDITIONS, components=8)


@dataclass(frozen=True)
class DemoPaths:
    out: Path

    @property
    def corpus(self) -> Path:
        return self.out / "corpus"

    @property
    def release(self) -> Path:
        return self.out / "release"

    @property
    def dataset(self) -> Path:
        """Named ``codecfake-data`` so ``load_dataset("codecfake-data", ...)`` works from ``out``."""
        return self.out / "codecfake-data"

    @property
    def run(self) -> Path:
        return self.out / "baseline"

    @property
    def scores(self) -> Path:
        return self.run / "test_scores.txt"

    @property
    def det(self) -> Path:
        return self.out / "det.png"

    @property
    def report(self) -> Path:
        return self.out / "report.md"


def _step(number: int, title: str, argv: Sequence[str] | None = None) -> None:
    """A step's heading, and the ``codecfake`` command that does the same step."""
    print(f"\n[{number}/7] {title}", flush=True)
    if argv is not None:
        print("  $ codecfake " + shlex.join(argv), flush=True)


def _loading_summary(dataset: Path, cache: Path) -> list[str]:
    """What ``load_dataset`` gives, in memory and streaming, on the folder just prepared."""
    import datasets

    from codecfake import DEFAULT_CONFIG, LABEL_NAMES
    from codecfake_core.audio import with_fast_audio

    lines = []
    in_memory = datasets.load_dataset(str(dataset), DEFAULT_CONFIG, cache_dir=str(cache))
    sizes = ", ".join(f"{split} {len(data)}" for split, data in in_memory.items())
    lines.append(f'load_dataset("{dataset.name}", "{DEFAULT_CONFIG}"): {sizes}')
    stream = datasets.load_dataset(str(dataset), "C4", split="test", streaming=True)
    first = next(iter(with_fast_audio(stream)))
    seconds = len(first["audio"]["array"]) / first["audio"]["sampling_rate"]
    lines.append(
        f'load_dataset("{dataset.name}", "C4", split="test", streaming=True): first row '
        f"{first['file']} ({LABEL_NAMES[first['label']]}, {first['language']}, "
        f"utterance {first['utterance']}, {seconds:.2f} s at {first['audio']['sampling_rate']} Hz)"
    )
    return lines


def next_commands() -> str:
    return """\
  # the official release (see README: download and extract it to Codecfake/)
  codecfake prepare Codecfake/ codecfake-data/
  codecfake baseline train --dataset codecfake-data/ --config all --out runs/lfcc-gmm
  codecfake baseline score --model runs/lfcc-gmm --dataset codecfake-data/ --config all \\
      --split test --out runs/lfcc-gmm/all_test.txt
  codecfake eval runs/lfcc-gmm/all_test.txt --det runs/lfcc-gmm/det.png

  # or rebuild it from VCTK + AISHELL-3 with real checkpoints
  codecfake synthesize --vctk VCTK-Corpus-0.92 --aishell3 data_aishell3 --out rebuilt/ \\
      --conditions C4,C7 --checkpoint C4=facebook/encodec_24khz --checkpoint C7=descript/dac_44khz"""


def _conditions_table(release: Path, names: Sequence[str]) -> list[str]:
    from codecfake_core.release import release_conditions

    conditions = release_conditions(release)
    rows = ["| condition | codec | in this demo |", "|---|---|---|"]
    for name in names:
        condition = conditions[name]
        how = (
            "real architecture, **random weights**"
            if name in TRAINED_CONDITIONS + UNSEEN_CONDITIONS
            else "real lossy codec, not one of the paper's codecs"
        )
        splits = "train/validation/test" if len(condition.splits) > 1 else "test only"
        rows.append(f"| {name} | {condition.codec} | {how}; {splits} |")
    return rows


def write_report(
    paths: DemoPaths,
    size: DemoSize,
    engine: str,
    conditions: Sequence[str],
    loading: Sequence[str],
    table: str,
    seconds: float,
) -> Path:
    """A small Markdown report beside the outputs; written atomically like every other file."""
    from codecfake_core.io import atomic_write_text

    total = 2 * size.speakers_per_language * size.utterances_per_speaker
    text = "\n".join(
        [
            "# codecfake demo",
            "",
            f"Made by `codecfake demo` in {seconds:.0f} s. Toy data: the EERs describe this "
            "synthetic corpus and these codecs, not the Codecfake benchmark.",
            "",
            "## Corpus",
            f"{total} utterances: {size.speakers_per_language} English (VCTK layout, 48 kHz FLAC) "
            f"and {size.speakers_per_language} Mandarin (AISHELL-3 layout, 44.1 kHz) speakers, "
            f"{size.utterances_per_speaker} utterances each, spoken by `{engine}`.",
            "",
            "## Conditions",
            *_conditions_table(paths.release, conditions),
            "",
            "## Dataset",
            *[f"- `{line}`" for line in loading],
            "",
            "## Baseline (LFCC + GMM pair) on the test split",
            "```",
            table.rstrip(),
            "```",
            "",
            f"![DET curves]({paths.det.name})",
            "",
            "## Next, on the real release",
            "```",
            next_commands(),
            "```",
            "",
        ]
    )
    atomic_write_text(paths.report, text)
    return paths.report


class Demo:
    """Run the whole benchmark on a small synthetic corpus, offline: corpus, codecs, dataset, detector, EER."""

    EPILOG = DEMO_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # the corpus and every synthesised clip are reused

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--out",
            type=Path,
            default=Path("demo-out"),
            help="output folder (default: ./demo-out)",
        )
        parser.add_argument(
            "--quick", action="store_true", help="a smaller corpus and fewer codecs"
        )
        parser.add_argument(
            "--engine",
            choices=("auto", "espeak-ng", "formant"),
            default="auto",
            help="speech for the corpus: espeak-ng when installed (auto), or the formant synthesiser",
        )
        parser.add_argument("--seed", type=int, default=0, help="corpus, splits and codec weights")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        from codecfake_builder.sources.synthetic import make_synthetic_corpora

        started = time.perf_counter()
        size = QUICK if args.quick else FULL
        paths = DemoPaths(args.out)
        paths.out.mkdir(parents=True, exist_ok=True)
        progress = args.progress

        _step(1, "source corpus (synthetic, VCTK + AISHELL-3 layouts)")
        corpora = make_synthetic_corpora(
            paths.corpus,
            speakers_per_language=size.speakers_per_language,
            utterances_per_speaker=size.utterances_per_speaker,
            seed=args.seed,
            engine=args.engine,
        )
        print(f"  {corpora.vctk} and {corpora.aishell3}, spoken by {corpora.engine}")
        lossy = [definition.split("=")[0] for definition in LOSSY_CONDITIONS]
        _synthesize(paths, size, corpora, args.seed, progress)
        _prepare(paths, progress)

        _step(4, "load_dataset, in memory and streaming")
        loading = _loading_summary(paths.dataset, paths.out / ".hf-cache")
        for line in loading:
            print("  " + line)

        _baseline(paths, size, lossy, args.seed, progress)
        table = _evaluate(paths, progress)
        print(table)

        seconds = time.perf_counter() - started
        report = write_report(
            paths,
            size,
            corpora.engine,
            [*size.conditions, *lossy],
            loading,
            table,
            seconds,
        )
        print(f"\nwrote {paths.det} and {report} in {seconds:.0f} s")
        print("\nnext, on the real release:\n" + next_commands())
        return 0


def _synthesize(
    paths: DemoPaths, size: DemoSize, corpora: SyntheticCorpora, seed: int, progress: bool
) -> None:
    from codecfake_builder.codecs import parse_codec_definitions
    from codecfake_builder.synthesis.merge import merge_release
    from codecfake_builder.synthesis.pipeline import run_shard
    from codecfake_builder.synthesis.settings import Settings

    command = [
        "synthesize", "--vctk", str(corpora.vctk), "--aishell3", str(corpora.aishell3),
        "--out", str(paths.release), "--conditions", ",".join(size.conditions),
        *(arg for d in LOSSY_CONDITIONS for arg in ("--codec", d)),
        "--codec-weights", "random", "--seed", str(seed), "--device", "cpu",
    ]  # fmt: skip
    _step(2, "codec resynthesis (random-weight EnCodec/DAC, real Opus/MP3)", command)
    settings = Settings(
        out=paths.release,
        corpora={"en": corpora.vctk, "zh": corpora.aishell3},
        conditions=size.conditions,
        codecs=tuple(parse_codec_definitions(LOSSY_CONDITIONS).values()),
        weights="random",
        seed=seed,
        device="cpu",
    )
    summary = run_shard(settings, progress=progress)
    print(
        f"  wrote {summary.written} files, {summary.finished_before} already finished; "
        + merge_release(paths.release).describe()
    )


def _prepare(paths: DemoPaths, progress: bool) -> None:
    from codecfake_builder.folder.prepare import prepare

    command = ["prepare", str(paths.release), str(paths.dataset), "--no-size-check"]
    _step(3, "dataset folder (Parquet shards + card)", command)
    report = prepare(paths.release, paths.dataset, size_check=False, progress=progress)
    for line in report.lines():
        print(line)


def _baseline(
    paths: DemoPaths, size: DemoSize, lossy: Sequence[str], seed: int, progress: bool
) -> None:
    from codecfake_detectors.lfcc_gmm.score import score_split
    from codecfake_detectors.lfcc_gmm.train import describe_training, train_baseline

    dataset = str(paths.dataset)
    command = [
        "baseline", "train", "--dataset", dataset, "--config", "all",
        "--out", str(paths.run), "--components", str(size.components), "--seed", str(seed),
    ]  # fmt: skip
    _step(5, "train the reference baseline (LFCC + GMM pair)", command)
    model_path, model = train_baseline(
        dataset, paths.run, config="all", components=size.components, seed=seed, progress=progress
    )
    print(describe_training(model, model_path))

    configs = ["all", *lossy]
    command = [
        "baseline", "score", "--model", str(paths.run), "--dataset", dataset,
        *(arg for name in configs for arg in ("--config", name)),
        "--split", "test", "--out", str(paths.scores),
    ]  # fmt: skip
    _step(6, "score the test split", command)
    out, scored = score_split(
        paths.run, dataset, paths.scores, configs=configs, split="test", progress=progress
    )
    print(f"scored {scored} clips; wrote {out}")


def _evaluate(paths: DemoPaths, progress: bool) -> str:
    """The EER table (fixed polarity, as `codecfake eval` by default), and the DET plot."""
    from codecfake_evaluation.det import plot_det
    from codecfake_evaluation.pipeline import EvalSettings, score
    from codecfake_evaluation.table import POOLED, format_table

    command = ["eval", str(paths.scores), "--labels", str(paths.release), "--det", str(paths.det)]
    _step(7, "EER per condition", command)
    settings = EvalSettings(scores=(str(paths.scores),), labels=str(paths.release))
    scored = score(settings, progress=progress)
    for warning in scored.warnings:
        print(f"warning: {warning}")
    pooled = [g for g in scored.groups if g.language == POOLED]
    plot_det(pooled, scored.rows, paths.det, title=f"DET curves ({settings.polarity} polarity)")
    return format_table(scored.rows, settings.polarity)
