"""A codec plugin "installed" the way pip leaves one: a ``.dist-info`` with entry points.

Used by the plugin tests and by every end-to-end test that needs a tiny neural codec under a
real condition name (SoundStream, FunCodec, ...) served by ``tests/codecs_plugin_example.py``.
"""

from __future__ import annotations

from pathlib import Path

from codecfake_builder.codecs import ENTRY_POINT_GROUP


def install_plugin(site: Path, entry_points: dict[str, str], name: str = "tiny-codecs") -> None:
    """Write the .dist-info a `pip install` of a plugin package would leave behind in ``site``."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{family} = {target}\n" for family, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
