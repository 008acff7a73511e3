"""The checks ``codecfake publish`` runs before any network call (builder/hub/validate.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from helpers.hub_server import HubServer

import codecfake_cli
from codecfake_builder.hub.validate import (
    DatasetFolderError,
    check_dataset_folder,
    validate_dataset_folder,
)

pytest_plugins = ("helpers.publish_fixtures",)  # dataset_folder, hub


def edit_card(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    card = folder / "README.md"
    _, front, body = card.read_text(encoding="utf-8").split("---\n", 2)
    meta = yaml.safe_load(front)
    change(meta)
    card.write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}", encoding="utf-8")


def first_config(meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(configs entry, dataset_info entry) of the card's first configuration."""
    config = meta["configs"][0]
    infos = meta["dataset_info"]
    infos = [infos] if isinstance(infos, dict) else infos
    info = next(i for i in infos if i.get("config_name") == config["config_name"])
    return config, info


def shards(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def test_a_prepared_folder_is_ready(dataset_folder: Path):
    assert validate_dataset_folder(dataset_folder) == []
    check_dataset_folder(dataset_folder)  # does not raise


def test_every_problem_is_listed_at_once_and_nothing_is_sent(
    dataset_folder: Path, hub: HubServer, capsys: pytest.CaptureFixture[str]
):
    names: dict[str, Any] = {}

    def break_card(meta: dict[str, Any]) -> None:
        config, info = first_config(meta)
        names["config"] = config["config_name"]
        first, last = config["data_files"][0], config["data_files"][-1]
        assert first is not last  # a configuration with train and test
        first["path"] = [*first["path"], "data/C9/test/en-*.parquet"]
        names["missing"] = first["split"]
        sizes = next(s for s in info["splits"] if s["name"] == last["split"])
        names["split"], names["rows"] = last["split"], sizes["num_examples"]
        sizes["num_examples"] += 1

    edit_card(dataset_folder, break_card)
    (dataset_folder / "codecfake.py").write_text("# a loading script\n", encoding="utf-8")

    problems = validate_dataset_folder(dataset_folder)
    assert len(problems) == 3, problems
    config, split, rows = names["config"], names["split"], names["rows"]
    assert any(
        f"configuration {config} split {names['missing']}" in p
        and "'data/C9/test/en-*.parquet'" in p
        and "matches no file" in p
        for p in problems
    )
    assert any("codecfake.py" in p and "loading script" in p for p in problems)
    assert any(
        f"{config} {split}: num_examples is {rows + 1:,} but its shards hold {rows:,} rows" in p
        for p in problems
    )

    assert (
        codecfake_cli.main(
            ["publish", str(dataset_folder), "--repo-id", "o/n", "--endpoint", hub.url]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "3 problems" in err and all(p in err for p in problems)
    assert hub.requests == []  # refused before any network call


def test_yaml_that_does_not_parse_is_located(dataset_folder: Path):
    card = dataset_folder / "README.md"
    lines = card.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "pretty_name: Codecfake: the benchmark")  # a second ': ' on line 3
    card.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetFolderError) as error:
        check_dataset_folder(dataset_folder)
    assert error.value.problems == [
        f"{card}:3: the YAML front matter does not parse: mapping values are not allowed here"
    ]


def test_shards_whose_columns_differ_from_the_features_are_named(dataset_folder: Path):
    shard = shards(dataset_folder)[0]
    table = pq.read_table(shard)
    table = table.set_column(
        table.schema.get_field_index("label"),
        "label",
        pa.array([str(v) for v in table["label"].to_pylist()]),
    )
    pq.write_table(table, shard)
    problems = validate_dataset_folder(dataset_folder)
    relative = shard.relative_to(dataset_folder).as_posix()
    assert len(problems) == 1 and problems[0].startswith(f"{relative}: columns")
    assert "label: string" in problems[0] and "label: int64" in problems[0]


def test_unreadable_and_unreferenced_shards_are_reported(dataset_folder: Path):
    shard = shards(dataset_folder)[0]
    shard.write_bytes(shard.read_bytes()[:100])
    (dataset_folder / "data" / "leftover.parquet").write_bytes(
        shards(dataset_folder)[-1].read_bytes()
    )
    problems = validate_dataset_folder(dataset_folder)
    relative = shard.relative_to(dataset_folder).as_posix()
    assert any(p.startswith(f"{relative}: not a readable Parquet file") for p in problems)
    assert any(p.startswith("data/leftover.parquet: no configuration") for p in problems)


def test_a_folder_without_card_or_configs_is_refused(dataset_folder: Path):
    edit_card(dataset_folder, lambda meta: meta.pop("configs"))
    assert any("no 'configs' list" in p for p in validate_dataset_folder(dataset_folder))
    (dataset_folder / "README.md").unlink()
    assert validate_dataset_folder(dataset_folder) == [
        "README.md: missing (the card holds the configurations and split sizes)"
    ]
