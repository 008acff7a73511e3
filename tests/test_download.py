"""``codecfake download`` against a loopback Zenodo that drops, throttles, refuses and corrupts.

Every claim is checked from the server's own request log (which byte ranges were asked for, how
often, with which credentials) and from the bytes that end up in DEST.
"""

from __future__ import annotations

import base64
import email.utils
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import codecfake_cli
from codecfake_builder.zenodo.download import download_release
from codecfake_builder.zenodo.plan import partial_path
from codecfake_builder.zenodo.records import PARTS, parse_record, part_of
from codecfake_builder.zenodo.session import RetryPolicy, ZenodoError, retry_after_seconds
from codecfake_builder.zenodo.stamps import STAMP_FILE
from testkit.zenodo_server import Misbehaviour, ZenodoServer


def _bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# The six real record ids, holding a miniature release laid out as the real one is.
RELEASE: dict[int, dict[str, bytes]] = {
    13838106: {
        "train_split.zip": _bytes(1, 120_000),
        "train_split.z01": _bytes(2, 150_000),
        "label.zip": _bytes(3, 4_000),
    },
    13841652: {"train_split.z02": _bytes(4, 150_000)},
    13853860: {"train_split.z03": _bytes(5, 150_000)},
    13841216: {"dev_split.zip": _bytes(6, 60_000), "dev_split.z01": _bytes(7, 80_000)},
    13838823: {"C1.zip": _bytes(8, 250_000), "A1.zip": _bytes(9, 30_000)},
    11125029: {"C7.zip": _bytes(10, 200_000)},
}
FILES = {name: content for files in RELEASE.values() for name, content in files.items()}
TRAIN = ["train_split.zip", "train_split.z01", "train_split.z02", "train_split.z03"]
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
TEST_RECORD = 13838823  # C1.zip, A1.zip


def cli(server: ZenodoServer | str, dest: Path, *extra: str, flags: tuple[str, ...] = ()) -> int:
    endpoint = server if isinstance(server, str) else server.url
    return codecfake_cli.main([*flags, "download", str(dest), "--endpoint", endpoint, *extra])


def fetch(server: ZenodoServer, dest: Path, parts: list[str] | None = None, **options: object):
    """The library call with quick back-off (Retry-After is still honoured as sent)."""
    return download_release(dest, parts, endpoint=server.url, policy=FAST, **options)


def requested(server: ZenodoServer) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in server.file_requests()]


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("codecfake download: error:")]


def dest_files(dest: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in dest.iterdir() if not p.name.startswith(".")}


@pytest.fixture
def zenodo():
    with ZenodoServer(RELEASE) as server:
        yield server


# ------------------------------------------------------------------------ the whole command


def test_download_fetches_every_file_once_and_verified(zenodo, tmp_path, capsys):
    dest = tmp_path / "zips"
    assert cli(zenodo, dest) == 0
    out, err = capsys.readouterr()

    assert dest_files(dest) == FILES
    assert sorted(requested(zenodo)) == sorted(FILES)  # each file exactly once
    assert all(r.range is None and r.status == 200 for r in zenodo.file_requests())
    assert len(zenodo.api_requests()) == len(RELEASE) + len(FILES)  # records + /content hops
    assert not list(dest.glob(".*.partial"))
    assert (dest / STAMP_FILE).is_file()
    assert f"fetched {len(FILES)} file(s)" in out and "0 already complete" in out
    assert "Traceback" not in err and not error_lines(err)
    assert not zenodo.overflowed


def test_rerun_requests_no_file_at_all(zenodo, tmp_path, capsys):
    dest = tmp_path / "zips"
    assert cli(zenodo, dest) == 0
    files_before = len(zenodo.file_requests())
    capsys.readouterr()

    assert cli(zenodo, dest) == 0
    assert len(zenodo.file_requests()) == files_before  # the stamps vouch for every file
    out = capsys.readouterr().out
    assert f"nothing to fetch: {len(FILES)} already complete" in out


def test_only_fetches_the_named_parts_across_records(zenodo, tmp_path):
    dest = tmp_path / "zips"
    assert cli(zenodo, dest, "--only", "train,C7") == 0
    assert sorted(requested(zenodo)) == sorted([*TRAIN, "C7.zip"])  # train spans three records
    assert dest_files(dest) == {name: FILES[name] for name in [*TRAIN, "C7.zip"]}


