"""Write ``dataset_infos.json``: the features and split sizes of every configuration of the
complete release, generated from the definition in :mod:`codecfake` so that it is never typed by hand.

Run ``python -m codecfake_builder.folder.infos dataset_infos.json`` (from a checkout's root)
after changing a fact in ``codecfake.py``; a test checks that the committed file is what this
writes, and that its numbers add up to the paper's. It writes where it is told, never beside
the installed package.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import codecfake
from codecfake_core.compat import info_to_yaml_dict


def dataset_infos(
    conditions: Mapping[str, codecfake.Condition] = codecfake.CONDITIONS,
) -> dict[str, Any]:
    """The content of ``dataset_infos.json``: features and split sizes of the complete release."""
    import datasets

    infos: dict[str, Any] = {}
    for config in codecfake.build_configs(conditions):
        sizes = config.expected_sizes(conditions)
        info = datasets.DatasetInfo(
            description=config.description,
            citation=codecfake.CITATION,
            homepage=codecfake.HOMEPAGE,
            license=codecfake.LICENSE,
            features=codecfake.FEATURES,
            config_name=config.name,
            splits=datasets.SplitDict(
                {s: datasets.SplitInfo(name=s, num_examples=n) for s, n in sizes.items()}
            ),
        )
        infos[config.name] = info_to_yaml_dict(info)
    return infos


def render() -> str:
    return json.dumps(dataset_infos(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m codecfake_builder.folder.infos PATH (dataset_infos.json)")
        return 2
    path = Path(args[0])
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path} ({len(dataset_infos())} configurations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
