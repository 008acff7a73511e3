"""The published checkpoints: the authors' outputs reproduced, and their pickle never run."""

from __future__ import annotations

import io
import pickle
import pickletools
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import codecfake
from codecfake_core.audio import decode_audio_bytes
from codecfake_detectors.cut import official_cut
from codecfake_detectors.models import build_backend
from codecfake_detectors.models.aasist import (
    GraphAttentionLayer,
    GraphPool,
    HtrgGraphAttentionLayer,
)
from codecfake_detectors.models.lcnn import MaxFeatureMap
from codecfake_detectors.official import detector_from_official, load_official_checkpoint

CHECKPOINTS = ["codec_mellcnn", "codec_w2v2aasist"]
TOLERANCE = 1e-4
# Our class -> the authors' name for it, to write files shaped like the published ones.
AUTHORS_NAMES = {
    "LCNN": "LCNN",
    "W2VAASIST": "W2VAASIST",
    MaxFeatureMap.__name__: "MaxFeatureMap2D",
    "ResidualBlock": "Residual_block",
    GraphAttentionLayer.__name__: "GraphAttentionLayer",
    HtrgGraphAttentionLayer.__name__: "HtrgGraphAttentionLayer",
    GraphPool.__name__: "GraphPool",
}


def reference(folder: Path, model: str) -> dict[str, np.ndarray]:
    with np.load(folder / f"{model}_reference.npz") as npz:
        return dict(npz)


