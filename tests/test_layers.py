"""The package's layers, held by a test: no module imports a layer above its own.

    codecfake_cli                               the command line
    codecfake_demo                              joins every step; only the command line uses it
    codecfake_builder | codecfake_detectors     make the dataset | the paper's models (independent)
    codecfake_evaluation                        the metric
    codecfake_core                              I/O, audio, reading a release, checkpoints
    codecfake                                   what the benchmark is

Every import counts, wherever it is written: at the top, inside a function (lazy imports, where
upward dependencies used to hide), or as a module path handed to ``importlib`` (a lazy export
table). import-linter takes packages only, and two of the layers are single modules, so the
graph is read here with :mod:`ast`.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    ("codecfake_cli",),
    ("codecfake_demo",),
    ("codecfake_builder", "codecfake_detectors"),
    ("codecfake_evaluation",),
    ("codecfake_core",),
    ("codecfake",),
)
LEVEL = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MODULE_PATH = re.compile(r"^(codecfake(?:_[a-z]+)?)(?:\.[A-Za-z_][\w.]*)?(?::\w+)?$")


def installed_files() -> dict[str, list[Path]]:
    """Each top-level name setup.cfg installs, with its source files."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    options = config["options"]
    folders = dict(line.split(" = ") for line in options["package_dir"].strip().splitlines())
    files = {name: sorted((ROOT / folder).rglob("*.py")) for name, folder in folders.items()}
    files.update({name: [ROOT / f"{name}.py"] for name in options["py_modules"].split()})
    return files


def imported(source: str) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every absolute import, and of every module path in a string."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_PATH.match(node.value)
            if match and match.group(1) in LEVEL and "." in node.value:
                yield node.lineno, match.group(1)


def violations(package: str, path: Path, source: str) -> list[str]:
    """Imports in ``source`` (a module of ``package``) of a layer above it, or of a sibling."""
    found = []
    for line, name in imported(source):
        if name == package or name not in LEVEL:
            continue
        if LEVEL[name] <= LEVEL[package]:
            where = "above" if LEVEL[name] < LEVEL[package] else "beside"
            found.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {name}, {where} it")
    return found


def test_no_module_imports_a_layer_above_or_beside_its_own() -> None:
    found = [
        problem
        for package, files in installed_files().items()
        for path in files
        for problem in violations(package, path, path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_every_installed_package_has_a_layer() -> None:
    assert set(installed_files()) == set(LEVEL)


def test_an_upward_import_anywhere_is_caught(tmp_path: Path) -> None:
    """What the check above reports for the imports that used to hide (a lazy one in a
    function, a lazy export table), written into a core module."""
    source = (ROOT / "core" / "io.py").read_text(encoding="utf-8") + (
        "\n\ndef later():\n    from codecfake_builder.folder import prepare\n"
        '\n_LAZY = {"evaluate": "codecfake_evaluation.api"}\n'
    )
    found = violations("codecfake_core", ROOT / "core" / "io.py", source)
    assert [problem.split(": ", 1)[1] for problem in found] == [
        "codecfake_core imports codecfake_builder, above it",
        "codecfake_core imports codecfake_evaluation, above it",
    ]
    siblings = violations(
        "codecfake_detectors", ROOT / "detectors" / "x.py", "import codecfake_builder"
    )
    assert siblings == [
        "detectors/x.py:1: codecfake_detectors imports codecfake_builder, beside it"
    ]
