"""The package's metadata tells the truth: what it imports, what it needs at least, what ships.

* Every third-party import of the installed packages (at the top, inside a function, or a module
  name handed to ``importlib``) is a distribution that setup.cfg declares, in ``install_requires``
  or in an extra, and each extra is the one ``codecfake_core.extras`` names in its messages.
* constraints/minimum.txt pins each lower bound of setup.cfg exactly; scripts/test-minimum.sh
  installs those pins and runs the suite's representative part on them.
* The wheel holds the packages and nothing of the workspace, and runs once installed.

The sources are read with :mod:`ast`, as tests/test_layers.py reads them, so the check needs
nothing installed; a new import of an unknown package fails here, naming the file and line.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from codecfake_core.extras import COMMAND_EXTRAS, EXTRAS, extra_for

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"codecfake", "codecfake_cli", "codecfake_core", "codecfake_builder"}
FIRST_PARTY |= {"codecfake_evaluation", "codecfake_detectors", "codecfake_demo"}

DISTRIBUTION_OF = {
    "datasets": "datasets",
    "httpx2": "httpx2",
    "huggingface_hub": "huggingface-hub",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "safetensors": "safetensors",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "soundfile": "soundfile",
    "soxr": "soxr",
    "torch": "torch",
    "torchcodec": "torchcodec",
    "tqdm": "tqdm",
    "transformers": "transformers",
    "yaml": "pyyaml",
}
"""Top-level import name -> the distribution that installs it (canonical name)."""

TOOLING_EXTRAS = {"test", "docs", "bench"}
"""Extras for working on the package (the suite, the documentation site, the benchmarks), not
features of it."""

MACHINE_PINS = {"torch": "2.13.0", "torchcodec": "0.13.0"}
"""Pinned by the machine, not found by a search: the CPU wheel on disk, and the last torchcodec
that imports beside it."""

WORKSPACE_MARKERS = (b"shared/fixtures", b"shared/docs", b"../shared", b"/work/")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- setup.cfg ------------------------------------------------------------------------------


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>.*)$"
)


def requirement_lines(value: str) -> list[tuple[str, str, list[str]]]:
    """(canonical name, version spec, nested extras) of each line of a requirements value."""
    found = []
    for line in value.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = REQUIREMENT.match(line)
        assert match, f"setup.cfg: cannot read the requirement {line!r}"
        extras = [e.strip() for e in (match["extras"] or "").split(",") if e.strip()]
        found.append((canonical(match["name"]), match["spec"].strip(), extras))
    return found


def core_requirements() -> dict[str, str]:
    return {
        name: spec
        for name, spec, _ in requirement_lines(setup_cfg()["options"]["install_requires"])
    }


def extras_requirements() -> dict[str, list[tuple[str, str, list[str]]]]:
    section = setup_cfg()["options.extras_require"]
    return {extra: requirement_lines(section[extra]) for extra in section}


def expanded(extra: str) -> dict[str, str]:
    """The distributions an extra installs beyond the core, its nested ``codecfake[...]`` too."""
    table = extras_requirements()
    found: dict[str, str] = {}
    for name, spec, nested in table[extra]:
        if name == "codecfake":
            for inner in nested:
                found.update(expanded(inner))
        else:
            found[name] = spec
    return found


def declared() -> dict[str, str]:
    """Every distribution setup.cfg names, core and extras, with where it is declared."""
    where = {name: "install_requires" for name in core_requirements()}
    for extra in extras_requirements():
        for name in expanded(extra):
            where.setdefault(name, f"the '{extra}' extra")
    return where


# --- the sources ----------------------------------------------------------------------------


def installed_files() -> Iterator[Path]:
    """The source files of every package and module setup.cfg installs."""
    options = setup_cfg()["options"]
    for line in options["package_dir"].strip().splitlines():
        yield from sorted((ROOT / line.split("=")[1].strip()).rglob("*.py"))
    for name in options["py_modules"].split():
        yield ROOT / f"{name}.py"


LOADERS = {"import_module", "find_spec", "__import__"}


def third_party_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of each import of a module outside the standard library and the
    package: ``import x``, ``from x import y`` and ``importlib.import_module("x")`` (or
    ``find_spec``) with a literal name, wherever they are written."""
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = (
                function.attr
                if isinstance(function, ast.Attribute)
                else getattr(function, "id", "")
            )
            if called in LOADERS and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        for name in names:
            top = name.split(".")[0]
            if (
                top
                and top not in sys.stdlib_module_names
                and top not in FIRST_PARTY | {"__future__"}
            ):
                yield node.lineno, top


