"""Each wrapper in codecfake_core.compat, against the installed datasets / huggingface_hub.

The wrappers reach into the libraries' private parts; these tests are where an upgrade that
moves one fails, by the wrapper's name, instead of deep inside ``prepare`` or ``publish``.
"""

from __future__ import annotations

import socket

import datasets
import pytest
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData
from huggingface_hub.utils import filter_repo_objects, get_session

import codecfake
from codecfake_core import compat


def _info(name: str = "en_C3", test_rows: int = 7) -> datasets.DatasetInfo:
    return datasets.DatasetInfo(
        description="real clips + C3 fakes",
        features=codecfake.FEATURES,
        config_name=name,
        splits=datasets.SplitDict(
            {"test": datasets.SplitInfo(name="test", num_examples=test_rows)}
        ),
    )


def test_info_to_yaml_dict_is_the_entry_a_dataset_card_carries() -> None:
    info = _info()
    card = DatasetCardData()
    DatasetInfosDict({"en_C3": info}).to_dataset_card_data(card)  # the public writer
    written = card.to_dict()["dataset_info"]
    assert compat.info_to_yaml_dict(info) == written
    assert written["config_name"] == "en_C3"


def test_info_from_yaml_dict_reads_back_features_and_sizes() -> None:
    entry = compat.info_to_yaml_dict(_info(test_rows=11))
    info = compat.info_from_yaml_dict(entry)
    assert info.features == codecfake.FEATURES
    assert {s.name: s.num_examples for s in info.splits.values()} == {"test": 11}


@pytest.mark.parametrize(
    "data_files",
    [
        None,
        "data/*.parquet",
        ["data/a-*.parquet", "data/b-*.parquet"],
        [{"split": "test", "path": "data/real/test/en-*.parquet"}],
        [{"split": "train", "path": ["data/a/*.parquet", "data/b/*.parquet"]}],
    ],
)
def test_check_data_files_field_accepts_what_datasets_loads(data_files) -> None:
    entry = {"config_name": "en_C3"} | ({} if data_files is None else {"data_files": data_files})
    compat.check_data_files_field(entry)


@pytest.mark.parametrize(
    "data_files",
    [
        3,
        {"split": "test", "path": "x"},
        [{"split": "test"}],
        [{"split": "test", "path": "x", "extra": 1}],
        [{"split": "no-dashes", "path": "x"}],
    ],
)
def test_check_data_files_field_refuses_other_shapes(data_files) -> None:
    with pytest.raises(ValueError):
        compat.check_data_files_field({"config_name": "en_C3", "data_files": data_files})


def test_upload_ignore_patterns_leave_out_git_and_the_local_cache() -> None:
    files = [
        "README.md",
        "data/real/test/en-00000-of-00001.parquet",
        ".git/config",
        "data/.git/HEAD",
        ".cache/huggingface/upload/README.md.metadata",
    ]
    kept = list(filter_repo_objects(files, ignore_patterns=compat.upload_ignore_patterns()))
    assert kept == files[:2]


def test_hub_transport_errors_catch_a_refused_connection(monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the suite runs offline (conftest)
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The client's session itself, not HfApi: no retry back-off to sleep through.
    with pytest.raises(compat.hub_transport_errors()):
        get_session().get(f"http://127.0.0.1:{port}/api/datasets/a/b", timeout=5)
