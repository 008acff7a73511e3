"""The plugin route, through a real entry point: a distribution's metadata on sys.path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.plugins import install_plugin

from codecfake_builder.codecs import (
    CodecError,
    installed_plugins,
    load_codec,
    parse_codec_definition,
)
from testkit.codecs_audio import assert_resynthesis, speech_clips

TESTS = Path(__file__).parent


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(TESTS))  # where codecs_plugin_example lives
    return tmp_path


def test_a_registered_plugin_runs_its_condition(site: Path, request: pytest.FixtureRequest) -> None:
    install_plugin(site, {"tinyrvq": "codecs_plugin_example:make_codec"})
    assert "tinyrvq" in installed_plugins()
    spec = parse_codec_definition("C8=tinyrvq@16khz,q2")
    codec = load_codec(spec, weights="random", seed=5)
    clips = speech_clips(request, codec.sample_rate, seconds=1.0)
    outputs = codec.resynthesize(clips)
    assert_resynthesis(clips, outputs)
    again = load_codec(spec, weights="random", seed=5).resynthesize(clips)
    np.testing.assert_array_equal(again[0], outputs[0])
    record = codec.provenance
    assert record["plugin"] == "tiny-codecs==0.1"
    assert record["entry_point"] == "tinyrvq = codecs_plugin_example:make_codec"
    assert record["weights"] == "random" and record["condition"] == "C8"


def test_a_plugin_loads_its_own_checkpoint(site: Path, request: pytest.FixtureRequest) -> None:
    install_plugin(site, {"tinyrvq": "codecs_plugin_example:make_codec"})
    spec = parse_codec_definition("C8=tinyrvq@24khz")
    trained = load_codec(spec, weights="random", seed=1)
    torch.save(trained.model.state_dict(), site / "tinyrvq.pt")
    loaded = load_codec(spec, checkpoint=str(site / "tinyrvq.pt"), seed=2)
    assert loaded.provenance["weights_sha256"] == trained.provenance["weights_sha256"]
    assert loaded.provenance["checkpoint"] == str(site / "tinyrvq.pt")
    clips = speech_clips(request, 24_000, seconds=0.5)
    np.testing.assert_array_equal(loaded.resynthesize(clips)[0], trained.resynthesize(clips)[0])


def test_broken_plugins_are_reported_as_the_plugins_fault(site: Path) -> None:
    (site / "broken_plugin.py").write_text("import not_a_real_dependency\n")
    (site / "wrong_plugin.py").write_text("def make_codec(*args):\n    return object()\n")
    install_plugin(site, {"broken": "broken_plugin:make_codec", "wrong": "wrong_plugin:make_codec"})
    with pytest.raises(CodecError, match="broken plugin 'broken_plugin:make_codec' failed"):
        load_codec(parse_codec_definition("C8=broken@16khz"), weights="random")
    with pytest.raises(CodecError, match="wrong plugin returned object, which lacks"):
        load_codec(parse_codec_definition("C9=wrong@16khz"), weights="random")


def test_a_built_in_family_is_not_taken_over_by_a_plugin(site: Path) -> None:
    """SoundStream has a backend: a plugin registered under its name is not what C1 runs."""
    install_plugin(site, {"soundstream": "codecs_plugin_example:make_codec"})
    codec = load_codec("C1", weights="random")
    assert "plugin" not in codec.provenance
    assert codec.provenance["backend"].startswith("transformers.EncodecModel")


def test_a_plugin_can_bring_a_new_family_as_a_new_condition(site: Path) -> None:
    from codecfake_builder.codecs import release_condition

    install_plugin(site, {"tinyrvq": "codecs_plugin_example:make_codec"})
    codec = load_codec(parse_codec_definition("C8=tinyrvq@16khz,q2"), weights="random")
    assert codec.resynthesize([np.zeros(100, np.float32)])[0].shape == (100,)
    assert release_condition(codec.spec).codec == "tinyrvq"