def test_every_third_party_import_is_a_declared_distribution() -> None:
    where = declared()
    problems = []
    for path in installed_files():
        for line, module in third_party_imports(path.read_text(encoding="utf-8")):
            place = f"{path.relative_to(ROOT)}:{line}"
            distribution = DISTRIBUTION_OF.get(module)
            if distribution is None:
                problems.append(
                    f"{place}: imports {module}, a package tests/test_packaging.py does not know: "
                    "declare its distribution in setup.cfg and add it to DISTRIBUTION_OF"
                )
            elif distribution not in where:
                problems.append(
                    f"{place}: imports {module}, but its distribution {distribution} is in neither "
                    "install_requires nor an extra of setup.cfg"
                )
    assert not problems, "\n".join(problems)


def test_the_import_table_agrees_with_the_installed_distributions() -> None:
    """Each known import name is installed by the distribution the table says (where installed)."""
    installed = importlib.metadata.packages_distributions()
    wrong = {
        module: installed[module]
        for module, distribution in DISTRIBUTION_OF.items()
        if module in installed and distribution not in {canonical(d) for d in installed[module]}
    }
    assert wrong == {}


def test_the_import_scan_sees_lazy_imports_and_module_names() -> None:
    source = textwrap.dedent(
        """
        import os, numpy.linalg
        from yaml import safe_load
        from . import sibling
        from codecfake_core import io
        def f():
            import torch
            return importlib.import_module("sklearn.mixture"), find_spec("scipy")
        """
    )
    assert [name for _, name in third_party_imports(source)] == [
        "numpy",
        "yaml",
        "torch",
        "sklearn",
        "scipy",
    ]


def test_the_extras_table_of_the_messages_is_setup_cfgs() -> None:
    """codecfake_core.extras.EXTRAS (what missing-package messages name) lists, for each
    feature extra of setup.cfg, exactly the modules that extra installs beyond the core."""
    import_of = {distribution: module for module, distribution in DISTRIBUTION_OF.items()}
    core = set(core_requirements())
    from_setup = {
        extra: sorted(import_of[name] for name in expanded(extra) if name not in core)
        for extra in extras_requirements()
        if extra not in TOOLING_EXTRAS
    }
    assert {extra: sorted(modules) for extra, modules in EXTRAS.items()} == from_setup
    assert set(COMMAND_EXTRAS.values()) <= set(EXTRAS)


def test_no_requirement_is_declared_twice() -> None:
    """Within the core and within each extra, every distribution once, and none of an extra's
    own lines repeats the core or one of the extras it includes."""
    core = [name for name, _, _ in requirement_lines(setup_cfg()["options"]["install_requires"])]
    assert len(core) == len(set(core))
    for extra, lines in extras_requirements().items():
        own = [name for name, _, _ in lines if name != "codecfake"]
        assert len(own) == len(set(own)), extra
        assert not set(own) & set(core), f"the '{extra}' extra repeats the core"
        nested = {
            n for name, _, inner in lines if name == "codecfake" for e in inner for n in expanded(e)
        }
        assert not set(own) & nested, f"the '{extra}' extra repeats an extra it includes"


