"""Backends chosen by URL scheme, built in or registered by other packages.

Each kind of backend (storage, catalog, search) has one :class:`Registry`
mapping a URL scheme to a lazily imported class, as fsspec does. Third-party
packages add schemes through the entry-point groups ``docarchive.storage``,
``docarchive.catalog`` and ``docarchive.search``::

    [project.entry-points."docarchive.storage"]
    gcs = "mypackage.storage:GCSStorage"

A registered class is built with ``cls.from_url(url, settings)``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["Registry", "scheme_of"]


def scheme_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if not scheme:
        raise ConfigurationError(f"{url!r} is not a backend URL (expected scheme://...)")
    return scheme.lower()


class Registry:
    """URL scheme → backend class, for one kind of backend."""

    def __init__(self, kind: str, builtins: dict[str, str], extras: dict[str, str]) -> None:
        self.kind = kind
        self._targets: dict[str, str | type[Any]] = dict(builtins)
        self._extras = extras
        self._loaded_entry_points = False

    def register(self, scheme: str, target: str | type[Any], *, clobber: bool = False) -> None:
        """Add a backend; refuses to replace an existing scheme unless ``clobber``."""
        scheme = scheme.lower()
        if scheme in self._targets and not clobber and self._targets[scheme] != target:
            raise ConfigurationError(
                f"{self.kind} scheme {scheme!r} is already registered "
                f"to {self._targets[scheme]!r}; pass clobber=True to replace it"
            )
        self._targets[scheme] = target

    def schemes(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._targets)

    def resolve(self, url: str) -> type[Any]:
        """The class that serves ``url``; a clear error for unknown schemes or missing extras."""
        scheme = scheme_of(url)
        self._load_entry_points()
        target = self._targets.get(scheme)
        if target is None:
            raise ConfigurationError(
                f"no {self.kind} backend for {scheme}:// (known: {', '.join(self.schemes())})"
            )
        if isinstance(target, type):
            return target
        module_name, sep, attr = target.partition(":")
        if not sep or not attr:
            raise ConfigurationError(f"{self.kind} target {target!r} must be 'module:Class'")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            extra = self._extras.get(scheme)
            hint = f"; install it with: pip install 'docarchive[{extra}]'" if extra else ""
            raise ConfigurationError(
                f"the {self.kind} backend {scheme}:// needs a package that is missing "
                f"({exc.name}){hint}"
            ) from exc
        cls = getattr(module, attr, None)
        if cls is None:
            raise ConfigurationError(f"{self.kind} backend {target!r}: {module_name} has no {attr}")
        if not isinstance(cls, type):
            raise ConfigurationError(f"{target} is not a class")
        self._targets[scheme] = cls
        return cls

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=f"docarchive.{self.kind}"):
            if ep.name.lower() not in self._targets:
                self._targets[ep.name.lower()] = ep.value
