"""How the Codecfake benchmark is *made*: corpus sources, split plan, codec resynthesis, release
tree, the loadable dataset folder, downloading the release and publishing. Data flows one way
through these modules.

The names users reach for, imported on first use::

    from codecfake_builder import prepare, add_conditions      # release -> dataset folder
    from codecfake_builder import load_codec                   # a codec, to resynthesize/encode
    from codecfake_builder import download_release, Codecfake  # Zenodo; the datasets builder
"""

from __future__ import annotations

from codecfake_core.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "prepare": ".folder.prepare",
        "add_conditions": ".folder.prepare",
        "load_codec": ".codecs.loading",
        "download_release": ".zenodo.download",
        "Codecfake": ".hf_builder",
    },
    lambda: globals(),
)
