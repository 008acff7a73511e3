"""The restricted torch-file reader: tensors come back, code never runs, and a crafted archive is
refused before its bytes are read into memory."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
import torch
from helpers.codec_references import save_hostile

from codecfake_core.checkpoints import CheckpointError, read_torch_file, strip_data_parallel

INFLATED = 400 * 2**20


def test_nested_dicts_of_tensors_come_back_as_saved(tmp_path):
    saved = {"model": {"generator": {"a.weight": torch.randn(3, 4), "b": torch.arange(5)}}}
    path = tmp_path / "checkpoint.pkl"
    torch.save(saved, path)
    loaded = read_torch_file(path)
    for key, tensor in saved["model"]["generator"].items():
        assert torch.equal(loaded["model"]["generator"][key], tensor)


def test_a_data_parallel_prefix_is_removed_only_when_every_key_has_it():
    state = {"module.a": torch.zeros(1), "module.b": torch.ones(1)}
    assert set(strip_data_parallel(state)) == {"a", "b"}
    assert set(strip_data_parallel({"module.a": torch.zeros(1), "c": torch.ones(1)})) == {
        "module.a",
        "c",
    }


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    path = save_hostile(tmp_path / "hostile.pth", marker, ("model",))
    with pytest.raises(CheckpointError, match=r"asks for the global posix\.system|os\.system"):
        read_torch_file(path)
    assert not marker.exists()


def _inflate_storage(path: Path) -> Path:
    """Rewrite ``path`` (a torch.save file) with its one storage entry deflated from INFLATED
    bytes of zeros: a small file whose storage would take 400 MiB once read."""
    crafted = path.with_name("inflated.pth")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():
            if "/data/" not in info.filename or info.filename.endswith(".pkl"):
                target.writestr(info, source.read(info))
                continue
            storage = zipfile.ZipInfo(info.filename)
            storage.compress_type = zipfile.ZIP_DEFLATED
            with target.open(storage, "w", force_zip64=True) as entry:
                chunk = bytes(2**22)
                for _ in range(INFLATED // len(chunk)):
                    entry.write(chunk)
    assert crafted.stat().st_size < INFLATED // 100
    return crafted


PEAK = """
import json, resource, sys
import torch
from codecfake_core.checkpoints import CheckpointError, read_torch_file
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_torch_file(sys.argv[1])
    outcome = "loaded"
except CheckpointError as error:
    outcome = str(error)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "grew_kib": peak - baseline}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("claimed", ["its own few elements", "every inflated byte"])
def test_an_inflating_storage_is_refused_before_it_is_read(tmp_path, claimed):
    numel = 4 if claimed == "its own few elements" else INFLATED // 4
    original = tmp_path / "original.pth"
    torch.save({"weight": torch.empty(numel)}, original)
    crafted = _inflate_storage(original)
    original.unlink()
    run = subprocess.run(
        [sys.executable, "-c", PEAK, str(crafted)], capture_output=True, text=True, check=True
    )
    result = json.loads(run.stdout)
    assert result["outcome"].startswith(f"{crafted}: cannot read the checkpoint"), result
    assert result["grew_kib"] < 100 * 1024, result


def test_a_truncated_archive_names_the_file(tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"weight": torch.randn(1000)}, path)
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(CheckpointError, match=rf"^{path}: .*re-download it"):
        read_torch_file(path)


def test_plain_pickles_are_not_torch_archives(tmp_path):
    path = tmp_path / "legacy.pkl"
    path.write_bytes(pickle.dumps({"a": 1}) + zlib.compress(b"x"))
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        read_torch_file(path)
