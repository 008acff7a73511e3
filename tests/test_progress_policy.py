"""Third-party progress bars follow the package's policy: off in a pipe or a batch log (what
``--progress``/``--no-progress`` and a terminal decide), on again after the command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import codecfake_cli
from testkit.release_factory import make_release


def test_datasets_bars_stay_out_of_a_pipe_and_come_back_after(tmp_path):
    release = make_release(
        tmp_path / "release", conditions=("C1",), with_train=False, with_dev=False
    )
    folder = tmp_path / "codecfake-data"
    assert codecfake_cli.main(["prepare", str(release.root), str(folder)]) == 0
    probe = textwrap.dedent(
        f"""
        import sys
        import datasets
        from codecfake_core.progress import library_bars

        with library_bars(False):
            datasets.load_dataset({str(folder)!r}, "C1", split="test", cache_dir={str(tmp_path / "a")!r})
        print("on after:", datasets.is_progress_bar_enabled(), file=sys.stderr)
        with library_bars(True):
            datasets.load_dataset({str(folder)!r}, "C1", split="test", cache_dir={str(tmp_path / "b")!r})
        """
    )
    # A fresh process whose bars start on, whatever this process's environment holds.
    quiet_variables = {"HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS"}
    env = {k: v for k, v in os.environ.items() if k not in quiet_variables | {"TQDM_DISABLE"}}
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    quiet, _, loud = run.stderr.partition("on after: True")
    assert "Generating test split" not in quiet
    assert "on after: True" in run.stderr  # imported before the block: switched back on
    assert "Generating test split" in loud