def test_only_with_an_unknown_part_is_a_usage_error_listing_the_valid_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli("http://127.0.0.1:9", tmp_path, "--only", "C1,C9")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "C9" in err and ", ".join(PARTS) in err and "Traceback" not in err


def test_dry_run_lists_sizes_and_state_and_fetches_nothing(zenodo, tmp_path, capsys):
    dest = tmp_path / "not-yet"
    assert cli(zenodo, dest, "--dry-run") == 0
    out = capsys.readouterr().out
    assert not dest.exists()  # a dry run creates nothing
    assert zenodo.file_requests() == []
    c1 = next(line for line in out.splitlines() if "C1.zip" in line)
    assert "250.0 kB" in c1 and "(missing)" in c1 and c1.split()[0] == "C1"
    assert f"{len(FILES)} file(s) to fetch" in out and "disk:" in out

    assert cli(zenodo, dest, "--only", "C1") == 0
    capsys.readouterr()
    assert cli(zenodo, dest, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "(complete)" in next(line for line in out.splitlines() if "C1.zip" in line)
    assert f"{len(FILES) - 1} file(s) to fetch" in out
    assert requested(zenodo) == ["C1.zip"]


def test_too_little_disk_is_refused_before_any_file_request(tmp_path, capsys):
    petabyte = 10**15
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(listed_size={"C7.zip": petabyte})) as z:
        assert cli(z, tmp_path / "zips") == 1
        assert z.file_requests() == []
    err = capsys.readouterr().err
    (line,) = error_lines(err)
    assert str(tmp_path / "zips") in line and "not enough free space" in line
    assert "1000.0 TB" in line  # the petabyte C7.zip claims, plus the margin's rounding
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    with ZenodoServer(RELEASE, misbehave=Misbehaviour(listed_size={"C7.zip": petabyte})) as z:
        assert cli(z, tmp_path / "zips", "--dry-run") == 0  # a dry run shows it, and says so
    assert "not enough: free some space" in capsys.readouterr().out


def test_a_file_that_stays_corrupted_stops_with_one_line_naming_it(tmp_path, capsys):
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(corrupt={"C1.zip": -1})) as z:
        assert cli(z, tmp_path, "--only", "C1") == 1
        assert requested(z) == ["C1.zip", "C1.zip"]  # fetched once more, then given up
    (line,) = error_lines(capsys.readouterr().err)
    assert "C1.zip" in line and "after 2 downloads" in line and "rerun later" in line
    assert not (tmp_path / "C1.zip").exists()
    assert not partial_path(tmp_path, "C1.zip").exists()


def test_credentials_in_the_endpoint_are_used_and_never_printed(tmp_path, capsys):
    basic = "Basic " + base64.b64encode(b"user:secret").decode()
    with ZenodoServer(RELEASE) as z:
        endpoint = z.url.replace("http://", "http://user:secret@")
        assert cli(endpoint, tmp_path, "--only", "C1", flags=("-v",)) == 0
        assert {r.authorization for r in z.requests} == {basic}  # files too (same server)
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(missing_records={11125029})) as z:
        endpoint = z.url.replace("http://", "http://user:secret@")
        assert cli(endpoint, tmp_path, "--dry-run", flags=("-v",)) == 1  # record 11125029: 404
    out, err = capsys.readouterr()
    assert "secret" not in out and "secret" not in err
    assert "'endpoint': 'http://***@127.0.0.1" in err  # -v's option dump, masked
    (line,) = error_lines(err)
    assert "http://***@127.0.0.1" in line and "/api/records/11125029" in line
    assert "HTTP 404" in line and line == err.strip().splitlines()[-1]
    assert "Traceback" in err  # -v shows it, masked like every other line


def test_one_progress_bar_for_the_whole_download(zenodo, tmp_path, capsys):
    assert cli(zenodo, tmp_path, "--only", "train,dev", flags=("--progress",)) == 0
    err = capsys.readouterr().err
    bars = [part for part in err.replace("\r", "\n").splitlines() if part.startswith("downloading")]
    assert bars and "100%" in bars[-1]
    assert len({bar.split("/")[-1].split()[0] for bar in bars}) == 1  # one total: one bar

    assert cli(zenodo, tmp_path / "quiet", "--only", "C1", flags=("--no-progress",)) == 0
    assert "downloading" not in capsys.readouterr().err


