"""SpeechTokenizer (C2) through its PyPI package: round trips where it is installed, and a clear
install message where it is not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codecfake_builder.codecs import CheckpointMismatchError, MissingPackageError, load_codec
from codecfake_builder.codecs.backends.speechtokenizer_codec import SMALL_CONFIG, require_package
from testkit.codecs_audio import assert_resynthesis, speech_clips


def _installed() -> bool:
    try:
        require_package()
    except MissingPackageError:
        return False
    return True


INSTALLED = _installed()
needs_package = pytest.mark.skipif(
    not INSTALLED,
    reason="speechtokenizer is not installed (pip install 'codecfake[speechtokenizer]')",
)


@pytest.mark.skipif(INSTALLED, reason="speechtokenizer is installed here")
def test_missing_package_says_what_to_install() -> None:
    with pytest.raises(
        MissingPackageError, match=r"C2 \(SpeechTokenizer\).*codecfake\[speechtokenizer\]"
    ):
        load_codec("C2", weights="random")


@needs_package
def test_random_weights_round_trip(request: pytest.FixtureRequest) -> None:
    codec = load_codec("C2", weights="random", seed=0)
    clips = speech_clips(request, codec.sample_rate, seconds=0.5)
    outputs = codec.resynthesize(clips)
    assert_resynthesis(clips, outputs)
    again = load_codec("C2", weights="random", seed=0).resynthesize(clips)
    np.testing.assert_array_equal(again[0], outputs[0])
    assert codec.provenance["weights"] == "random" and codec.provenance["quantizers"] == 8


@needs_package
def test_pretrained_folder_and_mismatched_checkpoints(tmp_path, request) -> None:
    import torch

    trained = load_codec("C2", weights="random", seed=4)
    folder = tmp_path / "speechtokenizer_hubert_avg"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(SMALL_CONFIG))
    torch.save(trained.model.state_dict(), folder / "SpeechTokenizer.pt")
    loaded = load_codec("C2", checkpoint=str(folder))
    assert loaded.provenance["weights_sha256"] == trained.provenance["weights_sha256"]
    clips = speech_clips(request, 16_000, seconds=0.5)
    np.testing.assert_allclose(
        loaded.resynthesize(clips)[0], trained.resynthesize(clips)[0], atol=1e-5
    )

    (folder / "config.json").write_text(json.dumps({**SMALL_CONFIG, "dimension": 32}))
    with pytest.raises(CheckpointMismatchError, match=r"do not fit its config\.json"):
        load_codec("C2", checkpoint=str(folder))
    (folder / "config.json").write_text(json.dumps({"model_type": "encodec"}))
    with pytest.raises(CheckpointMismatchError, match="transformers 'encodec' model"):
        load_codec("C2", checkpoint=str(folder))
