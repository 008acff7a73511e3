"""MkDocs hook: the command-line reference, rendered from the parsers at build time.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; this hook replaces it with the help
of ``codecfake`` and of every ``codecfake COMMAND`` (and their own subcommands, such as
``codecfake baseline train``), exactly as ``--help`` prints it, from
``codecfake_cli.build_parser()``. Nothing is copied by hand, so the page cannot drift from the
options the commands take.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator

MARKER = "<!-- cli-reference -->"
WIDTH = 100
"""Columns the help is wrapped to (argparse reads ``$COLUMNS``), fixed so builds agree."""


def _subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """(name, parser, one-line help) of each subcommand of ``parser``, in declaration order."""
    for action in parser._actions:  # argparse keeps its subparsers here, and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name, "")


def _help(parser: argparse.ArgumentParser) -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH + 2)  # argparse wraps at $COLUMNS - 2
    try:
        return parser.format_help().rstrip()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _block(text: str) -> str:
    return f"```text\n{text}\n```\n"


def render_reference() -> str:
    """The Markdown of every command's help: ``codecfake`` first, then each command."""
    from codecfake_cli import build_parser

    parser = build_parser()
    parts = ["## `codecfake`\n", _block(_help(parser))]
    for name, sub, summary in _subcommands(parser):
        parts += [
            f"## `codecfake {name}`\n",
            f"{summary.capitalize()}.\n" if summary else "",
            _block(_help(sub)),
        ]
        for inner, subsub, inner_summary in _subcommands(sub):
            parts += [
                f"### `codecfake {name} {inner}`\n",
                f"{inner_summary.capitalize()}.\n" if inner_summary else "",
                _block(_help(subsub)),
            ]
    return "\n".join(part for part in parts if part)


SPHINX_ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|exc|obj|py:\w+):(?=<code>)")
TILDE = re.compile(r"<code>~\.?(?:[\w.]*\.)?(\w+)</code>")


def on_page_content(html: str, page, config, files) -> str:
    """The docstrings cross-reference in Sphinx's roles (``:func:`name```), which Markdown shows
    as ``:func:`` before the code; on the API pages the role is dropped and the code kept, and
    reST's ``::`` before a literal block reads as one colon."""
    if not page.file.src_uri.startswith("api/"):
        return html
    html = SPHINX_ROLE.sub("", html)
    html = TILDE.sub(r"<code>\1</code>", html)
    return html.replace("::</p>", ":</p>")


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, render_reference())
    return markdown
