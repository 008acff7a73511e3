"""The neutral foundation every room stands on: atomic I/O, audio decoding, reading a release
(extracted or as its archives), the run's environment, and safe checkpoint reading.

``codecfake_builder`` (making the dataset), ``codecfake_evaluation`` (scoring it) and
``codecfake_detectors`` (the paper's models) all import from here and from :mod:`codecfake`;
nothing here imports them back (``tests/test_layers.py`` holds every package to that).

The names users reach for, imported on first use::

    from codecfake_core import with_fast_audio, decode_audio_bytes
    from codecfake_core import release_conditions, iter_release_clips, ReleaseClip
"""

from __future__ import annotations

from .lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "with_fast_audio": ".audio",
        "decode_audio_bytes": ".audio",
        "release_conditions": ".release",
        "iter_release_clips": ".release",
        "ReleaseClip": ".release",
        "open_release": ".release_source",
        "read_torch_file": ".checkpoints",
    },
    lambda: globals(),
)
