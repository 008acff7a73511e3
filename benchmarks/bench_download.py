"""``codecfake download`` throughput (MB/s) against plain ``curl`` of the same files.

A loopback server (its own process, so it shares no interpreter with the downloader) answers the
records API for the release's six record ids and serves a few files of random bytes with
``sendfile``. In the same run, each contender fetches the same files into a fresh folder:
``curl -s -o`` one file after another (twice, before and after, so a warm or cold page cache
favours neither; the better run counts), then ``codecfake download`` with its default
``--jobs`` and with ``--jobs 1``. Our figure includes what curl does not do: listing the records,
md5 while streaming, and an fsync before each rename; the rows ``then sync`` and ``then md5sum``
show what those cost curl. Over loopback the work is all CPU, and md5 alone (printed) is slower
than curl's whole copy: on a machine with a free core per download the hashing runs beside the
transfers, on a busy one it is the ceiling. Over the internet the link is the limit.

    python -m benchmarks.bench_download
    python -m benchmarks.bench_download --files 4 --megabytes 400
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import codecfake_cli
from codecfake_builder.zenodo.records import RECORDS

BIG_RECORD = 13838823  # the test sets' record: the files measured are C1.zip, C2.zip, ...
_RECORD_PATH = re.compile(r"^/api/records/(\d+)$")


class _Handler(SimpleHTTPRequestHandler):
    """Files from the served folder (``/files/<name>``) by ``sendfile``, and the records API."""

    protocol_version = "HTTP/1.1"

    def __init__(self, *args: Any, listings: dict[int, list[dict[str, Any]]], **kwargs: Any):
        self.listings = listings  # before the base class, which handles the request at once
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        match = _RECORD_PATH.match(self.path)
        if match is None:
            super().do_GET()
            return
        body = json.dumps({"files": self.listings.get(int(match[1]), [])}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def copyfile(self, source: Any, outputfile: Any) -> None:
        self.connection.sendfile(source)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _serve(folder: str, files: dict[str, tuple[int, str]], port: Any) -> None:
    """The server process: bind, list the files under the URL it got, tell the port, serve."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        server.RequestHandlerClass = functools.partial(
            _Handler, directory=folder, listings=listings(url, files)
        )
        port.value = server.server_address[1]
        server.serve_forever()


def make_files(folder: Path, count: int, megabytes: int) -> dict[str, tuple[int, str]]:
    """``C1.zip``, ``C2.zip``, ... of random bytes; name -> (size, md5)."""
    files = {}
    block = 1 << 20
    for index in range(1, count + 1):
        name = f"C{index}.zip"
        digest = hashlib.md5(usedforsecurity=False)
        with open(folder / name, "wb") as out:
            for _ in range(megabytes):
                data = os.urandom(block)
                out.write(data)
                digest.update(data)
        files[name] = (megabytes * block, digest.hexdigest())
    (folder / "label.zip").write_bytes(b"labels")  # every other record lists one small file
    files["label.zip"] = (6, hashlib.md5(b"labels", usedforsecurity=False).hexdigest())
    return files


def listings(url: str, files: dict[str, tuple[int, str]]) -> dict[int, list[dict[str, Any]]]:
    def entry(name: str) -> dict[str, Any]:
        size, md5 = files[name]
        return {
            "key": name,
            "size": size,
            "checksum": f"md5:{md5}",
            "links": {"self": f"{url}/files/{name}"},
        }

    big = [entry(name) for name in files if name != "label.zip"]
    return {record: big if record == BIG_RECORD else [entry("label.zip")] for record in RECORDS}


def time_curl(url: str, names: list[str], target: Path, then: tuple[str, ...] = ()) -> float:
    """``curl -s -o`` each file in turn, then ``then`` on the files (``sync``, ``md5sum``)."""
    target.mkdir()
    started = time.perf_counter()
    for name in names:
        subprocess.run(
            ["curl", "-s", "-f", "-o", str(target / name), f"{url}/files/{name}"], check=True
        )
    if then:
        paths = [str(target / name) for name in names] if then[0] == "md5sum" else []
        subprocess.run([*then, *paths], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    return elapsed


def md5_rate(megabytes: int = 256) -> float:
    """MB/s of hashlib's md5 here: the ceiling of any verify-while-streaming download."""
    data = os.urandom(megabytes << 20)
    started = time.perf_counter()
    hashlib.md5(data, usedforsecurity=False)
    return len(data) / 1e6 / (time.perf_counter() - started)


def time_ours(url: str, parts: list[str], target: Path, jobs: int) -> float:
    argv = ["--no-progress", "-q", "download", str(target), "--endpoint", url]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its summary line; the table says it all
        done = codecfake_cli.main([*argv, "--only", ",".join(parts), "--jobs", str(jobs)])
    elapsed = time.perf_counter() - started
    if done != 0:
        raise SystemExit(f"codecfake download failed (exit {done})")
    shutil.rmtree(target)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=4, help="files to serve")
    parser.add_argument("--megabytes", type=int, default=384, help="MiB per file")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("bench_download needs curl on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "served" / "files"
        served.mkdir(parents=True)
        files = make_files(served, args.files, args.megabytes)
        names = [name for name in files if name != "label.zip"]
        megabytes = sum(files[name][0] for name in names) / 1e6
        port = multiprocessing.get_context("spawn").Value("i", 0)
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(str(served.parent), files, port), daemon=True
        )
        server.start()
        while port.value == 0:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port.value}"
        try:
            work = Path(tmp) / "out"
            parts = [name.removesuffix(".zip") for name in names]
            load = os.getloadavg()[0]
            curl_first = time_curl(url, names, work)
            ours = time_ours(url, parts, work, jobs=4)
            ours_one = time_ours(url, parts, work, jobs=1)
            curl_second = time_curl(url, names, work)
            curl_sync = time_curl(url, names, work, ("sync",))
            curl_md5 = time_curl(url, names, work, ("md5sum",))
        finally:
            server.terminate()
    curl = min(curl_first, curl_second)
    print(
        f"{len(names)} files, {megabytes:.0f} MB over loopback, server in its own process; "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; md5 alone: {md5_rate():.0f} MB/s"
    )
    print(f"{'method':<34} {'seconds':>8} {'MB/s':>8} {'vs curl':>8}")
    for label, seconds in [
        ("curl -s -o, sequential (best of 2)", curl),
        ("curl -s -o, then sync", curl_sync),
        ("curl -s -o, then md5sum", curl_md5),
        ("codecfake download --jobs 4", ours),
        ("codecfake download --jobs 1", ours_one),
    ]:
        print(f"{label:<34} {seconds:>8.2f} {megabytes / seconds:>8.1f} {curl / seconds:>7.2f}x")


if __name__ == "__main__":
    main()
