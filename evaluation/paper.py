"""The paper's published EERs, as result records marked "as published".

Values are EER % with three decimals, polarity-free, from arXiv 2405.04880 v1, section V
(its result tables, III to VIII); the per-condition figures of the two models whose score files
the authors published are also what those score files give (tested). The paper
sometimes truncates its third decimal instead of rounding it, so compare to 0.0015. The averages
are computed here by the rule of :mod:`codecfake_evaluation.table` (the members present), so each column
compares like with like. Where the paper publishes an average over conditions not listed here,
the record's ``notes`` say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .records import AS_PUBLISHED, FORMAT, VERSION
from .table import POLARITY_RULES, POOLED, average_members

SOURCE = "arXiv 2405.04880 v1, section V (Tables III-VIII)"


@dataclass(frozen=True)
class Published:
    name: str
    detector: str
    trained_on: str
    eer: dict[str, float]
    notes: tuple[str, ...] = ()


PUBLISHED = (
    Published(
        "paper: W2V2-AASIST, vocoder-trained",
        "W2V2-AASIST",
        "ASVspoof 2019 LA",
        {
            "C1": 40.142, "C2": 42.908, "C3": 44.564, "C4": 33.580, "C5": 39.197, "C6": 44.889,
            "A1": 0.225, "A2": 0.833, "A3": 45.674,
        },
        ("the paper's mean over C1..C7 is 41.583 (C7 is not quoted per condition)",),
    ),
    Published(
        "paper: W2V2-LCNN, codec-trained",
        "W2V2-LCNN",
        "Codecfake train",
        {
            "C1": 0.030, "C2": 0.151, "C3": 0.144, "C4": 0.113, "C5": 0.635, "C6": 2.185,
            "C3-1": 0.083, "C3-2": 0.144, "C3-3": 0.144, "C3-4": 0.144,
            "C4-1": 0.038, "C4-2": 0.786, "C4-3": 2.192,
            "A1": 0.450, "A2": 1.080, "A3": 37.076,
        },
    ),
    Published(
        "paper: W2V2-AASIST, codec-trained",
        "W2V2-AASIST",
        "Codecfake train",
        {"C1": 0.167, "C2": 0.008, "C3": 0.023, "C4": 0.015, "C5": 0.038, "C6": 0.106, "C7": 0.884},
        ("the paper's CAVG is 0.177",),
    ),
    Published(
        "paper: Mel-LCNN, codec-trained",
        "Mel-LCNN",
        "Codecfake train",
        {"C1": 2.147, "C2": 9.563, "C3": 8.618, "C4": 12.239, "C5": 20.033, "C6": 8.951, "C7": 30.867},
    ),
)  # fmt: skip


def published_record(result: Published) -> dict[str, Any]:
    """A record of the paper's numbers, in the shape ``codecfake eval --record`` writes."""
    rows: list[dict[str, Any]] = [
        {"condition": c, "language": POOLED, "eer": value} for c, value in result.eer.items()
    ]
    for name, members in average_members(result.eer).items():
        mean = sum(result.eer[c] for c in members) / len(members)
        rows.append({"condition": name, "language": POOLED, "eer": mean})
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": result.name,
        "kind": AS_PUBLISHED,
        "source": SOURCE,
        "detector": result.detector,
        "trained_on": result.trained_on,
        "polarity": {"mode": "free", "rule": POLARITY_RULES["free"]},
        "notes": list(result.notes),
        "rows": rows,
    }


def published_records() -> list[dict[str, Any]]:
    return [published_record(result) for result in PUBLISHED]
