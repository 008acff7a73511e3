"""`codecfake prepare --add`: grow a prepared folder by a new condition (C8) without rewriting
a byte of what is there, and with the card saying where the new condition came from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import datasets
import pytest
import yaml

import codecfake
import codecfake_cli
from codecfake_builder.folder.prepare import add_conditions, prepare
from testkit.release_factory import Release, dataset_row_key, make_release, spec_configs

C8 = codecfake.user_condition("C8", "Mimi", sample_rate=24_000, bitrate_kbps=1.1, quantizers=8)
BASE = ("C1", "C7")
SMALL = {"with_train": False, "with_dev": False}
PROVENANCE = {"condition": "C8", "codec": "Mimi", "checkpoint": "kyutai/mimi", "files": []}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def card(folder: Path) -> tuple[dict, str]:
    _, front, body = folder.joinpath("README.md").read_text().split("---", 2)
    return yaml.safe_load(front), body


def sizes(folder: Path) -> dict[str, dict[str, int]]:
    return {
        info["config_name"]: {s["name"]: s["num_examples"] for s in info["splits"]}
        for info in card(folder)[0]["dataset_info"]
    }


@pytest.fixture
def base(tmp_path) -> tuple[Release, Path]:
    release = make_release(tmp_path / "base", conditions=BASE, **SMALL)
    prepare(release.root, tmp_path / "codecfake", progress=False)
    return release, tmp_path / "codecfake"


@pytest.fixture
def c8_release(tmp_path) -> Release:
    release = make_release(tmp_path / "c8", conditions=(), user_conditions=[C8], **SMALL)
    (release.root / "provenance.json").write_text(json.dumps(PROVENANCE))
    return release


def add(release: Release, folder: Path, *extra: str) -> int:
    return codecfake_cli.main(["prepare", str(release.root), str(folder), "--add", *extra])


def test_add_keeps_every_shard_and_adds_the_new_configurations(base, c8_release, tmp_path):
    _, folder = base
    before, sizes_before = digest(folder), sizes(folder)
    assert add(c8_release, folder, "--made-by", "Test Lab", "--checkpoint", "C8=kyutai/mimi") == 0
    after = digest(folder)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"README.md", "codecfake_folder.json"}
    added = set(after) - set(before)
    assert {n for n in added if n.endswith(".parquet")} == {
        "data/C8/test/en-00000-of-00001.parquet",
        "data/C8/test/zh-00000-of-00001.parquet",
    }
    assert len([n for n in added if n.startswith("provenance/")]) == 1
    # the benchmark's configurations are untouched; C8's are new
    now = sizes(folder)
    assert {k: v for k, v in now.items() if k in sizes_before} == sizes_before
    assert set(now) - set(sizes_before) == {"en_C8", "zh_C8", "C8"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "c8", "codecfake"]


def test_a_folder_made_before_keeps_its_conditions_json_manifest(base, c8_release):
    """Folders prepared before the manifest had its own name used ``conditions.json``: they are
    read, and ``--add`` updates that file rather than leave two manifests to publish."""
    from codecfake_core.dataset_folder import (
        LEGACY_MANIFEST,
        MANIFEST,
        FolderManifest,
        is_dataset_folder,
        manifest_path,
    )

    _, folder = base
    new = FolderManifest.read(folder)
    (folder / MANIFEST).rename(folder / LEGACY_MANIFEST)
    assert is_dataset_folder(folder) and manifest_path(folder) == folder / LEGACY_MANIFEST
    assert FolderManifest.read(folder) == new
    before = digest(folder)
    add_conditions(c8_release.root, folder, progress=False)
    after = digest(folder)
    assert {name for name in before if after[name] != before[name]} == {
        "README.md",
        LEGACY_MANIFEST,
    }
    assert not (folder / MANIFEST).exists()
    manifest = json.loads((folder / LEGACY_MANIFEST).read_text())
    assert [c["name"] for c in manifest["conditions"]] == ["C8"]


def test_the_added_condition_loads_and_pairs_with_the_stored_reals(base, c8_release, tmp_path):
    release, folder = base
    assert add(c8_release, folder) == 0
    cache = str(tmp_path / "cache")
    for config, (conditions, languages) in spec_configs(["C8"]).items():
        if config in ("en", "zh", "all"):
            continue
        loaded = datasets.load_dataset(str(folder), config, split="test", cache_dir=cache)
        rows = sorted(dataset_row_key(r) for r in loaded.remove_columns("audio"))
        assert rows == c8_release.expected_rows(conditions, languages)["test"], config
    # every earlier configuration loads exactly as before
    for config, (conditions, languages) in spec_configs(BASE).items():
        loaded = datasets.load_dataset(str(folder), config, cache_dir=cache)
        for split, rows in release.expected_rows(conditions, languages).items():
            assert sorted(dataset_row_key(r) for r in loaded[split].remove_columns("audio")) == rows


def test_the_card_states_where_the_new_condition_came_from(base, c8_release):
    _, folder = base
    assert add(c8_release, folder, "--made-by", "Test Lab", "--checkpoint", "C8=kyutai/mimi") == 0
    _, body = card(folder)
    row = next(line for line in body.splitlines() if line.startswith("| C8 |"))
    assert "Mimi" in row and "24 kHz" in row and "| no |" in row
    assert "made by: Test Lab" in row and "checkpoint: kyutai/mimi" in row
    assert "VCTK: CC BY 4.0; AISHELL-3: Apache-2.0" in row
    link = row.split("](")[1].split(")")[0]
    assert json.loads((folder / link).read_text()) == PROVENANCE
    c1 = next(line for line in body.splitlines() if line.startswith("| C1 |"))
    assert "official Codecfake release" in c1 and "CC BY-NC-ND 4.0" in c1
    manifest = json.loads((folder / "codecfake_folder.json").read_text())
    assert [c["name"] for c in manifest["conditions"]] == ["C8"]


def test_into_aggregates_extends_en_zh_and_all(base, c8_release, tmp_path):
    _, folder = base
    before = sizes(folder)
    assert add(c8_release, folder, "--into-aggregates") == 0
    now = sizes(folder)
    c8_fakes = {
        lang: sum(1 for c in c8_release.stored() if c.condition == "C8" and c.language == lang)
        for lang in ("en", "zh")
    }
    assert now["en"]["test"] == before["en"]["test"] + c8_fakes["en"]
    assert now["zh"]["test"] == before["zh"]["test"] + c8_fakes["zh"]
    assert now["all"]["test"] == before["all"]["test"] + sum(c8_fakes.values())
    loaded = datasets.load_dataset(str(folder), "all", split="test", cache_dir=str(tmp_path / "c"))
    assert len(loaded) == now["all"]["test"]
    _, body = card(folder)
    assert "| yes |" in next(line for line in body.splitlines() if line.startswith("| C8 |"))


def test_adding_what_the_folder_has_is_refused(base, tmp_path, capsys):
    release, folder = base
    before = digest(folder)
    assert add(release, folder) == 1
    err = capsys.readouterr().err
    assert f"adds no condition that {folder} lacks (it already has C1, C7)" in err
    assert digest(folder) == before


def test_new_reals_the_folder_lacks_are_refused(base, tmp_path, capsys):
    _, folder = base
    before = digest(folder)
    wider = make_release(tmp_path / "wider", conditions=(), user_conditions=[C8], n_zh=3, **SMALL)
    assert add(wider, folder) == 1
    err = capsys.readouterr().err
    assert "1 real clips of the release are not in" in err
    assert f"{wider.label_path('C8.txt')}:" in err and "SSB00070203.wav" in err
    assert digest(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "codecfake", "wider"]


def test_add_into_a_folder_prepare_did_not_make_is_refused(c8_release, tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    assert add(c8_release, tmp_path / "plain") == 1
    assert "not a dataset folder made by `codecfake prepare`" in capsys.readouterr().err


def test_preparing_again_over_a_grown_folder_is_refused(base, c8_release, capsys):
    release, folder = base
    assert add(c8_release, folder) == 0
    before = digest(folder)
    rc = codecfake_cli.main(["prepare", str(release.root), str(folder)])
    assert rc == 1
    assert "holds conditions added with --add from other releases" in capsys.readouterr().err
    assert digest(folder) == before


def test_a_shard_folder_left_by_an_interrupted_add_is_named(base, c8_release, capsys):
    _, folder = base
    (folder / "data" / "C8" / "test").mkdir(parents=True)
    assert add(c8_release, folder) == 1
    err = capsys.readouterr().err
    assert (
        f"{folder}: data/C8 is not in codecfake_folder.json" in err and "remove it and rerun" in err
    )


def test_a_release_with_a_new_condition_prepares_it_outside_the_benchmark(tmp_path):
    release = make_release(tmp_path / "rel", conditions=("C1",), user_conditions=[C8], **SMALL)
    report = prepare(release.root, tmp_path / "out", progress=False)
    configs = {c.name: c for c in report.configs}
    assert set(configs) == set(spec_configs(["C1", "C8"]))
    assert configs["all"].config.conditions == tuple(f"C{k}" for k in range(1, 8))
    expected = release.expected_rows({"C1"}, {"en", "zh"})
    assert configs["all"].sizes == {s: len(r) for s, r in expected.items()}
    pooled = prepare(release.root, tmp_path / "pooled", into_aggregates=True, progress=False)
    expected = release.expected_rows({"C1", "C8"}, {"en", "zh"})
    assert {c.name: c for c in pooled.configs}["all"].sizes == {
        s: len(r) for s, r in expected.items()
    }
    manifest = json.loads((tmp_path / "out" / "codecfake_folder.json").read_text())
    assert manifest["provenance"]["C8"]["licence"] == "VCTK: CC BY 4.0; AISHELL-3: Apache-2.0"
    assert codecfake.Condition.from_dict(manifest["conditions"][0]) == C8


def test_the_checkpoint_comes_from_the_builders_provenance_manifest(base, c8_release):
    _, folder = base
    from codecfake_builder.synthesis.provenance import FileRecord

    def record(file: str, condition: str, checkpoint: dict | None) -> FileRecord:
        return FileRecord(
            file=file,
            label="real" if checkpoint is None else "fake",
            idx="0" if checkpoint is None else "8",
            split="test",
            condition=condition,
            utterance="p226_201",
            sha256="00" * 32,
            sample_rate=16_000,
            source={"corpus": "VCTK", "path": "wav48/p226/p226_201.wav", "sha256": "11" * 32},
            codec=None,
            checkpoint=checkpoint,
            weights=None if checkpoint is None else "pretrained",
            device=None if checkpoint is None else "cpu",
            versions={},
        )

    weights = {
        "checkpoint": "kyutai/mimi",
        "weights": "pretrained",
        "weights_sha256": "0123456789abcdef",
    }
    records = [record("F08_x.wav", "C8", weights), record("p226_201.wav", "real", None)]
    lines = "".join(r.to_json() for r in records) + "not json\n"
    (c8_release.root / "provenance.jsonl").write_text(lines)
    assert add(c8_release, folder) == 0
    _, body = card(folder)
    row = next(line for line in body.splitlines() if line.startswith("| C8 |"))
    assert "checkpoint: kyutai/mimi (sha256 0123456789ab)" in row
    assert "provenance.jsonl" in row


def test_an_option_add_cannot_honour_is_refused_not_ignored(base, c8_release, capsys):
    _, folder = base
    before = digest(folder)
    assert add(c8_release, folder, "--no-size-check") == 1
    assert "--no-size-check has no effect with --add" in capsys.readouterr().err
    assert digest(folder) == before
