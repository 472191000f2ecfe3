"""The people behind the server: ``users`` and ``tokens``, and ``serve`` itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..accounts import ROLES
from ..archive import Archive
from .options import archive_and_json_options, given_root, root_option
from .output import emit


def _password(from_stdin: bool) -> str:
    """The password: the first line of standard input with --password-stdin, else asked
    for twice on the terminal (never an argument: it would show in the process list)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("give the password on standard input with --password-stdin")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


password_option = click.option(
    "--password-stdin", "password_stdin", is_flag=True, help="Read the password from stdin."
)


@click.group("users")
def users() -> None:
    """The people who log in to the server: clearance, role, departments."""


@users.command("add")
@click.argument("name")
@click.option("--clearance", required=True, help="public, internal, confidential, secret, ...")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--department", "departments", multiple=True, help="A department (repeatable).")
@password_option
@archive_and_json_options
def users_add(
    archive: Archive,
    actor: str | None,
    name: str,
    clearance: str,
    role: str,
    departments: tuple[str, ...],
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add user NAME (the password is hashed with argon2id)."""
    user = archive.add_user(
        name,
        _password(password_stdin),
        clearance=clearance,
        role=role,
        departments=departments,
        actor=actor,
    )
    emit(as_json, user.to_dict(), f"added {user.role} {user.name} ({user.clearance.label})")


@users.command("list")
@archive_and_json_options
def users_list(archive: Archive, actor: str | None, as_json: bool) -> None:
    """Every user with their clearance, role and departments."""
    found = archive.users()

    def text() -> None:
        for u in found:
            state = "  disabled" if u.disabled else ""
            depts = f"  {', '.join(u.departments)}" if u.departments else ""
            click.echo(f"{u.name}  {u.role}  {u.clearance.label}{depts}{state}")

    emit(as_json, [u.to_dict() for u in found], text)


@users.command("disable")
@click.argument("name")
@archive_and_json_options
def users_disable(archive: Archive, actor: str | None, name: str, as_json: bool) -> None:
    """Disable user NAME: no more logins, and their tokens stop working."""
    user = archive.disable_user(name, actor=actor)
    emit(as_json, user.to_dict(), f"disabled {user.name}")


@users.command("passwd")
@click.argument("name")
@password_option
@archive_and_json_options
def users_passwd(
    archive: Archive, actor: str | None, name: str, password_stdin: bool, as_json: bool
) -> None:
    """Set the password of user NAME."""
    user = archive.set_password(name, _password(password_stdin), actor=actor)
    emit(as_json, user.to_dict(), f"changed the password of {user.name}")


@click.group("tokens")
def tokens() -> None:
    """API tokens: what ministry systems present to the server (Authorization: Bearer)."""


@tokens.command("create")
@click.argument("name")
@click.option("--label", required=True, help="What the token is for (e.g. the HR system).")
@click.option("--expires", type=click.FloatRange(min=0, min_open=True), help="Days it lasts.")
@archive_and_json_options
def tokens_create(
    archive: Archive,
    actor: str | None,
    name: str,
    label: str,
    expires: float | None,
    as_json: bool,
) -> None:
    """A new token for user NAME, printed this once (only its hash is kept)."""
    made = archive.create_token(name, label=label, expires_days=expires, actor=actor)
    if as_json:
        emit(True, made.to_dict(), "")
    else:
        click.echo(made.token)
        until = f", until {made.info.expires_at}" if made.info.expires_at else ""
        click.echo(
            f"token {made.info.id} for {name}{until}: keep it, it is not shown again", err=True
        )


@tokens.command("list")
@click.argument("name", required=False)
@archive_and_json_options
def tokens_list(archive: Archive, actor: str | None, name: str | None, as_json: bool) -> None:
    """The tokens (of user NAME, or of everyone): id, label, state; never the secret."""
    found = archive.tokens(name)

    def text() -> None:
        for t in found:
            until = f"  until {t.expires_at}" if t.expires_at else ""
            click.echo(f"{t.id}  {t.user}  {t.label}  {t.state()}{until}")

    emit(as_json, [t.to_dict() for t in found], text)


@tokens.command("revoke")
@click.argument("token_id")
@archive_and_json_options
def tokens_revoke(archive: Archive, actor: str | None, token_id: str, as_json: bool) -> None:
    """Revoke token TOKEN_ID (its id, as `tokens list` shows)."""
    done = archive.revoke_token(token_id, actor=actor)
    emit(as_json, done.to_dict(), f"revoked token {done.id} of {done.user}")


@click.command("serve")
@click.option("--host", help="Address to listen on ([server] host; default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="[server] port; default 8000.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes ([server] workers).")
@root_option
def serve(root: Path | None, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API (/api/v1) over the archive, with uvicorn. Put it behind nginx
    for TLS (see the README)."""
    try:
        import uvicorn
    except ImportError:
        raise click.ClickException(
            "the server needs its extra: pip install 'docarchive[server]'"
        ) from None
    folder = given_root(root).absolute()
    archive = Archive.open(folder)  # a clear error now, not in every worker
    settings = archive.settings.server
    archive.close()
    os.environ["DOCARCHIVE_ROOT"] = str(folder)
    uvicorn.run(
        "docarchive.server.app:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        log_level="info",
    )
