"""An archive on each index backend, for the search tests' module fixtures."""

from __future__ import annotations

import pytest

from docarchive import Archive

#: Every index backend; PostgreSQL's keeps the index in the catalog's database (a real
#: server, started once per session).
INDEX_BACKENDS = ["tantivy", "whoosh", "postgresql"]


def backend_archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Archive:
    """A new archive (no official PDF) on the index backend ``request.param`` names (one of
    :data:`INDEX_BACKENDS`), in a new folder named after ``name``; for module fixtures
    parametrized over the backends."""
    root = tmp_path_factory.mktemp(name) / "archive"
    options: dict[str, str] = {}
    if request.param == "postgresql":
        from services import new_database

        url = new_database(request.getfixturevalue("postgres_server"))
        index, options = url, {"catalog": url}
    else:
        index = f"{request.param}://{root / 'index'}"
    return Archive.open(root, issue_pdf=False, index=index, **options)
