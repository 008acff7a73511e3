"""A Zenodo-like HTTP server on loopback, for testing ``codecfake download`` over real sockets.

It answers ``GET /api/records/<id>`` the way Zenodo does (``files`` with ``key``, ``size``,
``checksum: "md5:..."`` and ``links.self`` ending in ``/content``), redirects each ``/content``
URL to a storage path, as Zenodo does, and serves the bytes there with ``Range`` support. On
demand it misbehaves as the real one does: it cuts a transfer after N bytes, answers 429/503
with ``Retry-After``, serves a damaged copy, ignores ``Range``, lists a size or checksum that is
wrong. Every request is logged (path, ``Range`` header, status, body bytes sent), so tests
assert what the client asked for, not what it says it did.

The server is bounded: past ``max_requests`` it stops answering (and :attr:`overflowed` tells),
and it shuts itself down after ``lifetime`` seconds, so a client that loops cannot hang a test.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

_RECORD = re.compile(r"^/api/records/(?P<record>\d+)$")
_CONTENT = re.compile(r"^/api/records/(?P<record>\d+)/files/(?P<name>[^/]+)/content$")
_STORAGE = re.compile(r"^/storage/(?P<record>\d+)/(?P<name>[^/]+)$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    authorization: str | None
    status: int
    sent: int  # body bytes written before the answer ended (or was cut)
    at: float  # time.monotonic() when the request arrived


@dataclass
class Misbehaviour:
    """What the server does wrong, per file name (each list or count is used up in order)."""

    drop_after: dict[str, list[int]] = field(default_factory=dict)
    """Cut the body after this many bytes (of this answer), closing the connection."""
    slow_after: dict[str, int] = field(default_factory=dict)
    """Send this many bytes at once, then the rest 1 KiB at a time every 20 ms (each time)."""
    errors: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    """Answer these statuses (with headers) before serving the file; key ``record:<id>`` for
    the records API. A header value may be a function, called when the answer is sent (an HTTP
    date relative to that moment)."""
    corrupt: dict[str, int] = field(default_factory=dict)
    """Serve a copy with one byte flipped this many times (``-1``: always)."""
    ignore_range: set[str] = field(default_factory=set)
    listed_size: dict[str, int] = field(default_factory=dict)
    """The size the API claims instead of the real one."""
    checksum: dict[str, Any] = field(default_factory=dict)
    """The ``checksum`` value the API gives instead of the real ``md5:...`` (``None`` drops it)."""
    missing_records: set[int] = field(default_factory=set)


class ZenodoServer:
    """``with ZenodoServer({13838823: {"C1.zip": b"..."}}) as zenodo:`` then ``zenodo.url``."""

    def __init__(
        self,
        records: Mapping[int, Mapping[str, bytes]],
        *,
        misbehave: Misbehaviour | None = None,
        max_requests: int = 300,
        lifetime: float = 120.0,
    ):
        self.records = {record: dict(files) for record, files in records.items()}
        self.misbehave = misbehave or Misbehaviour()
        self.max_requests = max_requests
        self.requests: list[Request] = []
        self.overflowed = False
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self._server.shutdown)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ZenodoServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- what tests look at

    def file_requests(self, name: str | None = None) -> list[Request]:
        """Requests for file bytes (storage paths), of ``name`` or of any file."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path.startswith("/storage/") and (name is None or r.path.endswith(f"/{name}"))
            ]

    def api_requests(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if not r.path.startswith("/storage/")]

    def sent_bytes(self, name: str) -> int:
        return sum(r.sent for r in self.file_requests(name))

    # ---------------------------------------------------------------- answers

    def record_json(self, record: int) -> dict[str, Any]:
        files = []
        for name, content in self.records[record].items():
            checksum = self.misbehave.checksum.get(name, f"md5:{hashlib.md5(content).hexdigest()}")
            entry: dict[str, Any] = {
                "id": hashlib.sha1(name.encode()).hexdigest()[:8],
                "key": name,
                "size": self.misbehave.listed_size.get(name, len(content)),
                "links": {"self": f"{self.url}/api/records/{record}/files/{quote(name)}/content"},
            }
            if checksum is not None:
                entry["checksum"] = checksum
            files.append(entry)
        return {"id": record, "metadata": {"title": f"record {record}"}, "files": files}

    def take(self, table: dict[str, Any], key: str) -> Any:
        """Use up the next misbehaviour queued for ``key`` in ``table`` (None when there is none)."""
        with self.lock:
            queue = table.get(key)
            if isinstance(queue, list) and queue:
                return queue.pop(0)
            if isinstance(queue, int) and queue != 0:
                table[key] = queue - 1 if queue > 0 else queue
                return True
        return None

    def count(self) -> bool:
        """Whether this request is within ``max_requests``."""
        with self.lock:
            if len(self.requests) >= self.max_requests:
                self.overflowed = True
                return False
            return True

    def log(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)


