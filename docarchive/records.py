"""The Record model: the metadata of one archived item.

A record is what the catalog stores about an issued document, a scan or a
mail: its number, subject, text, parties, dates, classification, the blobs
that belong to it and its links to other records. Blobs themselves live in
storage, addressed by their SHA-256.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ConfigurationError

__all__ = ["Classification", "FileRef", "Record", "new_id"]


class Classification(enum.IntEnum):
    """Need-to-know levels, lowest first; a caller sees a record at or below their clearance."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    SECRET = 3
    TOP_SECRET = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, value: str | int | Classification) -> Classification:
        if isinstance(value, Classification):
            return value
        if isinstance(value, int):
            return cls(value)
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(c.label for c in cls)
            raise ConfigurationError(
                f"unknown classification {value!r} (one of: {names})"
            ) from None

    def allowed(self) -> list[Classification]:
        """Every level a caller with this clearance may see."""
        return [c for c in Classification if c <= self]


@dataclass(frozen=True)
class FileRef:
    """One blob of a record: the original, a PDF rendition, an attachment."""

    role: str
    sha256: str
    size: int
    media_type: str
    name: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRef:
        return cls(
            role=str(data["role"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            media_type=str(data.get("media_type", "application/octet-stream")),
            name=str(data.get("name", "")),
        )


def new_id() -> str:
    """A new record id: 20 hex digits (80 random bits)."""
    return uuid.uuid4().hex[:20]


@dataclass
class Record:
    """Metadata of one archived item.

    ``dates`` holds ISO 8601 strings under ``issued``, ``received`` and ``created``;
    ``links`` maps a relation (``reply_to``, ``attachment_of``) to a record id;
    ``source`` says how it came in: ``issued``, ``scan`` or ``mail``.
    """

    id: str
    kind: str
    subject: str = ""
    text: str = ""
    number: str | None = None
    series: str | None = None
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    office: str = ""
    dates: dict[str, str] = field(default_factory=dict)
    classification: Classification = Classification.INTERNAL
    files: list[FileRef] = field(default_factory=list)
    source: str = ""
    links: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, text: bool = True) -> dict[str, Any]:
        """The JSON shape scripts rely on (see DESIGN.md)."""
        data = asdict(self)
        data["classification"] = self.classification.label
        if not text:
            del data["text"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            subject=str(data.get("subject", "")),
            text=str(data.get("text", "")),
            number=data.get("number"),
            series=data.get("series"),
            sender=str(data.get("sender", "")),
            recipients=[str(r) for r in data.get("recipients", [])],
            office=str(data.get("office", "")),
            dates={str(k): str(v) for k, v in data.get("dates", {}).items()},
            classification=Classification.parse(data.get("classification", "internal")),
            files=[FileRef.from_dict(f) for f in data.get("files", [])],
            source=str(data.get("source", "")),
            links={str(k): str(v) for k, v in data.get("links", {}).items()},
            meta=dict(data.get("meta", {})),
        )

    def canonical_json(self) -> str:
        """A stable serialization: the same record always gives the same bytes."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`canonical_json`; the audit chain records it."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @property
    def year(self) -> str:
        when = self.dates.get("issued") or self.dates.get("received") or self.dates.get("created")
        return when[:4] if when else ""
