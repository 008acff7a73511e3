"""Publish a prepared dataset folder to a Hugging Face Hub dataset repository, resumably.

The folder is validated first (card YAML, data_files, split sizes, features, no loading script),
before any network call. Then the repo (and branch) is created if needed, and only the files the
Hub does not already hold are sent: shards first, the dataset card last, so the repo never shows a
card whose configurations point at shards that are not there yet. Rerunning after an interruption
sends only what is missing. The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT is
honoured.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.compat import hub_transport_errors, upload_ignore_patterns
from codecfake_core.units import format_size

from .validate import CARD, check_dataset_folder

REPO_TYPE = "dataset"
DEFAULT_BRANCH = "main"


class PublishError(CodecfakeError):
    """Publishing stopped: the message says why and what to do next."""


# --------------------------------------------------------------------------------------------
# The plan: what the Hub already has, compared file by file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilePlan:
    """One local file and what publishing does with it: ``upload`` (new), ``update``, ``skip``."""

    path: str
    size: int
    action: str


@dataclass
class PublishPlan:
    repo_id: str
    revision: str
    endpoint: str
    repo_exists: bool | None  # None: the Hub could not be asked (dry run while offline)
    branch_exists: bool | None
    files: list[FilePlan] = field(default_factory=list)
    remote_only: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def to_send(self) -> list[FilePlan]:
        return [f for f in self.files if f.action != "skip"]

    def describe(self, private: bool, show_skipped: bool = True) -> Iterator[str]:
        """The plan as lines for a person: repo, branch, then each file (or each one to send)."""
        yield f"hub:    {self.endpoint}"
        if self.repo_exists is None:
            yield f"repo:   {self.repo_id} (could not be checked: {self.note})"
        elif self.repo_exists:
            yield f"repo:   {self.repo_id} exists"
        else:
            yield f"repo:   {self.repo_id} will be created ({'private' if private else 'public'})"
        if self.revision != DEFAULT_BRANCH:
            created = "exists" if self.branch_exists else f"will be created from {DEFAULT_BRANCH}"
            yield f"branch: {self.revision} {created}"
        width = max((len(format_size(f.size)) for f in self.files), default=0)
        for f in self.files if show_skipped else self.to_send:
            yield f"  {f.action:<6}  {format_size(f.size):>{width}}  {f.path}"
        sent = self.to_send
        skipped = [f for f in self.files if f.action == "skip"]
        yield (
            f"{len(sent)} file(s) to upload ({format_size(sum(f.size for f in sent))}), "
            f"{len(skipped)} already there ({format_size(sum(f.size for f in skipped))})"
            + (
                f"; {len(self.remote_only)} remote file(s) not in the folder are kept"
                if self.remote_only
                else ""
            )
        )


def local_files(folder: Path) -> dict[str, Path]:
    """path in repo -> local file, with the same exclusions as ``HfApi.upload_folder``."""
    from huggingface_hub.utils import filter_repo_objects

    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    kept = filter_repo_objects(list(files), ignore_patterns=upload_ignore_patterns())
    return {name: files[name] for name in kept}


def _same_content(path: Path, remote: Any, progress: Any) -> bool:
    """Whether a local file equals a remote one: sha256 for LFS/Xet files, git blob id otherwise."""
    size = path.stat().st_size
    if size != remote.size:
        return False
    digest = hashlib.sha256() if remote.lfs is not None else hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            progress.update(len(chunk))
    expected = remote.lfs.sha256 if remote.lfs is not None else remote.blob_id
    return digest.hexdigest() == expected


def plan_publish(
    api: Any, folder: Path, repo_id: str, revision: str, offline_ok: bool, progress: bool = False
) -> PublishPlan:
    """Compare the folder with the remote branch (or main, for a branch yet to be created)."""
    from huggingface_hub.errors import (
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.hf_api import RepoFile
    from tqdm.auto import tqdm

    plan = PublishPlan(repo_id, revision, api.endpoint, repo_exists=True, branch_exists=True)
    remote: dict[str, Any] = {}

    def remote_files(branch: str) -> dict[str, Any]:
        tree = api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=branch, recursive=True)
        return {entry.path: entry for entry in tree if isinstance(entry, RepoFile)}

    try:
        try:
            remote = remote_files(revision)
        except RevisionNotFoundError:
            plan.branch_exists = False  # it will start from main: compare with main
            remote = remote_files(DEFAULT_BRANCH)
    except RepositoryNotFoundError:
        plan.repo_exists = plan.branch_exists = False
    except (OfflineModeIsEnabled, *hub_transport_errors()) as error:
        if not offline_ok:
            raise
        plan.repo_exists = plan.branch_exists = None
        plan.note = f"{type(error).__name__}; every file is listed as upload"

    files = local_files(folder)
    to_hash = sum(p.stat().st_size for n, p in files.items() if n in remote)
    with tqdm(
        total=to_hash,
        unit="B",
        unit_scale=True,
        desc="comparing with the Hub",
        disable=not progress or to_hash < (64 << 20),
    ) as progress:
        for name, path in files.items():
            if name not in remote:
                action = "upload"
            else:
                action = "skip" if _same_content(path, remote[name], progress) else "update"
            plan.files.append(FilePlan(name, path.stat().st_size, action))
    plan.remote_only = sorted(set(remote) - set(files))
    return plan


# --------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------


def publish(
    folder: os.PathLike[str] | str,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    commit_message: str | None = None,
    endpoint: str | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = False,
) -> PublishPlan:
    """Validate ``folder``, then create ``repo_id`` if needed and upload what it lacks.

    Returns the plan that was carried out (or, with ``dry_run``, would have been).
    """
    from huggingface_hub import HfApi, constants, get_token

    root = Path(folder)
    check_dataset_folder(root)  # before any network call
    if "/" not in repo_id or repo_id.count("/") != 1:
        raise PublishError(f"--repo-id must be ORG/NAME, got {repo_id!r}")
    branch = revision or DEFAULT_BRANCH
    if constants.is_offline_mode() and not dry_run:
        raise PublishError("HF_HUB_OFFLINE is set: publishing needs the Hub, so unset it first")
    if get_token() is None and not dry_run:
        raise PublishError(
            "no Hugging Face token found: run `hf auth login`, or set HF_TOKEN to a token with "
            f"write access to '{repo_id.split('/')[0]}'"
        )
    api = HfApi(endpoint=endpoint)
    echo(f"{root} is valid: {len(local_files(root))} files")
    with _hub_errors(repo_id, api.endpoint):
        plan = plan_publish(api, root, repo_id, branch, offline_ok=dry_run, progress=progress)
    if dry_run:
        echo("dry run: nothing is created or uploaded")
        for line in plan.describe(private):
            echo(line)
        return plan

    with _hub_errors(repo_id, api.endpoint):
        if not plan.repo_exists:
            api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
        if not plan.branch_exists and branch != DEFAULT_BRANCH:
            api.create_branch(repo_id, repo_type=REPO_TYPE, branch=branch, exist_ok=True)
        for line in plan.describe(private, show_skipped=False):
            echo(line)
        message = commit_message or f"Publish {root.resolve().name} with codecfake"
        shards = [f.path for f in plan.to_send if f.path != CARD]
        card = [f.path for f in plan.to_send if f.path == CARD]
        for paths, summary in ((shards, message), (card, f"{message}: dataset card")):
            if paths:
                with _hub_progress(progress):
                    api.upload_folder(
                        repo_id=repo_id,
                        repo_type=REPO_TYPE,
                        folder_path=root,
                        revision=branch,
                        allow_patterns=[_literal(p) for p in paths],
                        commit_message=summary,
                    )
                echo(f"committed {len(paths)} file(s): {summary}")
    prefix = "" if branch == DEFAULT_BRANCH else f" (branch {branch})"
    echo(
        f"published {repo_id}{prefix}: {len(plan.to_send)} file(s) sent, "
        f"{len(plan.files) - len(plan.to_send)} already there"
    )
    return plan


def _literal(path: str) -> str:
    """``path`` as an fnmatch pattern that matches only itself (``[`` would start a class)."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in path)


@contextmanager
def _hub_progress(progress: bool) -> Iterator[None]:
    """huggingface_hub's upload reporting under codecfake's policy: its bars only when
    ``progress`` asks for them, and the periodic INFO lines it writes where a bar cannot live
    (nohup, CI) unless codecfake's own log is quieter than INFO (``--quiet``)."""
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )
    from huggingface_hub.utils import logging as hub_logging

    previous = hub_logging.get_verbosity()
    bars_were_off = are_progress_bars_disabled()
    if logging.getLogger("codecfake").isEnabledFor(logging.INFO):
        hub_logging.set_verbosity(min(previous, hub_logging.INFO))
    if not progress:
        disable_progress_bars()
    try:
        yield
    finally:
        hub_logging.set_verbosity(previous)
        if not progress and not bars_were_off:
            enable_progress_bars()


