"""Conformance suites any backend can run, ours or a third party's.

Each suite is a class of pytest test methods, as in fsspec's
``fsspec/tests/abstract/``. Subclass it in a test module whose class name starts
with ``Test`` and provide the one hook it needs::

    from docarchive.testing import StorageConformance

    class TestMyStorage(StorageConformance):
        def make_storage(self, location):
            return MyStorage(location)

        def corrupt(self, storage, key, data):   # optional: enables the verify test
            ...

    from docarchive.testing import CatalogConformance

    class TestMyCatalog(CatalogConformance):
        def make_catalog(self, location):
            return MyCatalog(location / "catalog.db")

    from docarchive.testing import IndexConformance

    class TestMyIndex(IndexConformance):
        def index_url(self, location):
            return f"myindex://{location}"

``location`` is a fresh folder unique to the test; calling the hook again with
the same folder must reopen the same store. A backend that needs pytest
fixtures (a server, a database) overrides the ``storage`` or ``catalog``
fixture instead.

The suites need pytest, which is not a dependency of docarchive itself; install
the ``dev`` extra or pytest to run them.
"""

from __future__ import annotations

import pytest

# Before the submodules are imported, so their asserts explain failures.
pytest.register_assert_rewrite(
    "docarchive.testing.storage", "docarchive.testing.catalog", "docarchive.testing.index"
)

from .catalog import CatalogConformance  # noqa: E402
from .index import IndexConformance  # noqa: E402
from .storage import StorageConformance  # noqa: E402

__all__ = ["CatalogConformance", "IndexConformance", "StorageConformance"]
