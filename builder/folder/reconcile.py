"""Prove that no label row was lost: every configuration holds exactly what its label files list.

The count a configuration *should* have is taken from the label rows alone (the plan's ledger):
the distinct files of the label files its split reads, filtered to its conditions and languages.
The count it *has* is read back from the shard footers of the written folder. The two are
reached by different code, so a row the storage layout drops, or one it adds, shows as a
difference here and stops the run instead of shipping a quietly smaller benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import codecfake
from codecfake import CodecfakeConfig, ReleaseError
from codecfake_core.dataset_folder import FolderConfig, FolderManifest, configurations, part_rows

from .plan import ReleasePlan


@dataclass(frozen=True)
class Reconciliation:
    """Label rows read, rows stored, and rows each configuration reaches, all accounted for."""

    rows_read: int
    rows_stored: int
    configs: dict[str, dict[str, int]] = field(default_factory=dict)

    def line(self) -> str:
        shared = self.rows_read - self.rows_stored
        total = sum(self.configs.get(codecfake.DEFAULT_CONFIG, {}).values())
        biggest = f"; {codecfake.DEFAULT_CONFIG} holds {total:,}" if total else ""
        return (
            f"reconciled: {self.rows_read:,} label rows read = {self.rows_stored:,} rows stored "
            f"+ {shared:,} listings of shared real clips stored once; all "
            f"{len(self.configs)} configurations hold exactly the rows their label files list"
            f"{biggest}"
        )


def expected_rows(plan: ReleasePlan, config: CodecfakeConfig) -> dict[str, int]:
    """Rows per split that ``config`` must hold, counted from the label rows alone."""
    conditions = plan.conditions
    by_stem: dict[str, list[int]] = {}
    for index, source in enumerate(plan.index.sources):
        by_stem.setdefault(source.stem, []).append(index)
    counts: dict[str, int] = {}
    for split in config.splits_of(conditions):
        files: set[str] = set()
        fakes = False  # as in the folder, the shared reals alone do not make a configuration
        for stem in config.label_sources(split, conditions):
            for index in by_stem.get(stem, []):
                for row in plan.ledger[index]:
                    real = row.condition == codecfake.REAL_CONDITION
                    if (real or row.condition in config.conditions) and config.takes(row.language):
                        files.add(row.file)
                        fakes = fakes or not real
        if fakes:
            counts[split] = len(files)
    return counts


def reconcile(
    plan: ReleasePlan, folder: Path, manifest: FolderManifest, made: list[FolderConfig]
) -> Reconciliation:
    """Compare every configuration of ``folder`` with its label files; raise on any difference."""
    found = {c.name: c.sizes for c in made}
    wrong: list[tuple[str, str, int, int]] = []
    configs: dict[str, dict[str, int]] = {}
    for config in configurations(manifest):
        expected = expected_rows(plan, config)
        if not expected and config.name not in found:
            continue
        sizes = found.get(config.name, {})
        for split in sorted(set(expected) | set(sizes)):
            if expected.get(split, 0) != sizes.get(split, 0):
                wrong.append((config.name, split, expected.get(split, 0), sizes.get(split, 0)))
        configs[config.name] = sizes
    stored = sum(part_rows(folder, part) for part in plan.parts)
    if wrong:
        table = "\n".join(
            f"  {name:<10} {split:<11} {want:>10,} {got:>10,}" for name, split, want, got in wrong
        )
        raise ReleaseError(
            plan.release_dir,
            f"{len(wrong)} configuration splits do not hold the rows their label files list "
            "(nothing was written; please report this with the table):\n"
            f"  {'config':<10} {'split':<11} {'labelled':>10} {'stored':>10}\n{table}",
        )
    return Reconciliation(plan.rows_read, stored, configs)
