"""Catalog backends, chosen by URL: ``sqlite:///path``, or registered ones."""

from __future__ import annotations

from ..registry import Registry
from .base import AuditEvent, Catalog, NumberEntry, Transaction

__all__ = ["AuditEvent", "Catalog", "NumberEntry", "Transaction", "open_catalog", "registry"]

registry = Registry(
    "catalog",
    builtins={
        "sqlite": "docarchive.catalog.sqlite:SQLiteCatalog",
        "postgresql": "docarchive.catalog.postgres:PostgresCatalog",
        "postgres": "docarchive.catalog.postgres:PostgresCatalog",
    },
    extras={"postgresql": "postgres", "postgres": "postgres"},
)


def open_catalog(url: str) -> Catalog:
    """The catalog backend for ``url``."""
    catalog = registry.resolve(url).from_url(url)
    assert isinstance(catalog, Catalog)
    return catalog
