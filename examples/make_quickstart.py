"""Write ``examples/quickstart.ipynb`` from the cells below, with empty outputs.

The notebook is generated rather than hand-edited so its diff stays readable and it never carries
outputs into git. Run ``python examples/make_quickstart.py`` after changing a cell.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        """\
# Codecfake quickstart: stream a subset, see and hear a codec fake, score a detector

This notebook reads a prepared Codecfake folder (from `codecfake prepare` or `codecfake demo`) or a
Hub repo, streams a few clips without downloading everything, puts a real clip next to its codec
fake, and evaluates the reference baseline's scores. By default it reads the demo's output:
run `bash scripts/demo.sh` first (or `codecfake demo`).""",
    ),
    (
        "code",
        """\
import os

# A prepared folder or a Hub id (e.g. "your-name/codecfake"); the demo's output by default.
DATASET = os.environ.get("CODECFAKE_DATASET", "../demo-out/codecfake-data")
# The baseline's score file (`codecfake baseline score`); the demo writes this one.
SCORES = os.environ.get("CODECFAKE_SCORES", "../demo-out/baseline/test_scores.txt")
# The condition to look at. In the demo, C8 is Opus at 12 kbps, a real lossy codec whose fake
# still looks like speech (the demo's C4/C7 are random-weight codecs: noise). On the real
# release pick one of the paper's codecs, C1 .. C7.
CONDITION = os.environ.get("CODECFAKE_CONDITION", "C8")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no network""",
    ),
    (
        "markdown",
        """\
## Stream a subset

`streaming=True` reads Parquet shards lazily, and `codecfake_core.with_fast_audio` decodes with
soundfile + soxr instead of torchcodec. `.filter` picks a condition and a language, `.take`
stops early.""",
    ),
    (
        "code",
        """\
import datasets

import codecfake
from codecfake_core import with_fast_audio

print("configurations:", datasets.get_dataset_config_names(DATASET))
# The configuration named after a condition holds its fakes and the real clips they come from.
stream = with_fast_audio(
    datasets.load_dataset(DATASET, CONDITION, split="test", streaming=True)
)
mandarin_fakes = stream.filter(
    lambda condition, language: condition == CONDITION and language == "zh",
    input_columns=["condition", "language"],
).take(3)
for row in mandarin_fakes:
    print(row["file"], codecfake.LABEL_NAMES[row["label"]], row["codec"], row["utterance"],
          f"{len(row['audio']['array']) / row['audio']['sampling_rate']:.2f} s")""",
    ),
    (
        "markdown",
        """\
## A fake next to its real original

Every fake carries the `utterance` id of the real clip it was made from, so the pair is one
filter away.""",
    ),
    (
        "code",
        """\
# Real clip first: C7 (and the demo's C8+) also resynthesise train utterances, whose reals
# are not in the test split.
real = next(iter(stream.filter(lambda label: label == 0, input_columns="label").take(1)))
fake = next(iter(stream.filter(
    lambda utterance, label: utterance == real["utterance"] and label == 1,
    input_columns=["utterance", "label"],
).take(1)))
print("real:", real["file"], "| fake:", fake["file"], f"({fake['condition']}, {fake['codec']})")""",
    ),
    (
        "code",
        """\
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col")
for column, (title, row) in enumerate((("real", real), (f"fake ({fake['condition']})", fake))):
    audio, rate = row["audio"]["array"], row["audio"]["sampling_rate"]
    seconds = np.arange(len(audio)) / rate
    axes[0, column].plot(seconds, audio, linewidth=0.5)
    axes[0, column].set_title(f"{title}: {row['file']}")
    axes[0, column].set_ylabel("amplitude")
    axes[1, column].specgram(audio, NFFT=512, Fs=rate, noverlap=384, cmap="magma")
    axes[1, column].set_ylabel("Hz")
    axes[1, column].set_xlabel("seconds")
fig.tight_layout()
plt.show()""",
    ),
    (
        "code",
        """\
from IPython.display import Audio, display

for row in (real, fake):
    print(row["file"])
    display(Audio(row["audio"]["array"], rate=row["audio"]["sampling_rate"]))""",
    ),
    (
        "markdown",
        """\
## Evaluate the baseline's scores

`codecfake_evaluation.evaluate` takes the split's metadata columns and one score per row, and returns the
paper's table. The score file covers the test clips of every codec configuration; their shared
real clips appear once.""",
    ),
    (
        "code",
        """\
from codecfake_evaluation import evaluate

with open(SCORES, encoding="utf-8") as lines:
    scores = {name: float(score) for name, score, *_ in (line.split() for line in lines)}
rows = {}
for config in datasets.get_dataset_config_names(DATASET):
    if config.startswith("C"):  # pooled codec configurations: both languages, one condition
        split = datasets.load_dataset(DATASET, config, split="test").remove_columns("audio")
        rows.update((row["file"], row) for row in split)
files = [name for name in rows if name in scores]
metadata = {key: [rows[name][key] for name in files] for key in ("file", "label", "condition", "language")}
table = evaluate(metadata, [scores[name] for name in files])
print(table)""",
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_markdown_cell(source)
        if kind == "markdown"
        else nbformat.v4.new_code_cell(source)
        for kind, source in CELLS
    ]
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"  # stable ids keep regenerated notebooks diff-free
    return notebook


def main() -> None:
    target = Path(__file__).with_name("quickstart.ipynb")
    nbformat.write(build(), target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
