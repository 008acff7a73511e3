"""Secrets never printed: credentials in URLs are masked in everything a command prints, by us or
by the libraries it drives, also with ``-v``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers.hub_server import HubServer

from codecfake_core.redact import redact

pytest_plugins = ("helpers.publish_fixtures",)  # dataset_folder

RUN = "import sys, codecfake_cli; sys.exit(codecfake_cli.main(sys.argv[1:]))"
SECRET = "s3cret-Pa55"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:pw@host/x", "http://***@host/x"),
        ("https://token@mirror.org:8443/api", "https://***@mirror.org:8443/api"),
        ("GET https://h/f?token=abc&page=2 failed", "GET https://h/f?token=***&page=2 failed"),
        ("https://h/f?X-Amz-Signature=abc#top", "https://h/f?X-Amz-Signature=***#top"),
        ("https://h/f?page=2&access_token=abc", "https://h/f?page=2&access_token=***"),
        ("mail user@example.org at https://h/x", "mail user@example.org at https://h/x"),
        ("no URL here: a@b", "no URL here: a@b"),
    ],
)
def test_redact_masks_userinfo_and_secret_parameters_only(text, shown):
    assert redact(text) == shown


def test_a_failing_publish_prints_no_secret_anywhere(dataset_folder, tmp_path):
    """A real run, in its own process so that every writer's output is seen: the -v option
    dump, huggingface_hub's own log lines and the error. The Hub refuses the token."""
    with HubServer(token="hf_theRightToken000000000000000000000") as hub:
        endpoint = hub.url.replace("http://", f"http://someone:{SECRET}@")
        env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_aWrongToken00000000000000000"}
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                RUN,
                "-v",
                "publish",
                str(dataset_folder),
                "--repo-id",
                "me/codecfake",
                "--endpoint",
                endpoint,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    printed = run.stdout + run.stderr
    assert run.returncode == 1, printed
    assert hub.requests  # the client did reach the server, with the credentials in its URL
    assert SECRET not in printed
    assert "someone:" not in printed
    assert "http://***@127.0.0.1" in printed  # the endpoint is still shown, masked
    assert "Traceback" in printed  # -v shows the traceback, masked like the rest
