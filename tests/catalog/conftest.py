"""Fixtures for catalog tests: a throwaway PostgreSQL server, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from docarchive.testing.postgres import PostgresUnavailable, create_database, running_postgres


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server on 127.0.0.1, started for this session and removed after.

    Without the server binaries or psycopg the PostgreSQL tests are skipped, except on CI
    (``CI`` set), where they fail: CI must not pass by running nothing.
    """
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
    return create_database(postgres_server, f"t_{uuid.uuid4().hex[:16]}")
