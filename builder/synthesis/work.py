"""What a synthesis run must write, in which batches, and which shard does each batch.

Everything here is a pure function of the plan, so a resumed run, a single run and N shards all
see the same batches. That matters for byte-identical output: a codec's result for one clip can
depend (in the last bit) on what else is in its batch, so batch membership must never depend on
what happens to be finished already or on how many workers there are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codecfake import Condition, fake_file_name

from .release import split_folder
from .splits import SplitPlan, fake_split


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the release: its path inside it, its source utterance, and its label row."""

    file: str
    utterance: str
    split: str
    condition: str | None  # None for the real clip
    idx: str

    @property
    def label(self) -> str:
        return "real" if self.condition is None else "fake"


def plan_outputs(plan: SplitPlan, conditions: Sequence[Condition]) -> dict[str, list[Output]]:
    """utterance id -> every file made from it: its real copies, then one fake per condition.

    A train/dev real is written when some condition has fakes in that split; a test real is
    written once into each condition's test folder, as in the official release.
    """
    training_splits = {s for c in conditions for s in c.splits if s != "test"}
    outputs: dict[str, list[Output]] = {}
    for utterance in sorted(plan):
        split = plan[utterance]
        files: list[Output] = []
        if split == "test":
            real_folders = [split_folder(split, c.name) for c in conditions]
        elif split in training_splits:
            real_folders = [split_folder(split, "")]
        else:
            real_folders = []
        files += [Output(f"{f}/{utterance}.wav", utterance, split, None, "0") for f in real_folders]
        for condition in conditions:
            target = fake_split(condition, split)
            if target is not None:
                folder = split_folder(target, condition.name)
                name = fake_file_name(condition, utterance)
                files.append(
                    Output(
                        f"{folder}/{name}", utterance, target, condition.name, condition.label_idx
                    )
                )
        if files:
            outputs[utterance] = files
    return outputs


def make_batches(durations: Mapping[str, float | None], batch_size: int) -> list[list[str]]:
    """Utterances sorted by length (then id) and cut into batches, so padding stays small."""
    order = sorted(durations, key=lambda u: (durations[u] or 0.0, u))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def shard_batches(batches: list[list[str]], index: int, count: int) -> list[list[str]]:
    """Every ``count``-th batch from ``index``: each shard gets short and long clips alike."""
    return batches[index::count]
