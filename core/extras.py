"""Which extra brings which optional package: the one table behind every "pip install
'codecfake[...]'" a missing package is answered with.

The core (``pip install codecfake``) reads, prepares, publishes, downloads and evaluates; each
feature beyond it is an extra of setup.cfg, whose ``[options.extras_require]`` is the truth.
:data:`EXTRAS` repeats it as import names, and ``tests/test_packaging.py`` checks the two agree,
so a package moved between extras cannot leave a message naming the wrong one.
"""

from __future__ import annotations

EXTRAS: dict[str, tuple[str, ...]] = {
    "decode": ("torch", "torchcodec"),
    "codecs": ("torch", "transformers"),
    "plot": ("matplotlib",),
    "baseline": ("sklearn", "scipy"),
    "demo": ("torch", "transformers", "sklearn", "scipy", "matplotlib"),
    "detectors": ("torch", "transformers", "safetensors"),
}
"""extra -> the top-level modules it installs beyond the core (its nested extras included)."""

COMMAND_EXTRAS: dict[str, str] = {
    "synthesize": "codecs",
    "codecs": "codecs",
    "merge-shards": "codecs",
    "baseline": "baseline",
    "demo": "demo",
    "train": "detectors",
    "score": "detectors",
    "detect": "detectors",
    "eval": "plot",
}
"""command -> the extra its optional parts come from, first choice when several extras bring the
missing module (torch is in codecs, detectors and decode)."""


def extra_for(module: str, command: str | None = None) -> str | None:
    """The extra that installs ``module`` (a dotted name is taken by its top level): the
    command's own when it has it, else the first that does; ``None`` for a core module."""
    top = module.partition(".")[0]
    preferred = COMMAND_EXTRAS.get(command or "")
    if preferred is not None and top in EXTRAS[preferred]:
        return preferred
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def missing_package_message(error: ImportError, command: str | None = None) -> str | None:
    """One line for a ``ModuleNotFoundError`` of an optional package: what is missing and the
    ``pip install`` that brings it; ``None`` when ``error`` is no such thing (a core package
    missing is a broken install, not a feature left out)."""
    name = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not name:
        return None
    extra = extra_for(name, command)
    if extra is None:
        return None
    top = name.partition(".")[0]
    what = f"'codecfake {command}'" if command else "this"
    return f"{what} needs {top}, which is not installed: pip install 'codecfake[{extra}]'"
