"""Options that more than one command takes, each defined once.

``archive_options`` (``--root`` and ``--user``) opens the archive for the command and
passes it, with the acting user, as the command's first two arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..archive import Archive
from ..config import default_actor, default_root

F = TypeVar("F", bound=Callable[..., Any])


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, in the order they are written (and shown)."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


# -- the archive and who is acting --------------------------------------------------------

root_option = click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Archive folder [env DOCARCHIVE_ROOT; default ./archive].",
)


def given_root(root: Path | None) -> Path:
    """The archive folder: the command's --root, else the group's, else the default."""
    return root or _group_options().get("root") or default_root()


def given_actor(actor: str | None) -> str | None:
    """Who is acting, as given: the command's --user, else the group's (else None)."""
    return actor or _group_options().get("actor")


def user_of(actor: str | None) -> str:
    """The user whose clearance applies: who is acting, else DOCARCHIVE_USER or the OS user."""
    return actor or default_actor()


def _group_options() -> dict[str, Any]:
    obj: dict[str, Any] | None = click.get_current_context().find_root().obj
    return obj or {}


def archive_options(func: F) -> F:
    """--root and --user on every command that opens the archive; passes the open archive."""

    def wrapper(root: Path | None, actor: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        archive = Archive.open(given_root(root))
        try:
            return ctx.invoke(func, archive, given_actor(actor), **kwargs)
        finally:
            archive.close()

    functools.update_wrapper(wrapper, func)  # keeps the command's own options and help
    wrapper = click.option(
        "--user",
        "actor",
        help="Who is acting, for the audit trail [env DOCARCHIVE_USER; default: OS user].",
    )(wrapper)
    return root_option(wrapper)  # type: ignore[return-value]


# -- what the command prints and writes ---------------------------------------------------

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

archive_and_json_options = stack(archive_options, json_option)
"""--root, --user and --json: a command that opens the archive and prints its result."""


def output_option(
    help: str = "REPORT.docx or REPORT.pdf.", *, required: bool = False
) -> Callable[[F], F]:
    """-o/--output: the file or folder the command writes."""
    return click.option(
        "-o", "--output", type=click.Path(path_type=Path), required=required, help=help
    )


# -- need-to-know -------------------------------------------------------------------------

classification_option = click.option(
    "--classification", help="public, internal, confidential, secret, top-secret."
)


def clearance_option(help: str, *, envvar: str | None = None) -> Callable[[F], F]:
    """--clearance: the caller's clearance, or a lower one to act with."""
    return click.option("--clearance", envvar=envvar, help=help)


def lowered_clearance_option(verb: str) -> Callable[[F], F]:
    """--clearance (also from DOCARCHIVE_CLEARANCE), to ``verb`` as someone cleared lower."""
    return clearance_option(
        f"{verb} with a lower clearance than your own ([access.users] in the settings) "
        "[env DOCARCHIVE_CLEARANCE].",
        envvar="DOCARCHIVE_CLEARANCE",
    )


# -- dates --------------------------------------------------------------------------------


def date_range_options(from_help: str, to_help: str) -> Callable[[F], F]:
    """--from and --to (passed as ``date_from`` and ``date_to``)."""
    return stack(
        click.option("--from", "date_from", help=from_help),
        click.option("--to", "date_to", help=to_help),
    )


def as_of_option(help: str = "The day (YYYY-MM-DD; default today).") -> Callable[[F], F]:
    """--as-of: the day a follow-up list or report counts from."""
    return click.option("--as-of", "as_of", help=help)


# -- what an incoming scan is -------------------------------------------------------------

scan_metadata_options = stack(
    click.option("--sender", help="Who sent it (else the sidecar's, else none)."),
    click.option("--subject", help="Subject (else the sidecar's, else the first line of text)."),
    click.option("--department", help="The department it is referred to (on the stamp)."),
    click.option("--received", help="Date received, YYYY-MM-DD (default: today)."),
    click.option(
        "--stamp/--no-stamp",
        default=True,
        show_default=True,
        help="Put the incoming stamp (ختم الوارد) on the PDF rendition's first page.",
    ),
)