def test_ctrl_c_leaves_the_partial_file_and_a_rerun_resumes_it(tmp_path):
    size = len(FILES["C1.zip"])
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(slow_after={"C1.zip": 40_000})) as z:
        command = [sys.executable, "-m", "codecfake_cli", "download", str(tmp_path)]
        run = subprocess.Popen(
            [*command, "--only", "C1", "--endpoint", z.url],
            stderr=subprocess.PIPE,
            text=True,
        )
        partial = partial_path(tmp_path, "C1.zip")
        deadline = time.monotonic() + 60
        while not (partial.is_file() and partial.stat().st_size >= 40_000):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
        assert run.returncode == 130
        assert "interrupted; rerun the same command to resume" in err and "Traceback" not in err
        kept = partial.stat().st_size
        assert 40_000 <= kept < size and not (tmp_path / "C1.zip").exists()

        z.misbehave.slow_after.clear()
        fetch(z, tmp_path, ["C1"])
        assert z.file_requests("C1.zip")[-1].range == f"bytes={kept}-"
    assert (tmp_path / "C1.zip").read_bytes() == FILES["C1.zip"]


# ------------------------------------------------------------------------ resuming, verifying


def test_a_dropped_connection_resumes_from_the_bytes_on_disk(tmp_path):
    cuts = [50_003, 60_000, 70_000]
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(drop_after={"C1.zip": list(cuts)})) as z:
        fetch(z, tmp_path, ["C1"])
        ranges = [r.range for r in z.file_requests("C1.zip")]
        assert ranges == [None, "bytes=50003-", "bytes=110003-", "bytes=180003-"]
        assert z.sent_bytes("C1.zip") == len(FILES["C1.zip"])  # no byte fetched twice
    assert (tmp_path / "C1.zip").read_bytes() == FILES["C1.zip"]


def test_a_file_corrupted_once_is_fetched_exactly_once_more_and_ends_verified(tmp_path):
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(corrupt={"A1.zip": 1})) as z:
        result = fetch(z, tmp_path, ["A1"])
        assert [r.range for r in z.file_requests("A1.zip")] == [None, None]  # from byte 0 again
    assert (tmp_path / "A1.zip").read_bytes() == FILES["A1.zip"]
    assert result.summary.received == 2 * len(FILES["A1.zip"])


def test_503_with_retry_after_waits_as_asked_then_succeeds(tmp_path):
    busy = Misbehaviour(errors={"A1.zip": [(503, {"Retry-After": "1"})]})
    with ZenodoServer(RELEASE, misbehave=busy) as z:
        fetch(z, tmp_path, ["A1"])
        first, second = z.file_requests("A1.zip")
    assert (first.status, second.status) == (503, 200)
    assert second.at - first.at >= 1.0  # Retry-After beats the test's 10 ms back-off
    assert (tmp_path / "A1.zip").read_bytes() == FILES["A1.zip"]


def test_429_with_an_http_date_on_the_records_api_is_honoured(tmp_path):
    def two_seconds_on() -> str:
        return email.utils.formatdate(time.time() + 2, usegmt=True)

    limited = Misbehaviour(
        errors={f"record:{TEST_RECORD}": [(429, {"Retry-After": two_seconds_on})]}
    )
    with ZenodoServer(RELEASE, misbehave=limited) as z:
        fetch(z, tmp_path, ["A1"])
        first, second = [r for r in z.api_requests() if r.path.endswith(f"/{TEST_RECORD}")]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # the date is in whole seconds: at least 1 s ahead
    assert (tmp_path / "A1.zip").is_file()


def test_a_server_that_stays_busy_is_given_up_naming_the_url(tmp_path):
    busy = Misbehaviour(errors={"A1.zip": [(500, {})] * 10})
    with ZenodoServer(RELEASE, misbehave=busy) as z, pytest.raises(ZenodoError) as error:
        fetch(z, tmp_path, ["A1"])
    assert len(z.file_requests("A1.zip")) == FAST.attempts
    assert "/files/A1.zip/content: HTTP 500, 3 times in a row" in str(error.value)


def test_a_refused_connection_is_retried_then_reported_in_one_line(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ZenodoError) as error:
        download_release(tmp_path, endpoint=f"http://127.0.0.1:{port}", policy=FAST)
    message = str(error.value)
    assert f"127.0.0.1:{port}/api/records/" in message and "ConnectError" in message
    assert "3 times in a row" in message and "\n" not in message


