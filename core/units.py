"""Sizes, durations and rates as every message of the package writes them.

Decimal units (1 GB = 10**9 bytes), as Zenodo, the Hub and ``df -H`` show them, so a size the
user reads here can be compared with theirs directly.
"""

from __future__ import annotations


def format_size(size: float) -> str:
    """``1234567`` -> ``"1.2 MB"``; bytes below 1 kB as a whole number."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """``3725.4`` -> ``"1h02m05s"``; under a minute with one decimal (``"12.3 s"``)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_rate(size: float, seconds: float) -> str:
    """Mean transfer rate, ``"45.6 MB/s"``; ``"-"`` when no time has passed."""
    return f"{format_size(size / seconds)}/s" if seconds > 0 else "-"
