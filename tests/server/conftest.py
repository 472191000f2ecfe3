"""The fixtures of the API tests (see :mod:`apikit`)."""

from apikit import api  # noqa: F401  (the fixture)
