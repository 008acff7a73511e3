"""The hub's command line: ``codecfake publish``.

The work is :func:`codecfake_builder.hub.publish.publish` (validation first, then an upload of
only what the Hub lacks); this module turns options into its arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PUBLISH_EPILOG = """\
examples:
  codecfake publish codecfake-data/ --repo-id my-org/codecfake --dry-run     what would be sent
  codecfake publish codecfake-data/ --repo-id my-org/codecfake --private     create + upload
  codecfake publish codecfake-data/ --repo-id my-org/codecfake               rerun: sends only what is missing
  codecfake publish codecfake-data/ --repo-id my-org/codecfake --revision c8-review

the token comes from HF_TOKEN or from `hf auth login`, and needs write access to the organisation.
HF_ENDPOINT (or --endpoint) points at another Hub, e.g. a mirror."""


class Publish:
    """Publish a prepared dataset folder to a Hugging Face Hub dataset repository, resumably."""

    EPILOG = PUBLISH_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # files already committed are compared and skipped

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dataset_dir",
            type=Path,
            metavar="DATASET_DIR",
            help="folder written by `codecfake prepare`",
        )
        parser.add_argument(
            "--repo-id",
            required=True,
            metavar="ORG/NAME",
            help="the Hub dataset repository to publish to",
        )
        parser.add_argument(
            "--private",
            action="store_true",
            help="create the repository private (no effect on an existing one)",
        )
        parser.add_argument(
            "--revision",
            default=None,
            metavar="BRANCH",
            help="branch to commit to, created from main if missing (default: main)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be created, uploaded and skipped, and change nothing",
        )
        parser.add_argument(
            "--commit-message",
            default=None,
            help="commit summary (default: 'Publish <folder name> with codecfake')",
        )
        parser.add_argument(
            "--endpoint",
            default=None,
            metavar="URL",
            help="Hub URL (default: HF_ENDPOINT, else https://huggingface.co)",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .publish import publish as publish_folder

        publish_folder(
            args.dataset_dir,
            args.repo_id,
            private=args.private,
            revision=args.revision,
            dry_run=args.dry_run,
            commit_message=args.commit_message,
            endpoint=args.endpoint,
            progress=args.progress,
        )
        return 0
