"""What libsndfile's lossy codecs (Opus, MP3) can encode, and the compression level of a bitrate.

libsndfile takes a "compression level" in [0, 1], not a bitrate. Its own mapping is linear
(``ogg_opus.c``: 6 to 256 kbps per channel; ``mpeg_l3_encode.c``: MPEG-1 32..320 kbps at 32 kHz
and up, MPEG-2 8..160 kbps at 16 to 24 kHz, MPEG-2.5 8..64 kbps below), so the level is that
mapping inverted. The registry checks a definition such as ``C9=opus@12kbps`` here when it is
made, and the weight-free backend encodes with the level, so both read one table.
"""

from __future__ import annotations

from .errors import CodecSpecError

OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)


def bitrate_range(family: str, sample_rate: int) -> tuple[float, float]:
    """The kbps libsndfile can encode ``family`` at, at ``sample_rate``."""
    if family == "opus":
        if sample_rate not in OPUS_RATES:
            raise CodecSpecError(f"Opus runs at {OPUS_RATES} Hz, not {sample_rate} Hz")
        return 6.0, 256.0
    if sample_rate >= 32_000:
        return 32.0, 320.0
    if sample_rate >= 16_000:
        return 8.0, 160.0
    return 8.0, 64.0


def compression_level(family: str, sample_rate: int, kbps: float) -> float:
    low, high = bitrate_range(family, sample_rate)
    if not low <= kbps <= high:
        raise CodecSpecError(
            f"{family} at {sample_rate} Hz encodes {low:g} to {high:g} kbps, not {kbps:g}"
        )
    return (high - kbps) / (high - low)
