"""``codecfake publish`` against a loopback Hub, through the real huggingface_hub client over HTTP."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.hub_server import HubServer, folder_files

import codecfake_cli
from codecfake_builder.hub.publish import format_size

pytest_plugins = ("helpers.publish_fixtures",)  # dataset_folder, hub, instant_retries
ROOT = Path(__file__).resolve().parents[1]
REPO = "codecfake-test/codecfake"


def publish(folder: Path, hub: HubServer, *extra: str) -> int:
    return codecfake_cli.main(
        ["publish", str(folder), "--repo-id", REPO, "--endpoint", hub.url, *extra]
    )


def test_first_publish_sends_every_file_once_shards_before_card(
    dataset_folder: Path, hub: HubServer
):
    assert publish(dataset_folder, hub) == 0

    local = folder_files(dataset_folder)
    assert hub.files(REPO) == local  # every file arrived, byte for byte
    assert sorted(hub.sent_paths()) == sorted(local)  # and each exactly once
    assert len(hub.create_calls) == 1 and list(hub.repos) == [("dataset", REPO)]
    assert hub.commits[-1].files.keys() == {"README.md"}  # the card lands after its shards
    assert "README.md" not in hub.sent_paths(hub.commits[:-1])
    assert not any("xet" in path for _, path in hub.requests)  # inline "regular" uploads only

    commits = len(hub.commits)
    assert publish(dataset_folder, hub) == 0  # nothing changed: nothing sent, no repo call
    assert len(hub.commits) == commits and len(hub.create_calls) == 1


def test_dry_run_lists_files_with_sizes_and_changes_nothing(
    dataset_folder: Path, hub: HubServer, capsys: pytest.CaptureFixture[str]
):
    assert publish(dataset_folder, hub, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"{REPO} will be created" in out
    for path, content in folder_files(dataset_folder).items():
        line = next(line for line in out.splitlines() if line.endswith(f"  {path}"))
        assert line.split()[0] == "upload" and format_size(len(content)) in line
    assert not hub.repos and not hub.commits
    assert {method for method, _ in hub.requests} == {"GET"}

    assert publish(dataset_folder, hub) == 0
    card = dataset_folder / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    extra = dataset_folder / "NOTES.md"
    extra.write_text("notes\n", encoding="utf-8")
    commits, requests = len(hub.commits), len(hub.requests)
    capsys.readouterr()

    assert publish(dataset_folder, hub, "--dry-run") == 0
    actions = {
        line.split()[-1]: line.split()[0]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  ")
    }
    unchanged = [p for p in folder_files(dataset_folder) if p not in {"README.md", "NOTES.md"}]
    assert actions == {"README.md": "update", "NOTES.md": "upload"} | dict.fromkeys(
        unchanged, "skip"
    )
    assert len(hub.commits) == commits
    assert {method for method, _ in hub.requests[requests:]} == {"GET"}


def test_wrong_token_says_what_to_do_and_is_never_shown(
    dataset_folder: Path,
    hub: HubServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    wrong = "hf_wrongTokenAlsoSecret9876543210"
    monkeypatch.setenv("HF_TOKEN", wrong)
    assert publish(dataset_folder, hub) == 1
    err = capsys.readouterr().err
    assert "401" in err and "hf auth login" in err and "HF_TOKEN" in err and "write access" in err
    assert not hub.commits and not hub.repos

    monkeypatch.setenv("HF_TOKEN", hub.token)
    assert publish(dataset_folder, hub) == 0  # the right token works, at DEBUG logging too
    captured = capsys.readouterr()
    for secret in (wrong, hub.token):
        assert secret not in captured.out + captured.err + caplog.text


def test_token_without_write_access_is_told_so(
    dataset_folder: Path, hub: HubServer, capsys: pytest.CaptureFixture[str]
):
    hub.read_only = True
    assert publish(dataset_folder, hub) == 1
    err = capsys.readouterr().err
    assert "403" in err and "write access to 'codecfake-test'" in err


def test_branch_is_created_from_main_and_receives_the_files(dataset_folder: Path, hub: HubServer):
    assert publish(dataset_folder, hub, "--revision", "c8-review", "--private") == 0
    assert hub.repos[("dataset", REPO)].private
    assert hub.files(REPO, "c8-review") == folder_files(dataset_folder)
    assert hub.files(REPO, "main") == {}


def _publish_process(folder: Path, hub: HubServer) -> subprocess.Popen[str]:
    """The real command in its own process, configured the way users do it: by environment."""
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token, "HF_HUB_OFFLINE": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "codecfake_cli", "publish", str(folder), "--repo-id", REPO],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_cut_off_publish_resumes_without_resending_committed_files(
    dataset_folder: Path, hub: HubServer
):
    """The connection dies at the second commit and the process is killed; a rerun finishes."""
    local = folder_files(dataset_folder)
    hub.drop_commits_after = 1
    first = _publish_process(dataset_folder, hub)
    try:
        assert hub.commit_dropped.wait(timeout=120), first.communicate(timeout=10)[0]
    finally:
        first.send_signal(signal.SIGKILL)
        output = first.communicate()[0]
    assert first.returncode == -signal.SIGKILL
    committed = hub.sent_paths()
    assert committed and "README.md" not in hub.files(REPO)  # cut between shards and card
    assert sorted(committed) == sorted(p for p in local if p != "README.md")

    hub.drop_commits_after = None
    before = len(hub.commits)
    second = _publish_process(dataset_folder, hub)
    rerun_output = second.communicate(timeout=120)[0]
    assert second.returncode == 0, rerun_output
    assert hub.sent_paths(hub.commits[before:]) == ["README.md"]  # nothing re-sent
    assert hub.files(REPO) == local
    assert len(hub.create_calls) == 1
    assert f"hub:    {hub.url}" in rerun_output  # HF_ENDPOINT was honoured
    assert hub.token not in output + rerun_output


def test_add_a_codec_then_publish_sends_only_the_new_shards_and_the_card(
    dataset_folder: Path, c8_release: Path, hub: HubServer, tmp_path: Path
):
    assert publish(dataset_folder, hub) == 0
    before = folder_files(dataset_folder)
    assert (
        codecfake_cli.main(
            ["prepare", str(c8_release), str(dataset_folder), "--add", "--made-by", "Test lab"]
        )
        == 0
    )
    after = folder_files(dataset_folder)
    new_shards = {p for p in after if p.startswith("data/C8/")}
    assert new_shards and all(p.endswith(".parquet") for p in new_shards)
    assert all(after[p] == before[p] for p in before if p.endswith(".parquet"))  # untouched
    changed = {p for p in after if after[p] != before.get(p)}

    commits = len(hub.commits)
    assert publish(dataset_folder, hub) == 0
    sent = hub.sent_paths(hub.commits[commits:])
    assert sorted(sent) == sorted(changed)  # each changed file once, nothing else
    assert (
        new_shards | {"README.md"}
        <= set(sent)
        <= new_shards | {"README.md", "codecfake_folder.json"}
    )
    assert sent[-1] == "README.md"
    assert hub.files(REPO) == after

    # What the Hub now holds loads as the new configuration, C8 fakes beside the shared reals.
    import datasets

    mirror = tmp_path / "mirror"
    for path, content in hub.files(REPO).items():
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(content)
    test = datasets.load_dataset(
        str(mirror), "en_C8", split="test", cache_dir=str(tmp_path / "cache")
    )
    rows = test.remove_columns("audio").to_list()
    assert {r["condition"] for r in rows if r["label"] == 1} == {"C8"}
    assert {r["codec"] for r in rows if r["label"] == 1} == {"Mimi"}
    fakes = {r["utterance"] for r in rows if r["label"] == 1}
    reals = {r["utterance"] for r in rows if r["label"] == 0}
    assert fakes and fakes == reals  # every English test utterance, real and resynthesised


def test_without_a_token_or_a_network_nothing_is_tried(
    dataset_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    """HF_HUB_OFFLINE is on here (conftest): a dry run still lists the folder, a publish refuses."""
    from huggingface_hub import constants

    assert constants.is_offline_mode()
    assert codecfake_cli.main(["publish", str(dataset_folder), "--repo-id", REPO, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "could not be checked: OfflineModeIsEnabled" in out
    actions = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert actions == ["upload"] * len(folder_files(dataset_folder))

    assert codecfake_cli.main(["publish", str(dataset_folder), "--repo-id", REPO]) == 1
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
    assert codecfake_cli.main(["publish", str(dataset_folder), "--repo-id", REPO]) == 1
    err = capsys.readouterr().err
    assert "no Hugging Face token found" in err and "hf auth login" in err


def test_a_lost_connection_says_rerun_and_the_rerun_finishes(
    dataset_folder: Path, hub: HubServer, instant_retries: None, capsys: pytest.CaptureFixture[str]
):
    """In-process this time: the client retries the dropped commit (its own loop, without the
    waits), then gives up with a message that says to rerun; the rerun sends the card alone."""
    hub.drop_commits_after = 1
    assert publish(dataset_folder, hub) == 1
    err = capsys.readouterr().err
    assert "lost the connection" in err and "rerun the same command" in err
    assert hub.dropped_commits > 1  # the client did retry before giving up
    sent_before = len(hub.sent_paths())

    hub.drop_commits_after = None
    commits = len(hub.commits)
    assert publish(dataset_folder, hub) == 0
    assert hub.sent_paths(hub.commits[commits:]) == ["README.md"]
    assert sent_before == len(folder_files(dataset_folder)) - 1
    assert hub.files(REPO) == folder_files(dataset_folder)
