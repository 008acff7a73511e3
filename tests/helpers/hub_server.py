"""A Hub-compatible HTTP server on loopback, for testing ``codecfake publish`` with the real client.

It answers the endpoints ``HfApi.create_repo``, ``create_branch``, ``upload_folder`` (preupload +
commit), ``repo_info`` and ``list_repo_tree`` call in huggingface_hub 2.4, keeps every repository
in memory, and records what it receives so tests can check the bytes and the commits themselves.

Preupload marks every file ``regular``: the client then sends contents inline (base64 in the commit
ndjson) instead of through hf_xet, so no Xet storage is needed. It also returns each existing file's
git blob id as ``oid``, which is how the real Hub lets the client skip files that are already
committed; that is what makes a rerun after a cut-off resume instead of re-sending.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
_REPO_API = re.compile(
    r"^/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
    r"(?:/(?P<action>preupload|commit|revision|tree|branch)(?:/(?P<rest>.*))?)?$"
)


def git_blob_id(content: bytes) -> str:
    """The git object id of a blob: what the Hub reports as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def folder_files(folder: Path) -> dict[str, bytes]:
    """A local folder in the shape of :meth:`HubServer.files`, to compare the two directly."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@dataclass
class Commit:
    """One commit as the server received it: the files it added (path -> bytes) and deleted."""

    repo_id: str
    revision: str
    summary: str
    oid: str
    files: dict[str, bytes] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    branches: dict[str, dict[str, bytes]] = field(default_factory=lambda: {"main": {}})
    heads: dict[str, str] = field(default_factory=lambda: {"main": "0" * 40})


class HubServer:
    """``with HubServer(token=...) as hub:`` then point the client at ``hub.url``.

    ``token``: when set, every request must carry it (``Authorization: Bearer``), else 401 with the
    Hub's own "invalid credentials" message. ``read_only``: the token may read but not write (403
    on create/commit, as for a token without write access to the organisation).
    ``drop_commits_after``: after that many commits, each further commit request is read in full and
    then its connection is closed without an answer, as when a network cut hits mid-publish;
    :attr:`commit_dropped` is set when that happens.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        read_only: bool = False,
        drop_commits_after: int | None = None,
    ):
        self.token = token
        self.read_only = read_only
        self.drop_commits_after = drop_commits_after
        self.repos: dict[tuple[str, str], Repo] = {}
        self.commits: list[Commit] = []
        self.create_calls: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.dropped_commits = 0
        self.commit_dropped = threading.Event()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- what tests look at

    def files(
        self, repo_id: str, revision: str = "main", repo_type: str = "dataset"
    ) -> dict[str, bytes]:
        """The files of a branch as they are now (path -> bytes)."""
        return dict(self.repos[(repo_type, repo_id)].branches[revision])

    def sent_paths(self, commits: list[Commit] | None = None) -> list[str]:
        """Every file path that arrived in a commit, in order, repeats included."""
        return [path for c in (self.commits if commits is None else commits) for path in c.files]

    # ---------------------------------------------------------------- request handling

    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict]:
        """(status, JSON body or bytes, extra headers) for one request; see :func:`_handler_for`."""
        url = urlsplit(raw_path)
        path = url.path
        query = parse_qs(url.query)
        with self.lock:
            self.requests.append((method, path))
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error": INVALID_CREDENTIALS}, {"X-Error-Message": INVALID_CREDENTIALS}
        if method == "POST" and path == "/api/repos/create":
            return self._create_repo(json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return 200, {"errors": [], "warnings": []}, {}
        match = _REPO_API.match(path)
        if not match:
            return 404, {"error": f"no route {method} {path}"}, {}
        repo_type = match["type"][:-1]
        repo = self.repos.get((repo_type, match["repo"]))
        if repo is None:
            return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
        action, rest = match["action"], match["rest"] or ""
        revision, _, sub_path = rest.partition("/")
        revision = unquote(revision) or "main"
        if action in {"preupload", "commit", "branch"} and self.read_only:
            return 403, {"error": "You don't have the rights to write here"}, {}
        if action == "branch":
            return self._create_branch(repo, revision)
        if action is not None and revision not in repo.branches:
            return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
        if action == "preupload":
            return self._preupload(repo, revision, json.loads(body))
        if action == "commit":
            return self._commit(repo, revision, body)
        if action == "tree":
            recursive = query.get("recursive", ["False"])[0].lower() == "true"
            return 200, self._tree(repo, revision, unquote(sub_path), recursive), {}
        return 200, self._info(repo, revision if action == "revision" else "main"), {}

    def _create_repo(self, payload: dict[str, Any]) -> tuple[int, Any, dict]:
        if self.read_only:
            return 403, {"error": "You don't have the rights to create a dataset here"}, {}
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = {"url": f"{self.url}/{prefix}{repo_id}"}
        with self.lock:
            self.create_calls.append(payload)
            if (repo_type, repo_id) in self.repos:
                return 409, {"error": "You already created this repo", **url}, {}
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
        return 200, url, {}

    def _create_branch(self, repo: Repo, branch: str) -> tuple[int, Any, dict]:
        with self.lock:
            if branch in repo.branches:
                return 409, {"error": "Branch already exists"}, {}
            repo.branches[branch] = dict(repo.branches["main"])
            repo.heads[branch] = repo.heads["main"]
        return 200, {}, {}

    def _preupload(self, repo: Repo, revision: str, payload: dict) -> tuple[int, Any, dict]:
        existing = repo.branches[revision]
        files = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_id(existing[f["path"]]) if f["path"] in existing else None,
            }
            for f in payload["files"]
        ]
        return 200, {"files": files}, {}

    def _commit(self, repo: Repo, revision: str, body: bytes) -> tuple[int, Any, dict]:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        with self.lock:
            done = sum(1 for c in self.commits if c.repo_id == repo.repo_id)
            if self.drop_commits_after is not None and done >= self.drop_commits_after:
                self.dropped_commits += 1
                self.commit_dropped.set()
                return 0, None, {}  # the handler closes the connection without an answer
            header = next(line["value"] for line in lines if line["key"] == "header")
            parent = header.get("parentCommit")
            if parent and not repo.heads[revision].startswith(parent):
                return 412, {"error": "A commit has happened since"}, {}
            tree = repo.branches[revision]
            commit = Commit(repo.repo_id, revision, header["summary"], oid="")
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    commit.files[value["path"]] = base64.b64decode(value["content"])
                elif line["key"] == "deletedFile":
                    commit.deleted.append(value["path"])
                elif line["key"] != "header":
                    return 400, {"error": f"unsupported commit operation {line['key']}"}, {}
            tree.update(commit.files)
            for deleted in commit.deleted:
                tree.pop(deleted, None)
            commit.oid = hashlib.sha1(
                f"{repo.heads[revision]}{len(self.commits)}".encode()
            ).hexdigest()
            repo.heads[revision] = commit.oid
            self.commits.append(commit)
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return (
            200,
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.url}/{prefix}{repo.repo_id}/commit/{commit.oid}",
                "pullRequestUrl": None,
            },
            {},
        )

    def _tree(self, repo: Repo, revision: str, folder: str, recursive: bool) -> list[dict]:
        prefix = f"{folder.strip('/')}/" if folder else ""
        entries: dict[str, dict] = {}
        for path, content in sorted(repo.branches[revision].items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :].split("/")
            if recursive:  # every folder on the way, then the file
                for depth in range(1, len(rest)):
                    sub = prefix + "/".join(rest[:depth])
                    entries.setdefault(sub, {"type": "directory", "path": sub, "oid": "0" * 40})
            elif len(rest) > 1:
                sub = prefix + rest[0]
                entries.setdefault(sub, {"type": "directory", "path": sub, "oid": "0" * 40})
                continue
            entries[path] = {
                "type": "file",
                "path": path,
                "size": len(content),
                "oid": git_blob_id(content),
            }
        return list(entries.values())

    def _info(self, repo: Repo, revision: str) -> dict[str, Any]:
        return {
            "id": repo.repo_id,
            "sha": repo.heads[revision],
            "private": repo.private,
            "siblings": [{"rfilename": p} for p in sorted(repo.branches[revision])],
        }


def _handler_for(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = hub.handle(self.command, self.path, self.headers, body)
            if status == 0:
                self.close_connection = True
                self.connection.close()
                return
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_HEAD = _respond

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read :attr:`HubServer.requests` instead of stderr."""

    return Handler