def test_a_server_ignoring_range_is_restarted_from_zero(tmp_path):
    quirks = Misbehaviour(drop_after={"A1.zip": [10_000]}, ignore_range={"A1.zip"})
    with ZenodoServer(RELEASE, misbehave=quirks) as z:
        fetch(z, tmp_path, ["A1"])
        assert [r.status for r in z.file_requests("A1.zip")] == [200, 200]
        assert z.file_requests("A1.zip")[1].range == "bytes=10000-"
    assert (tmp_path / "A1.zip").read_bytes() == FILES["A1.zip"]


def test_a_server_holding_fewer_bytes_than_listed_is_an_error(tmp_path):
    longer = Misbehaviour(listed_size={"A1.zip": len(FILES["A1.zip"]) + 10})
    with ZenodoServer(RELEASE, misbehave=longer) as z, pytest.raises(ZenodoError) as error:
        fetch(z, tmp_path, ["A1"])
    assert "A1.zip" in str(error.value) and "fewer bytes" in str(error.value)
    assert not (tmp_path / "A1.zip").exists()


def test_a_partial_file_from_an_earlier_run_is_resumed(zenodo, tmp_path):
    partial_path(tmp_path, "C1.zip").write_bytes(FILES["C1.zip"][:12_345])
    fetch(zenodo, tmp_path, ["C1"])
    (only,) = zenodo.file_requests("C1.zip")
    assert only.range == "bytes=12345-" and only.sent == len(FILES["C1.zip"]) - 12_345
    assert (tmp_path / "C1.zip").read_bytes() == FILES["C1.zip"]


def test_a_complete_partial_file_is_verified_and_renamed_without_a_request(zenodo, tmp_path):
    partial_path(tmp_path, "C1.zip").write_bytes(FILES["C1.zip"])  # stopped before the rename
    fetch(zenodo, tmp_path, ["C1"])
    assert zenodo.file_requests() == []
    assert (tmp_path / "C1.zip").read_bytes() == FILES["C1.zip"]
    assert not partial_path(tmp_path, "C1.zip").exists()


def test_a_partial_file_with_wrong_bytes_is_fetched_again_whole(zenodo, tmp_path):
    partial_path(tmp_path, "C1.zip").write_bytes(b"\0" * 12_345)
    fetch(zenodo, tmp_path, ["C1"])
    assert [r.range for r in zenodo.file_requests("C1.zip")] == ["bytes=12345-", None]
    assert (tmp_path / "C1.zip").read_bytes() == FILES["C1.zip"]


def test_a_matching_file_already_there_is_verified_and_not_fetched(zenodo, tmp_path):
    (tmp_path / "C1.zip").write_bytes(FILES["C1.zip"])  # e.g. downloaded by a browser
    fetch(zenodo, tmp_path, ["C1"])
    os.utime(tmp_path / "C1.zip", (1, 1))  # touched: the stamp no longer vouches, a hash does
    fetch(zenodo, tmp_path, ["C1"])
    assert zenodo.file_requests() == []


def test_a_different_file_under_a_release_name_is_kept_and_named(zenodo, tmp_path):
    theirs = b"x" * len(FILES["C1.zip"])
    (tmp_path / "C1.zip").write_bytes(theirs)
    with pytest.raises(ZenodoError) as error:
        fetch(zenodo, tmp_path, ["C1", "A1"])
    assert str(tmp_path / "C1.zip") in str(error.value) and "move or delete it" in str(error.value)
    assert (tmp_path / "C1.zip").read_bytes() == theirs  # never deleted: not ours
    assert zenodo.file_requests() == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a 'disk'")
def test_a_full_disk_mid_write_stops_naming_the_partial_file(zenodo, tmp_path):
    partial_path(tmp_path, "C1.zip").symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(ZenodoError) as error:
        fetch(zenodo, tmp_path, ["C1"])
    message = str(error.value)
    assert message.startswith(str(partial_path(tmp_path, "C1.zip")))
    assert "the disk is full" in message and "resumes" in message


@pytest.mark.parametrize("endpoint", ["http://", "ftp://mirror.example", "http://127.0.0.1:99999"])
def test_an_endpoint_that_is_no_http_url_is_refused_at_once(endpoint, tmp_path, capsys):
    assert cli(endpoint, tmp_path) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert endpoint in line and "https://host[:port]" in line


def test_dest_that_is_a_file_is_refused_before_the_network(tmp_path, capsys):
    dest = tmp_path / "file"
    dest.write_text("mine")
    assert cli("http://127.0.0.1:9", dest) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert str(dest) in line and "not a folder" in line
    assert dest.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_dest_not_writable_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ZenodoError, match="cannot write there"):
        download_release(locked, endpoint="http://127.0.0.1:9", policy=FAST)


