"""A throwaway PostgreSQL server for tests and benchmarks, on 127.0.0.1.

::

    from docarchive.testing.postgres import create_database, running_postgres

    with running_postgres(tmp_folder) as server:      # postgresql://postgres@127.0.0.1:PORT/postgres
        url = create_database(server, "archive1")     # postgresql://postgres@127.0.0.1:PORT/archive1

The cluster is made with ``initdb`` in a temporary folder, started with ``pg_ctl`` on a
free port with durability off (``fsync=off``: a crash loses it, which is the point), and
stopped and removed on exit. ``initdb`` refuses to run as root, so when the caller is
root it runs as the ``postgres`` user (``runuser``), as Debian's ``postgresql`` package
sets it up. The server binaries are looked up on ``PATH``, then in
``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu), then via ``pg_config --bindir``.

Set ``DOCARCHIVE_TEST_POSTGRES`` to the URL of a server you already run (a superuser
that may create databases) to use it instead of starting one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["PostgresUnavailable", "create_database", "find_postgres_bin", "running_postgres"]

ENV_URL = "DOCARCHIVE_TEST_POSTGRES"
SERVICE_USER = "postgres"
INSTALL_HINT = "install PostgreSQL's server (Debian/Ubuntu: apt-get install postgresql)"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the throwaway server would not start."""


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _reachable_by_others(folder: Path) -> bool:
    """Whether a user other than the owner may walk down to ``folder``."""
    return all(part.stat().st_mode & stat.S_IXOTH for part in [folder, *folder.parents])


@contextlib.contextmanager
def running_postgres(folder: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """Start a throwaway PostgreSQL server; yields the URL of its ``postgres`` database.

    ``folder`` holds the cluster (a fresh temporary folder when None, or when running
    as root and the ``postgres`` user could not reach it). Raises
    :class:`PostgresUnavailable` when the binaries are missing or the server fails.
    """
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    bindir = find_postgres_bin()
    if bindir is None:
        raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb, pg_ctl); {INSTALL_HINT}")
    as_root = os.geteuid() == 0
    own = folder is None or (as_root and not _reachable_by_others(Path(folder).absolute()))
    base = Path(tempfile.mkdtemp(prefix="docarchive-pg-", dir=None if own else folder))
    prefix: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root needs runuser to start PostgreSQL")
        shutil.chown(base, SERVICE_USER, SERVICE_USER)
        prefix = ["runuser", "-u", SERVICE_USER, "--"]
    data, log = base / "data", base / "server.log"
    started = False
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            log,
        )
        for attempt in range(5):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            try:
                pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
                _run([*pg_ctl, "-w", "-t", "60", "-o", options, "start"], log)
            except PostgresUnavailable:
                if attempt == 4 or "could not bind" not in _tail(log):
                    raise
                continue
            started = True
            break
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


def _tail(log: Path) -> str:
    try:
        return log.read_text("utf-8", errors="replace")[-2000:]
    except OSError:
        return ""


def _run(cmd: list[str], log: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        name = Path(next(c for c in cmd if "/" in c)).name
        raise PostgresUnavailable(
            f"{name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n"
            f"{_tail(log)}"
        )


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` (if absent) on the server; returns its URL."""
    import psycopg
    from psycopg import sql

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(server_url, autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,))
                if exists.fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            break
        except psycopg.errors.DuplicateDatabase:
            break
        except psycopg.errors.ObjectInUse:  # template1 busy: another CREATE DATABASE
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))
