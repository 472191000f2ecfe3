"""Shared fixtures: archives in temporary folders, the example data, PDFs made on the fly,
and the real services (moto's S3 server, a throwaway PostgreSQL), each started once per
session (see tests/services.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from docarchive import Archive

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

from clirun import run_cli  # noqa: E402
from make_data import text_pdf  # noqa: E402  (examples/make_data.py: the one PDF writer)
from services import S3Server, fake_aws_environment, new_database, start_moto  # noqa: E402


@pytest.fixture
def example_data() -> Path:
    return EXAMPLES / "data"


@pytest.fixture
def circular_data(example_data: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((example_data / "circular.json").read_text("utf-8"))
    return data


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "archive") as arc:
        yield arc


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    """A PDF with a real text layer holding ``lines``."""

    def make(name: str, lines: list[str]) -> Path:
        path = tmp_path / name
        text_pdf(path, lines)
        return path

    return make


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture(autouse=True)
def _no_pdf_unless_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issuing converts to PDF with LibreOffice (~1 s a document). Tests that are not about
    the official PDF issue DOCX only; tests marked ``official_pdf`` run the whole pipeline."""
    if request.node.get_closest_marker("official_pdf") is None:
        monkeypatch.setenv("DOCARCHIVE_ISSUE_PDF", "0")


# -- the real services, once per session -------------------------------------------------------


@pytest.fixture(scope="session")
def s3_environment() -> Iterator[None]:
    """Fake credentials for boto3's chain; nothing from the developer's own AWS set-up.

    Without boto3 or moto the S3 tests are skipped, except on CI (``CI`` set), where they
    fail: CI must not pass by running nothing."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"S3 tests cannot run: {exc}")
        pytest.skip(f"S3 tests need boto3 and moto[server]: {exc}")
    with pytest.MonkeyPatch.context() as mp:
        fake_aws_environment(mp)
        yield


@pytest.fixture(scope="session")
def s3_server(s3_environment: None) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, for the whole session."""
    server = start_moto()
    try:
        yield server
    finally:
        server.client.close()
        server.server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(s3_server: S3Server) -> str:
    """The endpoint URL of the session's S3 server."""
    return s3_server.endpoint


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server on 127.0.0.1, started for this session and removed after.

    Without the server binaries or psycopg the PostgreSQL tests are skipped, except on CI
    (``CI`` set), where they fail: CI must not pass by running nothing.
    """
    from docarchive.testing.postgres import PostgresUnavailable, running_postgres

    with ExitStack() as stack:
        try:
            import psycopg  # noqa: F401

            url = stack.enter_context(running_postgres(tmp_path_factory.mktemp("postgres")))
        except (ImportError, PostgresUnavailable) as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL tests cannot run: {exc}")
            pytest.skip(f"PostgreSQL tests need psycopg and a server: {exc}")
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database for one test."""
    return new_database(postgres_server)


# -- other operating-system accounts (tests of the permission policy) --------------------------


@dataclass(frozen=True)
class Accounts:
    """Accounts made for this session: ``other`` (in no group of the archive's), and
    ``group`` with its ``member``."""

    other: str
    group: str
    member: str


@pytest.fixture(scope="session")
def accounts() -> Iterator[Accounts]:
    """Another account, a group and a member of it, made with useradd/groupadd for this
    session and removed after. Not as root, the tests that need them are skipped, except on
    CI (``CI`` set), where they fail."""
    from accounts import account, can_manage_accounts, group

    if not can_manage_accounts():
        if os.environ.get("CI"):
            pytest.fail("the permission tests need root and useradd, groupadd, runuser")
        pytest.skip("the permission tests need root and useradd, groupadd, runuser")
    tag = os.getpid()
    with ExitStack() as stack:
        shared = stack.enter_context(group(f"dag{tag}"))
        other = stack.enter_context(account(f"dao{tag}"))
        member = stack.enter_context(account(f"dam{tag}", groups=[shared]))
        yield Accounts(other, shared, member)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every account may enter, for archives that other accounts try to read."""
    from accounts import shared_folder as make

    with make() as folder:
        yield folder


@pytest.fixture(params=["sqlite", "postgres"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each catalog in turn: a SQLite file, then a database of the session's PostgreSQL."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite://{tmp_path / 'catalog.sqlite'}"
