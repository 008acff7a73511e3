"""A model named by a Hub id this machine cannot get fails in a second, with the remedy, instead
of after half a minute of the client's retries."""

from __future__ import annotations

import socket

import pytest

from codecfake import CodecfakeError
from codecfake_core.hub import require_hub_model


def test_a_local_folder_is_taken_as_it_is(tmp_path):
    require_hub_model(str(tmp_path), "--ssl")


def test_offline_mode_is_honoured_before_any_request(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CodecfakeError, match=r"--ssl 'org/model': .*HF_HUB_OFFLINE is set"):
        require_hub_model("org/model", "--ssl")


def test_an_unreachable_hub_is_named_with_the_remedy(monkeypatch):
    from huggingface_hub import constants

    with socket.socket() as closed:  # a loopback port that nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://user:pw@127.0.0.1:{port}")
    with pytest.raises(CodecfakeError) as error:
        require_hub_model("org/model", "C4 checkpoint")
    message = str(error.value)
    assert f"http://***@127.0.0.1:{port} cannot be reached" in message
    assert "give a local folder" in message and "pw" not in message
