"""Write ``dataset_infos.json``: the features and split sizes of every configuration of the
complete release, generated from :func:`codecfake.dataset_infos` so that it is never typed by hand.

Run ``python -m codecfake_builder.folder.infos`` after changing a fact in ``codecfake.py``; a test checks that the
committed file is what this writes, and that its numbers add up to the paper's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import codecfake

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "dataset_infos.json"


def render() -> str:
    return json.dumps(codecfake.dataset_infos(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path} ({len(codecfake.dataset_infos())} configurations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