def _handler_for(zenodo: ZenodoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            arrived = time.monotonic()
            if not zenodo.count():
                self.close_connection = True
                return
            path = urlsplit(self.path).path
            ranged = self.headers.get("Range")
            for pattern, answer in (
                (_RECORD, self._record),
                (_CONTENT, self._redirect),
                (_STORAGE, self._file),
            ):
                match = pattern.match(path)
                if match:
                    record, name = (
                        int(match["record"]),
                        unquote(match.groupdict().get("name") or ""),
                    )
                    status, sent = answer(record, name, ranged)
                    break
            else:
                status, sent = self._send(404, b'{"status": 404}', {})
            auth = self.headers.get("Authorization")
            zenodo.log(Request("GET", path, ranged, auth, status, sent, arrived))

        def _record(self, record: int, _name: str, _range: str | None) -> tuple[int, int]:
            error = zenodo.take(zenodo.misbehave.errors, f"record:{record}")
            if error:
                return self._send(error[0], b'{"status": "busy"}', error[1])
            if record not in zenodo.records or record in zenodo.misbehave.missing_records:
                return self._send(404, b'{"status": 404, "message": "PID does not exist."}', {})
            payload = json.dumps(zenodo.record_json(record)).encode()
            return self._send(200, payload, {"Content-Type": "application/json"})

        def _redirect(self, record: int, name: str, _range: str | None) -> tuple[int, int]:
            location = f"/storage/{record}/{quote(name)}"
            return self._send(302, b"", {"Location": location})

        def _file(self, record: int, name: str, ranged: str | None) -> tuple[int, int]:
            content = zenodo.records.get(record, {}).get(name)
            if content is None:
                return self._send(404, b"not found", {})
            error = zenodo.take(zenodo.misbehave.errors, name)
            if error:
                return self._send(error[0], b"busy", error[1])
            if zenodo.take(zenodo.misbehave.corrupt, name):
                middle = len(content) // 2
                content = content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :]
            start, status, headers = 0, 200, {"Accept-Ranges": "bytes"}
            match = _RANGE.match(ranged or "")
            if match and name not in zenodo.misbehave.ignore_range:
                start = int(match["start"])
                if start >= len(content):
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(content)}"})
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            body = content[start:]
            cut = zenodo.take(zenodo.misbehave.drop_after, name)
            slow = zenodo.misbehave.slow_after.get(name)
            return self._send(status, body, headers, cut=cut, slow=slow)

        def _send(
            self,
            status: int,
            body: bytes,
            headers: dict[str, Any],
            cut: int | None = None,
            slow: int | None = None,
        ) -> tuple[int, int]:
            self.send_response(status)
            headers = {"Content-Type": "application/octet-stream", **headers}
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value() if callable(value) else value)
            self.end_headers()
            if slow is not None:
                return status, self._trickle(body, slow)
            if cut is None:
                self.wfile.write(body)
                return status, len(body)
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)  # the bytes so far arrive, then the cut
            self.close_connection = True
            return status, min(cut, len(body))

        def _trickle(self, body: bytes, first: int) -> int:
            """Send ``first`` bytes, then 1 KiB every 20 ms; stop when the client goes away."""
            sent = 0
            try:
                self.wfile.write(body[:first])
                sent = min(first, len(body))
                while sent < len(body):
                    time.sleep(0.02)
                    self.wfile.write(body[sent : sent + 1024])
                    self.wfile.flush()
                    sent = min(sent + 1024, len(body))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return sent

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read :attr:`ZenodoServer.requests` instead of stderr."""

    return Handler
