"""The `Codecfake` builder class reads an extracted release directly, as the issue's definition
requires: the same rows as the prepared folder, in memory and streaming."""

from __future__ import annotations

import datasets
import pytest

import codecfake
from codecfake_builder.hf_builder import Codecfake
from testkit.release_factory import Release, dataset_row_key, make_release, spec_configs

CONDITIONS = ("C3", "C7", "A1", "A3")


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Release:
    return make_release(tmp_path_factory.mktemp("builder") / "release", conditions=CONDITIONS)


@pytest.mark.parametrize("config", ["en_C3", "C7", "en_A1", "A3", "zh"])
def test_the_builder_reads_a_release_into_each_configuration(release, tmp_path, config):
    builder = Codecfake(config_name=config, data_dir=str(release.root), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    expected = release.expected_rows(*spec_configs(CONDITIONS)[config])
    loaded = builder.as_dataset()
    streamed = builder.as_streaming_dataset()
    assert set(loaded) == set(streamed) == set(expected)
    for split, rows in expected.items():
        assert sorted(dataset_row_key(r) for r in loaded[split].remove_columns("audio")) == rows
        raw = streamed[split].cast_column("audio", datasets.Audio(decode=False))
        assert sorted(dataset_row_key(r) for r in raw) == rows
    first = loaded[next(iter(expected))][0]["audio"]
    assert first["sampling_rate"] == codecfake.SAMPLING_RATE


def test_every_configuration_of_the_definition_is_a_builder_configuration():
    configs = Codecfake.BUILDER_CONFIGS
    assert [c.name for c in configs] == list(codecfake.CONFIGS)
    assert all(c.definition is codecfake.CONFIGS[c.name] for c in configs)
    assert all(c.description == c.definition.description for c in configs)