def test_optional_packages_missing_are_named_with_their_extra(tmp_path: Path) -> None:
    """With every extra's packages absent, the core commands work, and a command that needs an
    extra says which, in one line, instead of reporting a bug."""
    scores = tmp_path / "C3_result.txt"
    write_scores(scores)
    blocked = sorted({module for modules in EXTRAS.values() for module in modules})
    program = textwrap.dedent(
        f"""
        import sys
        for name in {blocked!r}:
            sys.modules[name] = None  # import of it raises ModuleNotFoundError
        import codecfake_cli
        sys.exit(codecfake_cli.main(sys.argv[1:]))
        """
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", program, *args],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    for args in (["--help"], ["info"], ["codecs"], ["eval", "--bootstrap", "0", str(scores)]):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert "C3" in run("eval", "--bootstrap", "0", str(scores)).stdout
    assert "missing: pip install 'codecfake[codecs]'" in run("codecs").stdout
    for args, extra in [
        (["eval", "--bootstrap", "0", "--det", str(tmp_path / "det.png"), str(scores)], "plot"),
        (["detect", "--model", str(tmp_path / "model"), str(scores)], "detectors"),
        (["train", "--model", "mel-lcnn", "--dataset", str(tmp_path), "--out", "o"], "detectors"),
        (["baseline", "train", "--dataset", str(tmp_path), "--out", "o"], "baseline"),
        (["demo", "--quick", "--out", str(tmp_path / "demo")], "demo"),
    ]:
        done = run(*args)
        last = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 1, (args, done.stderr)
        assert f"pip install 'codecfake[{extra}]'" in last, (args, last)
        assert "bug" not in last


def test_extra_for_prefers_the_commands_own_extra() -> None:
    assert extra_for("torch.nn", "synthesize") == "codecs"
    assert extra_for("torch", "train") == "detectors"
    assert extra_for("sklearn.mixture", "train") == "baseline"
    assert extra_for("numpy", "train") is None


# --- lower bounds ---------------------------------------------------------------------------


def minimum_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "minimum.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints/minimum.txt: {line!r} is not an exact pin"
            pins[canonical(name)] = version.strip()
    return pins


def test_each_lower_bound_is_pinned_by_the_minimum_constraints() -> None:
    """setup.cfg's ``>=`` bounds and constraints/minimum.txt's pins are the same numbers, for
    every requirement that ``.[test]`` installs (what the minimum-versions job installs; the
    docs and bench extras are tooling that the job does not install)."""
    tested = set(core_requirements()) | set(expanded("test"))
    bounds: dict[str, str] = {}
    sections = {"install_requires": requirement_lines(setup_cfg()["options"]["install_requires"])}
    for extra, lines in {**sections, **extras_requirements()}.items():
        for name, spec, _ in lines:
            if name in tested:
                assert bounds.setdefault(name, spec) == spec, f"{name}: two bounds ({extra})"
    lower = {}
    for name, spec in bounds.items():
        match = re.fullmatch(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
        assert match, f"setup.cfg: {name}{spec} is not one lower bound (>=X)"
        lower[name] = match[1]
    assert minimum_pins() == lower
    assert {name: lower[name] for name in MACHINE_PINS} == MACHINE_PINS


def test_no_package_data_is_declared_and_the_packages_hold_only_python() -> None:
    """Nothing but modules ships (no json/yaml read at run time): a data file added to a
    package folder would be left out of the wheel silently, so it fails here instead."""
    config = setup_cfg()
    assert not config.has_section("options.package_data")
    assert not config["options"].getboolean("include_package_data", fallback=False)
    options = config["options"]
    folders = [line.split("=")[1].strip() for line in options["package_dir"].strip().splitlines()]
    others = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert others == []


# --- the wheel ------------------------------------------------------------------------------


def write_scores(path: Path) -> None:
    """A score file of condition C3: reals score 1 and fakes 0, but for one fake scoring 2 and
    one real scoring -1, so the EER of 100 trials each is exactly 1%, at threshold 0."""
    lines = []
    for i in range(100):
        lines.append(f"p225_{i:03d}.wav {-1 if i == 0 else 1} real")
        lines.append(f"F03_p225_{i:03d}.wav {2 if i == 0 else 0} fake")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the working tree (a build leaves build/ and egg-info
    behind) by this interpreter's setuptools, without build isolation: no download."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.fail("the wheel test builds with setuptools (the test extra installs it)")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
        ),
    )
    out = work / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("codecfake-*.whl")
    return built