def _auth_problem(error: Exception, repo_id: str) -> PublishError | None:
    """A PublishError saying what to do, when ``error`` is the Hub refusing the token."""
    from huggingface_hub.errors import HfHubHTTPError

    if not isinstance(error, HfHubHTTPError) or error.response is None:
        return None
    status = error.response.status_code
    if status not in (401, 403):
        return None
    source = "HF_TOKEN" if os.environ.get("HF_TOKEN") else "your `hf auth login`"
    org = repo_id.split("/")[0]
    return PublishError(
        f"the Hub refused the token from {source} for {repo_id} ({status}). Run `hf auth login`, "
        f"or set HF_TOKEN, with a token that has write access to '{org}' (and check that your "
        f"account may write to '{org}')."
    )


@contextmanager
def _hub_errors(repo_id: str, endpoint: str) -> Iterator[None]:
    """Turn the Hub's refusals and lost connections into messages that say what to do."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        yield
    except RepositoryNotFoundError as error:
        raise PublishError(
            f"the Hub does not let this token see {repo_id} ({error.response.status_code}): run "
            "`hf auth login` (or set HF_TOKEN) with a token that has write access to "
            f"'{repo_id.split('/')[0]}'"
        ) from None
    except hub_transport_errors() as error:
        raise PublishError(
            f"lost the connection to {endpoint} ({type(error).__name__}). Files committed "
            "before the cut stay on the Hub: rerun the same command to send only the rest."
        ) from None
    except Exception as error:
        auth = _auth_problem(error, repo_id)
        if auth is None:
            raise
        raise auth from None
