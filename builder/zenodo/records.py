"""The Codecfake release on Zenodo: its six records, what part each file belongs to, and the
records API that lists the files with their sizes and md5 checksums.

Only the record ids and the naming rule of the parts are written here; the files, their sizes,
checksums and URLs always come from the API, so a record the authors re-upload is followed.
The API (``GET {endpoint}/api/records/<id>``) answers ``files: [{key, size, checksum:
"md5:<hex>", links: {self: ".../files/<key>/content"}}]``. Older and newer Zenodo versions spell
some of it differently (``filename``/``filesize``, ``links.download`` or ``links.content``,
``files: {entries: {...}}``, links relative to the API or on another host); all are read.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import codecfake
from codecfake_core.redact import redact

from .session import RetryPolicy, ZenodoError, get_json

if TYPE_CHECKING:
    import httpx2

RECORDS: tuple[int, ...] = (
    13838106,  # train_split.zip, train_split.z01 .. z05, and the label files
    13841652,  # train_split.z06 .. z10
    13853860,  # train_split.z11 .. z16
    13841216,  # dev_split.zip, dev_split.z01, z02
    13838823,  # C1.zip .. C6.zip, A1.zip .. A3.zip
    11125029,  # C7.zip
)
"""The Zenodo records of the release (the official README's list); Zenodo caps a record's size,
so the training set's split archive spans three of them."""

TRAIN = codecfake.RELEASE_SPLIT_DIR["train"]
DEV = codecfake.RELEASE_SPLIT_DIR["validation"]
LABELS = "labels"
TEST_PARTS = tuple(n for n, c in codecfake.CONDITIONS.items() if c.kind in ("codec", "alm"))
PARTS: tuple[str, ...] = (TRAIN, DEV, LABELS, *TEST_PARTS)
"""What ``--only`` takes: the training and development sets (every volume of their split zip
archive, across records), the label files, and one zip per test set (C1..C7, A1..A3)."""

# Info-ZIP split archives: NAME.zip is the last volume, NAME.z01, NAME.z02, ... the others.
_VOLUME = re.compile(rf"^(?P<set>{TRAIN}|{DEV})_split\.(?:zip|z\d{{2,}})$")
_TEST_ZIP = re.compile(r"^(?P<set>[CA]\d+)\.zip$")
_log = logging.getLogger("codecfake")


@dataclass(frozen=True)
class RemoteFile:
    """One file of the release as Zenodo lists it, and the part it belongs to."""

    name: str
    size: int
    md5: str
    url: str
    record: int
    part: str


def part_of(name: str) -> str:
    """The part a release file belongs to: ``train_split.z07`` -> ``train``, ``C3.zip`` ->
    ``C3``; anything else in the records (the label files) -> ``labels``."""
    volume = _VOLUME.match(name)
    if volume:
        return volume["set"]
    test = _TEST_ZIP.match(name)
    if test and test["set"] in TEST_PARTS:
        return test["set"]
    return LABELS


def record_url(endpoint: str, record: int) -> str:
    return f"{endpoint.rstrip('/')}/api/records/{record}"


def parse_record(record: int, payload: object, api_url: str) -> list[RemoteFile]:
    """The files a record's API answer lists, each checked to be downloadable and verifiable."""
    entries = _file_entries(payload)
    if not entries:
        raise ZenodoError(
            redact(f"{api_url}: record {record} lists no files; check --endpoint and the record id")
        )
    return [_remote_file(record, entry, api_url) for entry in entries]


def _file_entries(payload: object) -> list[Mapping[str, Any]]:
    files = payload.get("files") if isinstance(payload, Mapping) else None
    if isinstance(files, Mapping):  # InvenioRDM's own shape: {"entries": {key: entry} or [...]}
        files = files.get("entries")
        if isinstance(files, Mapping):
            files = list(files.values())
    if not isinstance(files, list):
        return []
    return [entry for entry in files if isinstance(entry, Mapping)]


def _remote_file(record: int, entry: Mapping[str, Any], api_url: str) -> RemoteFile:
    name = entry.get("key") or entry.get("filename")
    where = redact(f"{api_url}: record {record}")
    if not isinstance(name, str) or not _plain_name(name):
        raise ZenodoError(f"{where} lists a file named {name!r}, which is not a plain file name")
    size = entry.get("size", entry.get("filesize"))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ZenodoError(f"{where}: {name} has no valid size ({size!r}); rerun later")
    md5 = _md5(entry.get("checksum"))
    if md5 is None:
        raise ZenodoError(
            f"{where}: {name} has no md5 checksum ({entry.get('checksum')!r}), so its download "
            "could not be verified; rerun later, or report it to the dataset's authors"
        )
    links = entry.get("links") if isinstance(entry.get("links"), Mapping) else {}
    # links.self is the content URL in the records API and the metadata URL in the files API
    link = links.get("content") or links.get("self") or links.get("download")
    if not isinstance(link, str):
        link = f"{api_url}/files/{quote(name)}/content"
    url = _with_credentials(urljoin(api_url, link), api_url)
    return RemoteFile(name, size, md5, url, record, part_of(name))


def _with_credentials(url: str, api_url: str) -> str:
    """``url`` with the API URL's credentials when both are on one server (a mirror behind a
    password lists its files without them); never added for another host."""
    file, api = urlsplit(url), urlsplit(api_url)
    same_server = (file.scheme, file.hostname, file.port) == (api.scheme, api.hostname, api.port)
    if not same_server or file.username is not None or api.username is None:
        return url
    userinfo = api.netloc.rpartition("@")[0]
    return urlunsplit(file._replace(netloc=f"{userinfo}@{file.netloc}"))


def _plain_name(name: str) -> bool:
    """A name safe to create in DEST: no folders, not hidden (our partial files are)."""
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0")


def _md5(checksum: object) -> str | None:
    if not isinstance(checksum, str):
        return None
    algorithm, _, value = checksum.rpartition(":")
    value = value.strip().lower()
    if algorithm.lower() not in ("", "md5") or not re.fullmatch(r"[0-9a-f]{32}", value):
        return None
    return value


def list_release(
    client: httpx2.Client,
    endpoint: str,
    policy: RetryPolicy,
    stop: threading.Event,
    rng: random.Random,
) -> list[RemoteFile]:
    """Every file of the release's records from the API, in record order, each name once."""
    files: dict[str, RemoteFile] = {}
    for record in RECORDS:
        url = record_url(endpoint, record)
        payload = get_json(client, url, f"record {record}", policy, stop, rng)
        listed = parse_record(record, payload, url)
        _log.debug("record %d: %d files", record, len(listed))
        for remote in listed:
            seen = files.setdefault(remote.name, remote)
            if seen.md5 != remote.md5:
                raise ZenodoError(
                    f"{remote.name} is in records {seen.record} and {record} with different "
                    "content; report it to the dataset's authors"
                )
    return list(files.values())


def select(files: Iterable[RemoteFile], parts: Iterable[str] | None) -> list[RemoteFile]:
    """The files of ``parts`` (all when ``None``); a part with no file is an error, since the
    user asked for it by name."""
    files = list(files)
    if parts is None:
        return files
    wanted = list(dict.fromkeys(parts))
    chosen = [f for f in files if f.part in wanted]
    empty = [p for p in wanted if not any(f.part == p for f in chosen)]
    if empty:
        raise ZenodoError(
            f"no file of {', '.join(empty)} in the records; check --endpoint, or whether the "
            "release moved"
        )
    return chosen
