"""Whether a model named by a Hub id can be had here, decided in a second.

``from_pretrained`` on a machine that cannot reach the Hub (a compute node, a sandbox) retries
with back-off for about half a minute before it fails, and only then says why. Where the id is
not a local folder and not in the Hub cache, the Hub is asked for first: with ``HF_HUB_OFFLINE``
set, or no connection within a few seconds, the user hears so at once, with the remedies.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from codecfake import CodecfakeError

from .redact import redact

CONNECT_SECONDS = 3.0


def require_hub_model(name: str, what: str, probe_file: str = "config.json") -> None:
    """Return when ``name`` is a local path, is cached, or the Hub answers; else raise.

    ``what`` names the option for the message (``--ssl``, ``C4 checkpoint``).
    """
    if Path(name).expanduser().exists():
        return
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        if isinstance(try_to_load_from_cache(name, probe_file), str):
            return
    except HFValidationError:  # neither a folder here nor shaped like ORG/NAME
        raise CodecfakeError(
            f"{what} {name!r}: no such folder, and not a Hub id (ORG/NAME) either"
        ) from None
    remedy = (
        "give a local folder (written by save_pretrained, or downloaded on a machine with "
        "network: huggingface-cli download ID --local-dir DIR), or run where the Hub is reachable"
    )
    if constants.HF_HUB_OFFLINE:
        raise CodecfakeError(
            f"{what} {name!r}: not a local folder and not in the Hub cache, and HF_HUB_OFFLINE is "
            f"set; {remedy}"
        )
    endpoint = urlsplit(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "", port), timeout=CONNECT_SECONDS):
            return
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CodecfakeError(
            f"{what} {name!r}: not a local folder and not in the Hub cache, and "
            f"{redact(constants.ENDPOINT)} cannot be reached ({reason}); {remedy}"
        ) from None