# ------------------------------------------------------------------------ units


def test_retry_after_reads_seconds_and_http_dates():
    now = 1_700_000_000.0
    assert retry_after_seconds("1", now) == 1.0
    assert retry_after_seconds(" 120 ", now) == 120.0
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_back_off_doubles_within_bounds_with_jitter_and_obeys_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=100.0)
    rng = random.Random(0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        waits = {policy.delay(failures, None, rng) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits) and len(waits) > 1
    assert policy.delay(1, 42.0, rng) == 42.0
    assert policy.delay(1, 1e6, rng) == 100.0


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("train_split.zip", "train"),
        ("train_split.z01", "train"),
        ("train_split.z16", "train"),
        ("dev_split.zip", "dev"),
        ("dev_split.z02", "dev"),
        ("C1.zip", "C1"),
        ("C7.zip", "C7"),
        ("A3.zip", "A3"),
        ("label.zip", "labels"),
        ("train.txt", "labels"),
    ],
)
def test_each_release_file_maps_to_its_part(name, part):
    assert part_of(name) == part


API = "https://zenodo.example/api/records/7"
MD5 = "0123456789abcdef0123456789abcdef"


def test_the_records_api_is_read_in_each_shape_zenodo_has_used():
    content = f"{API}/files/C1.zip/content"
    current = {"key": "C1.zip", "size": 5, "checksum": f"md5:{MD5}", "links": {"self": content}}
    files_api = {**current, "links": {"self": f"{API}/files/C1.zip", "content": "/dl/C1.zip"}}
    bucket = "https://zenodo.example/api/files/b0c4/C1.zip"
    legacy = {"filename": "C1.zip", "filesize": 5, "checksum": MD5, "links": {"download": bucket}}
    for payload, url in [
        ({"files": [current]}, content),
        ({"files": {"entries": {"C1.zip": files_api}}}, "https://zenodo.example/dl/C1.zip"),
        ({"files": {"entries": [legacy]}}, bucket),
        ({"files": [{**current, "links": {}}]}, content),
        (
            {"files": [{**current, "links": {"self": "https://store.example/C1.zip"}}]},
            "https://store.example/C1.zip",
        ),
    ]:
        (remote,) = parse_record(7, payload, API)
        assert (remote.name, remote.size, remote.md5, remote.url) == ("C1.zip", 5, MD5, url)
        assert remote.part == "C1" and remote.record == 7


def test_endpoint_credentials_follow_only_links_to_the_same_server():
    api = "http://u:p@mirror.example:8080/api/records/7"
    same = {"key": "a.zip", "size": 1, "checksum": f"md5:{MD5}"}
    (here,) = parse_record(
        7, {"files": [{**same, "links": {"self": "http://mirror.example:8080/f"}}]}, api
    )
    (away,) = parse_record(7, {"files": [{**same, "links": {"self": "http://cdn.example/f"}}]}, api)
    assert here.url == "http://u:p@mirror.example:8080/f"
    assert away.url == "http://cdn.example/f"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"key": "C1.zip", "size": 5}, "no md5 checksum"),
        ({"key": "C1.zip", "size": 5, "checksum": "sha256:" + "0" * 64}, "no md5 checksum"),
        ({"key": "../C1.zip", "size": 5, "checksum": f"md5:{MD5}"}, "not a plain file name"),
        ({"key": ".hidden", "size": 5, "checksum": f"md5:{MD5}"}, "not a plain file name"),
        ({"key": "C1.zip", "size": "5", "checksum": f"md5:{MD5}"}, "no valid size"),
    ],
)
def test_a_record_entry_that_cannot_be_verified_or_placed_is_refused(entry, reason):
    with pytest.raises(ZenodoError, match=reason) as error:
        parse_record(7, {"files": [entry]}, API)
    assert API in str(error.value)


def test_a_record_without_checksums_stops_the_command_naming_the_file(tmp_path, capsys):
    with ZenodoServer(RELEASE, misbehave=Misbehaviour(checksum={"A1.zip": None})) as z:
        assert cli(z, tmp_path) == 1
        assert z.file_requests() == []
    (line,) = error_lines(capsys.readouterr().err)
    assert "A1.zip has no md5 checksum" in line and f"/api/records/{TEST_RECORD}" in line