def logits_of(backend: torch.nn.Module, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return backend(torch.from_numpy(inputs)).numpy()


@pytest.mark.parametrize("model", CHECKPOINTS)
def test_reference_logits_from_reference_inputs(official_checkpoints: Path, model: str) -> None:
    backend = load_official_checkpoint(official_checkpoints / f"{model}.pt")
    assert not backend.training
    expected = reference(official_checkpoints, model)
    logits = logits_of(backend, expected["inputs"])
    np.testing.assert_allclose(logits, expected["logits"], rtol=0, atol=TOLERANCE)
    score = torch.softmax(torch.from_numpy(logits), dim=1)[:, 0].numpy()
    np.testing.assert_allclose(score, expected["score"], rtol=0, atol=TOLERANCE)


def test_mel_lcnn_reference_logits_from_the_clips(
    official_checkpoints: Path, vctk_samples: Path
) -> None:
    expected = reference(official_checkpoints, "codec_mellcnn")
    # The package's own decoding (soundfile, soxr to 16 kHz as the official loaders do) and cut.
    clips = [decode_audio_bytes((vctk_samples / name).read_bytes()) for name in expected["files"]]
    waveforms = np.stack([official_cut(clip) for clip in clips])
    detector = detector_from_official(official_checkpoints / "codec_mellcnn.pt")
    assert detector.name == "mel-lcnn" and not detector.training
    with torch.no_grad():
        mel = detector.frontend(torch.from_numpy(waveforms))
        logits = detector(torch.from_numpy(waveforms)).numpy()
    np.testing.assert_allclose(mel.numpy(), expected["inputs"], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(logits, expected["logits"], rtol=0, atol=TOLERANCE)


def write_archive(path: Path, data_pkl: bytes) -> Path:
    """A torch zip archive in the published layout, around the given pickle."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("anti-spoofing_feat_model/data.pkl", data_pkl)
        archive.writestr("anti-spoofing_feat_model/byteorder", sys.byteorder)
    return path


def hostile_pickle(module: str, name: str, argument: str) -> bytes:
    """Protocol 2: GLOBAL module.name, then REDUCE it on (argument,), as a real exploit does."""
    return (
        b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X" + len(argument.encode()).to_bytes(4, "little")
        + argument.encode() + b"\x85R."
    )  # fmt: skip


@pytest.mark.parametrize(
    ("module", "name", "command"),
    [
        ("os", "system", "touch {marker}"),
        ("posix", "system", "touch {marker}"),
        ("builtins", "exec", "open({marker!r}, 'w').close()"),
        ("subprocess", "getoutput", "touch {marker}"),
        ("torch", "load", "{marker}"),
    ],
)
def test_a_pickle_that_would_run_code_is_refused(
    tmp_path: Path, module: str, name: str, command: str
) -> None:
    marker = tmp_path / "pwned"
    data_pkl = hostile_pickle(module, name, command.format(marker=str(marker)))
    opcodes = [op.name for op, _, _ in pickletools.genops(data_pkl)]
    assert opcodes == ["PROTO", "GLOBAL", "BINUNICODE", "TUPLE1", "REDUCE", "STOP"]
    path = write_archive(tmp_path / "anti-spoofing_feat_model.pt", data_pkl)
    with pytest.raises(codecfake.CodecfakeError) as refused:
        load_official_checkpoint(path)
    assert str(path) in str(refused.value) and f"{module}.{name}" in str(refused.value)
    assert not marker.exists()


def test_the_payload_hidden_inside_a_real_module_tree_is_refused(
    official_checkpoints: Path, tmp_path: Path
) -> None:
    """The published pickle with one tensor's rebuild function swapped for ``os.system``."""
    with zipfile.ZipFile(official_checkpoints / "codec_mellcnn.pt") as published:
        data_pkl = published.read("anti-spoofing_feat_model/data.pkl")
    global_op = b"ctorch._utils\n_rebuild_tensor_v2\n"
    assert data_pkl.count(global_op) == 1
    path = write_archive(tmp_path / "tampered.pt", data_pkl.replace(global_op, b"cos\nsystem\n"))
    with pytest.raises(codecfake.CodecfakeError, match=r"tampered\.pt.*os\.system"):
        load_official_checkpoint(path)


def as_authors_module(backend: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give ``backend``'s modules the authors' class names (module ``model``), so torch.save
    writes a whole pickled module just like the published files."""
    authors = types.ModuleType("model")
    monkeypatch.setitem(sys.modules, "model", authors)
    for module in backend.modules():
        ours = type(module)
        if ours.__module__.startswith("codecfake_detectors."):
            name = AUTHORS_NAMES[ours.__name__]
            if not hasattr(authors, name):
                setattr(authors, name, type(name, (ours,), {"__module__": "model"}))
            module.__class__ = getattr(authors, name)


@pytest.mark.parametrize("model", CHECKPOINTS)
def test_a_whole_pickled_data_parallel_module_loads(
    official_checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    backend = load_official_checkpoint(official_checkpoints / f"{model}.pt")
    as_authors_module(backend, monkeypatch)
    path = tmp_path / "anti-spoofing_feat_model.pt"
    wrapped = torch.nn.DataParallel(backend)
    wrapped.src_device_obj = torch.device("cuda", 0)  # as DataParallel records it on a GPU
    torch.save(wrapped, path)
    with zipfile.ZipFile(path) as archive:
        (data_pkl,) = (archive.read(n) for n in archive.namelist() if n.endswith("data.pkl"))
    assert b"DataParallel" in data_pkl and b"cmodel\n" in data_pkl and b"ctorch\ndevice" in data_pkl
    monkeypatch.delitem(sys.modules, "model")  # our loader needs no authors' code

    expected = reference(official_checkpoints, model)
    loaded = load_official_checkpoint(path)
    np.testing.assert_allclose(
        logits_of(loaded, expected["inputs"]), expected["logits"], atol=TOLERANCE
    )


def test_state_dicts_load_too(official_checkpoints: Path, tmp_path: Path) -> None:
    """A DataParallel state dict (torch.save) and a safetensors file of the same tensors."""
    backend = load_official_checkpoint(official_checkpoints / "codec_mellcnn.pt")
    state = backend.state_dict()
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "state.pt")
    safetensors.torch.save_file(state, tmp_path / "model.safetensors")
    expected = reference(official_checkpoints, "codec_mellcnn")
    for name in ("state.pt", "model.safetensors"):
        loaded = load_official_checkpoint(tmp_path / name)
        logits = logits_of(loaded, expected["inputs"])
        np.testing.assert_allclose(logits, expected["logits"], rtol=0, atol=TOLERANCE)


def test_files_that_are_not_detectors_are_user_errors(tmp_path: Path) -> None:
    not_zip = tmp_path / "notes.pt"
    not_zip.write_text("hello")
    with pytest.raises(codecfake.CodecfakeError, match=r"notes\.pt: not a readable torch"):
        load_official_checkpoint(not_zip)
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, other)
    with pytest.raises(codecfake.CodecfakeError, match=r"other\.pt: the tensors .* are not those"):
        load_official_checkpoint(other)
    wrong = tmp_path / "wrong.pt"
    state = build_backend("mel-lcnn").state_dict()
    state["fc_mu.weight"] = torch.zeros(3, 256)
    torch.save(state, wrong)
    with pytest.raises(codecfake.CodecfakeError, match=r"wrong\.pt: the tensors do not fit"):
        load_official_checkpoint(wrong)
    with pytest.raises(codecfake.CodecfakeError, match="no such checkpoint"):
        load_official_checkpoint(tmp_path / "missing.pt")


def test_a_pickle_of_plain_data_is_not_a_checkpoint(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pickle.dump({"x": 1}, buffer, protocol=2)
    path = write_archive(tmp_path / "dict.pt", buffer.getvalue())
    with pytest.raises(codecfake.CodecfakeError, match="holds a dict, not a module"):
        load_official_checkpoint(path)
