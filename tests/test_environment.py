"""One ``--device`` rule and one set of recorded versions, shared by every room."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

import codecfake
from codecfake import CodecfakeError
from codecfake_core.environment import RECORDED_PACKAGES, package_versions, resolve_device

torch = pytest.importorskip("torch")


def test_cpu_and_torch_spellings_are_accepted() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("cpu:0") == str(torch.device("cpu:0"))
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected


def test_an_absent_cuda_device_is_refused_in_one_line() -> None:
    if torch.cuda.device_count() > 1:
        pytest.skip("this machine has a second CUDA device")
    with pytest.raises(CodecfakeError) as caught:
        resolve_device("cuda:1")
    message = str(caught.value)
    assert message.startswith("--device cuda:1: this machine has no CUDA device 1")
    assert "\n" not in message


def test_absent_or_unknown_devices_are_refused_naming_them() -> None:
    if not torch.backends.mps.is_available():
        with pytest.raises(CodecfakeError, match="--device mps: MPS is not available"):
            resolve_device("mps")
    with pytest.raises(CodecfakeError, match="--device 'gpu1': not a torch device"):
        resolve_device("gpu1")


def test_detectors_get_the_same_rule_as_a_torch_device() -> None:
    from codecfake_detectors.runtime import torch_device

    assert torch_device("cpu") == torch.device("cpu")
    if torch.cuda.device_count() < 2:
        with pytest.raises(CodecfakeError, match="no CUDA device 1"):
            torch_device("cuda:1")


def test_synthesize_takes_a_torch_device_string_and_refuses_an_absent_one(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--device cuda:1`` reaches the device check (no argparse choice refuses it) and ends as
    one line on stderr with exit status 1."""
    from codecfake_cli import main

    if torch.cuda.device_count() > 1:
        pytest.skip("this machine has a second CUDA device")
    command = ["synthesize", "--out", str(tmp_path / "r"), "--vctk", str(tmp_path)]
    command += ["--conditions", "C8", "--codec", "C8=identity", "--device", "cuda:1"]
    assert main(command) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--device cuda:1: this machine has no CUDA device 1" in lines[0]


def test_versions_are_one_set_recorded_alike_by_every_room() -> None:
    from codecfake_builder.codecs import load_codec
    from codecfake_detectors import train
    from codecfake_evaluation import records

    versions = package_versions()
    assert versions["codecfake"] == codecfake.__version__ and versions["numpy"] == np.__version__
    assert versions["torch"] == metadata.version("torch") and "python" in versions
    assert set(versions) <= {"python", *RECORDED_PACKAGES}
    assert "no-such-package-here" not in package_versions("no-such-package-here")
    # a codec's provenance records the same set (and its backend's own package)
    assert load_codec("identity").provenance["versions"] == versions
    assert train.package_versions is package_versions  # the training run's config.json
    assert records.package_versions is package_versions  # an evaluation's result record