def workspace_paths_in(name: str, data: bytes) -> list[str]:
    return [f"{name}: {marker.decode()}" for marker in WORKSPACE_MARKERS if marker in data]


@pytest.mark.slow
def test_the_wheel_holds_the_packages_and_nothing_of_the_workspace(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        leaks = [
            leak
            for name in names
            if not name.endswith(".dist-info/METADATA")  # the README: the test below
            for leak in workspace_paths_in(name, archive.read(name))
        ]
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    tops = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert tops == {
        "codecfake.py",
        "codecfake_cli.py",
        "codecfake_core",
        "codecfake_builder",
        "codecfake_evaluation",
        "codecfake_detectors",
        "codecfake_demo",
    }
    assert leaks == []
    assert [n for n in names if not n.endswith(".py") and ".dist-info/" not in n] == []
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    text = metadata.decode()
    assert "License-File: LICENSE" in text
    assert "License: Apache-2.0" in text  # no licence classifier: setuptools deprecates them
    assert "Classifier: Programming Language :: Python :: 3.11" in text
    assert "Classifier: Programming Language :: Python :: 3.12" in text
    assert "Project-URL: Dataset, https://github.com/xieyuankun/Codecfake" in text


@pytest.mark.slow
def test_the_wheels_description_names_no_workspace_path(wheel: Path) -> None:
    """The README is the package's page on an index: a path of this workspace means nothing
    there."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert workspace_paths_in(name, archive.read(name)) == []


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_install_section_names_the_core_dependencies_and_the_extras(page: str) -> None:
    """What a reader is told the core needs, and which extras exist, is setup.cfg's list."""
    text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
    core = re.search(r"The core needs only (.+?)\.", text)
    assert core, f"{page}: no 'The core needs only ...' sentence"
    named = {canonical(n) for n in re.findall(r"`([^`]+)`", core[1]) if " " not in n}
    assert named == set(core_requirements())
    extras = re.search(r"Extras: (.+?) The core", text)
    assert extras, f"{page}: no 'Extras: ...' sentence"
    assert set(re.findall(r"`([a-z]+)` \(", extras[1])) == set(extras_requirements())


@pytest.mark.slow
def test_the_installed_wheel_runs_info_and_eval(wheel: Path, tmp_path: Path) -> None:
    """The wheel installed into a fresh venv runs from there, not from this checkout.

    The venv sees this environment's packages through a path file (no downloads), but not its
    editable codecfake: a plain path entry in a .pth file loads no further .pth files, so the
    editable install's finder never runs there."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "codecfake-test-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}

    def run(*args: str | Path) -> str:
        done = subprocess.run(
            [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = json.loads(
        run(
            python,
            "-c",
            "import json, codecfake, codecfake_core, codecfake_evaluation; print(json.dumps([m.__file__ for m in (codecfake, codecfake_core, codecfake_evaluation)]))",
        )
    )
    assert all(Path(path).is_relative_to(env_dir) for path in where), where
    script = env_dir / "bin" / "codecfake"
    info = run(script, "info")
    assert "Conditions" in info and "Configurations" in info
    assert re.search(r"^\s+C3\s", info, re.MULTILINE)
    scores = cwd / "C3_result.txt"
    write_scores(scores)
    table = run(script, "eval", "--bootstrap", "0", "--json", scores.name)
    (row,) = json.loads(table)
    assert (row["condition"], row["n_real"], row["n_fake"]) == ("C3", 100, 100)
    assert row["eer"] == pytest.approx(1.0)  # percent, as the paper's tables
    assert re.search(
        r"^C3\s+all\s+1\.000\s", run(script, "eval", "--bootstrap", "0", scores.name), re.MULTILINE
    )
