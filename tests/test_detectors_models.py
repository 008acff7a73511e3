"""The detectors' front-ends and back-ends: shapes, sizes, and features checked independently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

import codecfake
from codecfake_detectors.models import (
    LCNN,
    MODEL_NAMES,
    OFFICIAL_INPUT_SAMPLES,
    W2VAASIST,
    MelFrontend,
    SSLFrontend,
    build_backend,
    build_detector,
)
from codecfake_detectors.models.mel import mel_filterbank

SMALL_HIDDEN = 32


def n_parameters(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def htk_filterbank_by_hand(n_freqs: int = 257, n_mels: int = 80, rate: int = 16_000) -> np.ndarray:
    """Triangles between consecutive HTK-mel-spaced edges, one filter and one bin at a time."""
    top = 2595 * np.log10(1 + (rate / 2) / 700)
    edges = [700 * (10 ** (top * i / (n_mels + 1) / 2595) - 1) for i in range(n_mels + 2)]
    bank = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        low, centre, high = edges[m : m + 3]
        for k in range(n_freqs):
            f = k * (rate / 2) / (n_freqs - 1)
            if low <= f <= centre:
                bank[k, m] = (f - low) / (centre - low)
            elif centre < f <= high:
                bank[k, m] = (high - f) / (high - centre)
    return bank


def mel_power_by_hand(waveform: np.ndarray) -> np.ndarray:
    """(frames, 80) mel power: numpy frames of a reflect-padded signal, scipy's periodic Hann."""
    padded = np.pad(waveform.astype(np.float64), 256, mode="reflect")
    window = scipy.signal.get_window("hann", 512, fftbins=True)
    starts = range(0, len(padded) - 512 + 1, 128)
    frames = np.stack([padded[s : s + 512] * window for s in starts])
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2 @ htk_filterbank_by_hand()


def test_filterbank_is_the_htk_triangles() -> None:
    ours = mel_filterbank().numpy()
    assert ours.shape == (257, 80)
    np.testing.assert_allclose(ours, htk_filterbank_by_hand(), atol=1e-6)
    # Not normalised (Slaney's area norm would scale wide filters far below 1): peaks reach 1.
    assert ours.max(axis=0)[40:].min() > 0.5 and ours.max() <= 1.0


def test_mel_frontend_matches_a_numpy_stft() -> None:
    waveform = np.random.default_rng(0).normal(0, 0.1, OFFICIAL_INPUT_SAMPLES).astype(np.float32)
    ours = MelFrontend()(torch.from_numpy(waveform)[None])
    assert ours.shape == (1, 1, 505, 80) == (1, 1, *MelFrontend.output_shape)
    expected = mel_power_by_hand(waveform)
    np.testing.assert_allclose(ours[0, 0].numpy(), expected, rtol=1e-4, atol=1e-4 * expected.max())


def test_mel_frontend_keeps_out_of_state_dicts() -> None:
    detector = build_detector("mel-lcnn")
    assert detector.state_dict().keys() == {f"backend.{k}" for k in detector.backend.state_dict()}


def test_published_parameter_counts() -> None:
    assert n_parameters(build_backend("mel-lcnn")) == 972_514
    assert n_parameters(build_backend("w2v2-aasist")) == 447_242
    w2v2_lcnn = build_backend("w2v2-lcnn")
    assert isinstance(w2v2_lcnn, LCNN) and w2v2_lcnn.out[1].in_features == 24_576


@pytest.mark.parametrize(
    ("backend", "shape"),
    [(LCNN((505, 80)), (505, 80)), (LCNN((1024, 201)), (1024, 201)), (W2VAASIST(), (1024, 201))],
    ids=["mel-lcnn", "w2v2-lcnn", "w2v2-aasist"],
)
def test_backends_give_two_logits(backend: torch.nn.Module, shape: tuple[int, int]) -> None:
    logits = backend.eval()(torch.randn(3, 1, *shape))
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()


def save_small_wav2vec2(folder: Path, stable: bool) -> Path:
    """A random-weight Wav2Vec2Model with XLS-R's conv stack (201 frames) but tiny layers."""
    config = Wav2Vec2Config(
        hidden_size=SMALL_HIDDEN,
        num_hidden_layers=7,
        num_attention_heads=2,
        intermediate_size=48,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer" if stable else "group",
        do_stable_layer_norm=stable,
        conv_bias=stable,
    )
    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", params=[True, False], ids=["stable-layer-norm", "post-norm"])
def small_ssl(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_small_wav2vec2(tmp_path_factory.mktemp("ssl"), stable=request.param)


def test_truncated_ssl_equals_full_hidden_state_5(small_ssl: Path) -> None:
    rng = np.random.default_rng(1)
    clips = [rng.normal(0.1, s, OFFICIAL_INPUT_SAMPLES).astype(np.float32) for s in (0.05, 0.3)]
    frontend = SSLFrontend(str(small_ssl))
    assert len(frontend.model.encoder.layers) == 5
    ours = frontend(torch.from_numpy(np.stack(clips)))

    full = Wav2Vec2Model.from_pretrained(small_ssl).eval()
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
    inputs = extractor(clips, sampling_rate=16_000, return_tensors="pt").input_values
    with torch.no_grad():
        outputs = full(inputs, output_hidden_states=True)
    expected = outputs.hidden_states[5]
    assert ours.shape == (2, 1, SMALL_HIDDEN, 201)
    torch.testing.assert_close(ours[:, 0].transpose(1, 2), expected, rtol=1e-5, atol=1e-5)
    # The identity is not vacuous: the neighbouring states differ.
    assert not torch.allclose(outputs.hidden_states[6], expected, atol=1e-3)
    assert not torch.allclose(outputs.last_hidden_state, expected, atol=1e-3)


@pytest.mark.parametrize("name", ["w2v2-lcnn", "w2v2-aasist"])
def test_ssl_frontend_stays_frozen_in_training(small_ssl: Path, name: str) -> None:
    detector = build_detector(name, ssl=str(small_ssl)).train()
    assert detector.name == name and detector.ssl == str(small_ssl)
    assert not detector.frontend.training and detector.backend.training
    assert not any(p.requires_grad for p in detector.frontend.parameters())
    logits = detector(torch.randn(2, OFFICIAL_INPUT_SAMPLES))
    assert logits.shape == (2, 2)
    logits.sum().backward()
    # Every back-end tensor learns, except the authors' unused residual-block bn1.
    learning = {n for n, p in detector.backend.named_parameters() if p.grad is not None}
    assert learning == {n for n, _ in detector.backend.named_parameters() if ".bn1." not in n}
    assert all(p.grad is None for p in detector.frontend.parameters())


def test_model_names_and_their_errors(tmp_path: Path) -> None:
    assert MODEL_NAMES == ("mel-lcnn", "w2v2-lcnn", "w2v2-aasist")
    with pytest.raises(codecfake.CodecfakeError, match="--ssl"):
        build_detector("w2v2-aasist")
    with pytest.raises(codecfake.CodecfakeError, match="unknown model 'lfcc'"):
        build_detector("lfcc")
    with pytest.raises(codecfake.CodecfakeError, match=r"--ssl .*no such folder"):
        build_detector("w2v2-lcnn", ssl=str(tmp_path / "missing"))
    with pytest.raises(codecfake.CodecfakeError, match=r"--ssl 'org/xlsr': not a local folder"):
        build_detector("w2v2-lcnn", ssl="org/xlsr")  # the tests run offline
