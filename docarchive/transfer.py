"""Moving records between archives: ``migrate`` (a whole archive to other backends) and
``export``/``import`` of BagIt packages (RFC 8493).

Everything here goes through the storage and catalog protocols, so it works between any
backends, ours or third-party ones.

Migrate
-------
Copies, in this order: every blob (streamed from the source, hashed again as the
destination stores it: a blob whose bytes no longer match its key stops the migration),
every record and referral verbatim, the number registers, the sequences, then the audit
chain, event by
event with its own seq, time, actor and hash — so the copy's chain verifies and numbering
goes on where the source stopped. The source is only read.

A rerun after an interruption (or after more was archived in the source) skips what the
destination holds — blobs by key, records by id, events up to the destination's head — and
copies the rest; register lines and sequences are written again. Before anything is written
the destination's chain must be the start of the source's; a destination that holds
another archive is refused.

Export and import
-----------------
A bag holds ``data/blobs/<sha256>`` (each file once) and, for each record,
``data/records/<id>/record.json`` (its metadata) and ``data/records/<id>/audit.json``
(the audit events that concern it, each with its hash). ``bag-info.txt`` names the office
and the number of records. Import validates every hash of the bag, then checks each record
against its own audit events (the last digest they recorded) and each file against its
SHA-256, and adds the records with an ``import`` audit event naming the source. Records
already here (by id, or by the SHA-256 of their original file) are skipped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import bagit  # type: ignore[import-untyped]

from .catalog import Catalog, open_catalog
from .catalog.base import AuditEvent
from .errors import ConfigurationError, IntegrityError, NotFoundError, StorageError
from .permissions import Policy, adopt
from .records import Classification, Record
from .storage import BlobStorage, open_storage

if TYPE_CHECKING:
    from .core import Core
    from .search.service import Searching

__all__ = [
    "ImportReport",
    "MigrateReport",
    "Progress",
    "Transfer",
    "export_bag",
    "import_bag",
    "migrate",
]

#: ``progress(stage, done, total)``: called as each stage advances.
Progress = Callable[[str, int, int], None]
BATCH = 200  # records, register lines or events per destination transaction
T = TypeVar("T")


@dataclass
class MigrateReport:
    """What a migration copied and what the destination already held."""

    blobs_copied: int = 0
    blobs_present: int = 0
    records_copied: int = 0
    records_present: int = 0
    referrals: int = 0
    numbers: int = 0
    sequences: int = 0
    events_copied: int = 0
    events_present: int = 0
    users: int = 0
    tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class ImportReport:
    """Records a bag brought in, and those the archive already held."""

    imported: list[Record] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": [r.to_dict(text=False) for r in self.imported],
            "duplicates": self.duplicates,
        }


def _batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


# -- migrate ----------------------------------------------------------------------------------


def migrate(
    source_storage: BlobStorage,
    source_catalog: Catalog,
    storage: BlobStorage,
    catalog: Catalog,
    *,
    actor: str = "docarchive-migrate",
    progress: Progress | None = None,
) -> MigrateReport:
    """Copy an archive's blobs and catalog into other backends (see the module docstring)."""
    if storage.url and storage.url == source_storage.url:
        raise ConfigurationError(f"the destination storage is the source: {storage.url}")
    if catalog.url and catalog.url == source_catalog.url:
        raise ConfigurationError(f"the destination catalog is the source: {catalog.url}")
    tick: Progress = progress or (lambda stage, done, total: None)
    report = MigrateReport()
    head = _check_destination_chain(source_catalog, catalog)

    keys = sorted(source_storage.keys())
    present = set(storage.keys())
    for done, key in enumerate(keys, start=1):
        if key in present:
            report.blobs_present += 1
        else:
            with source_storage.open(key) as stream:
                info = storage.put(stream)
            if info.sha256 != key:
                raise IntegrityError(
                    f"blob {key} of {source_storage.url} is corrupt: its bytes hash to "
                    f"{info.sha256}; run 'docarchive verify' on the source"
                )
            report.blobs_copied += 1
        tick("blobs", done, len(keys))

    total = sum(1 for _ in source_catalog.records())
    done = 0
    for batch in _batches(source_catalog.records()):
        with catalog.transaction(actor) as tx:
            copied = sum(tx.import_record(record) for record in batch)
        report.records_copied += copied
        report.records_present += len(batch) - copied
        done += len(batch)
        tick("records", done, total)

    for referrals in _batches(source_catalog.referrals()):
        with catalog.transaction(actor) as tx:
            report.referrals += sum(tx.import_referral(r) for r in referrals)

    for lines in _batches(source_catalog.numbers()):
        with catalog.transaction(actor) as tx:
            for entry in lines:
                tx.import_number(entry)
        report.numbers += len(lines)
    sequences = source_catalog.sequences()
    with catalog.transaction(actor) as tx:
        for series, office_code, period, last in sequences:
            tx.import_sequence(series, office_code, period, last)
    report.sequences = len(sequences)
    with catalog.transaction(actor) as tx:  # the server's people, with their hashes as kept
        report.users = sum(tx.import_user(u) for u in source_catalog.users())
        report.tokens = sum(tx.import_token(t) for t in source_catalog.tokens())
    tick("registers", report.numbers + report.sequences, report.numbers + report.sequences)

    last = source_catalog.last_change()
    report.events_present = head
    pending = (e for e in source_catalog.audit_events() if e.seq > head)
    for events in _batches(pending):
        with catalog.transaction(actor) as tx:
            for event in events:
                tx.import_event(event)
        report.events_copied += len(events)
        tick("audit", head + report.events_copied, max(last, head + report.events_copied))
    return report


def _check_destination_chain(source: Catalog, destination: Catalog) -> int:
    """The destination's chain head, after checking that its chain starts the source's."""
    head = destination.last_change()
    if head == 0:
        return 0
    if head > source.last_change():
        raise ConfigurationError(
            f"the destination catalog {destination.url} has {head} audit events, more than the "
            "source: it holds another archive"
        )
    theirs = destination.audit_events()
    for ours in source.audit_events():
        if ours.seq > head:
            break
        other = next(theirs, None)
        if other is None or other.hash != ours.hash:
            raise ConfigurationError(
                f"the destination catalog {destination.url} holds another archive (audit "
                f"event {ours.seq} differs); migrate into an empty catalog"
            )
    return head


# -- export -----------------------------------------------------------------------------------


def export_bag(
    records: list[Record],
    storage: BlobStorage,
    catalog: Catalog,
    dest: str | os.PathLike[str],
    *,
    info: dict[str, str],
    permissions: Policy | None = None,
) -> Path:
    """Write ``records``, their files and audit events as a BagIt package in ``dest`` (a new
    or empty folder). The bag follows ``permissions`` (the archive's policy; owner only by
    default): it holds the records' files, as private as the archive they come from."""
    policy = permissions or Policy()
    folder = Path(dest)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigurationError(f"{folder}: the export folder must be new or empty")
    wanted = {r.id for r in records}
    events: dict[str, list[dict[str, Any]]] = {rid: [] for rid in wanted}
    for event in catalog.audit_events():
        if event.record_id in wanted:
            events[event.record_id].append(_event_dict(event))
    policy.folder(folder)
    blobs = folder / "blobs"
    policy.folder(blobs)
    for record in records:
        for ref in record.files:
            target = blobs / ref.sha256
            if not target.exists():
                with storage.open(ref.sha256) as src, target.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
        place = folder / "records" / record.id
        place.mkdir(parents=True)
        (place / "record.json").write_text(_json(record.to_dict()), encoding="utf-8")
        (place / "audit.json").write_text(_json(events[record.id]), encoding="utf-8")
    bag_info = {
        "External-Description": "Records exported from a docarchive archive",
        "Docarchive-Records": str(len(records)),
        "Docarchive-Exported": datetime.now(UTC).isoformat(timespec="seconds"),
        **info,
    }
    bagit.make_bag(str(folder), bag_info, checksums=["sha256"])
    policy.fix_tree(folder)  # bagit writes its files and folders with the umask's modes
    return folder


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _event_dict(event: AuditEvent) -> dict[str, Any]:
    return dict(event.__dict__)


# -- import -----------------------------------------------------------------------------------


def import_bag(
    path: str | os.PathLike[str], storage: BlobStorage, catalog: Catalog, *, actor: str
) -> ImportReport:
    """Take in the records of a bag made by :func:`export_bag` (see the module docstring).

    IntegrityError, naming the file, when any hash of the bag does not verify or a record
    does not match its own audit events; nothing is imported then.
    """
    folder = Path(path)
    bag = _open_bag(folder)
    source = str(bag.info.get("Source-Organization") or bag.info.get("Docarchive-Office") or "")
    data = folder / "data"
    entries: list[tuple[Record, list[AuditEvent]]] = []
    records_dir = data / "records"
    for place in sorted(records_dir.iterdir()) if records_dir.is_dir() else []:
        name = f"data/records/{place.name}/record.json"
        try:
            record = Record.from_dict(json.loads((place / "record.json").read_text("utf-8")))
            events = [
                AuditEvent(**e) for e in json.loads((place / "audit.json").read_text("utf-8"))
            ]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IntegrityError(f"{folder}: {name}: not a docarchive record: {exc}") from exc
        _check_record(folder, name, record, events)
        entries.append((record, events))
    if not entries:
        raise IntegrityError(f"{folder}: the bag holds no docarchive records (data/records/)")

    report = ImportReport()
    for record, events in entries:
        original = next((f for f in record.files if f.role == "original"), None)
        existing = catalog.get(record.id) or (
            catalog.find_by_blob(original.sha256) if original else None
        )
        if existing is not None:
            report.duplicates.append({"id": record.id, "existing": existing.id})
            continue
        for ref in record.files:
            blob = data / "blobs" / ref.sha256
            try:
                with blob.open("rb") as stream:
                    stored = storage.put(stream)
            except OSError as exc:
                raise IntegrityError(
                    f"{folder}: data/blobs/{ref.sha256}: missing from the bag"
                ) from exc
            if stored.sha256 != ref.sha256:
                raise IntegrityError(
                    f"{folder}: data/blobs/{ref.sha256}: its bytes do not match its SHA-256"
                )
        detail = {
            "digest": record.digest(),
            "number": record.number,
            "source": source or str(folder.name),
            "bag": folder.name,
            "source_events": len(events),
        }
        with catalog.transaction(actor) as tx:
            if tx.import_record(record):
                tx.audit("import", record.id, detail)
                report.imported.append(record)
            else:
                report.duplicates.append({"id": record.id, "existing": record.id})
    return report


def _open_bag(folder: Path) -> Any:
    if not (folder / "bagit.txt").is_file():
        raise IntegrityError(f"{folder}: not a BagIt package (no bagit.txt)")
    quiet = logging.getLogger("bagit")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # bagit logs each failed hash; the error below names it
    try:
        bag = bagit.Bag(str(folder))
        try:
            bag.validate(processes=1)
        except bagit.BagValidationError as summary:
            if summary.details:
                raise
            # Payload-Oxum (file count and bytes) failed before any hash was checked:
            # check them all, so that the message names the file
            bag._validate_completeness()
            bag._validate_entries(1)
            raise
    except bagit.BagValidationError as exc:
        detail = exc.details[0] if exc.details else None
        where = getattr(detail, "path", None)
        if isinstance(detail, bagit.ChecksumMismatch):
            reason = "its SHA-256 does not match the manifest (altered)"
        elif isinstance(detail, bagit.FileMissing):
            reason = "listed in the manifest but missing"
        elif isinstance(detail, bagit.UnexpectedFile):
            reason = "not listed in the manifest"
        else:
            reason = str(detail or exc.message)
        named = f"{where}: " if where else ""
        raise IntegrityError(f"{folder}: the bag does not verify: {named}{reason}") from exc
    except bagit.BagError as exc:
        raise IntegrityError(f"{folder}: not a valid BagIt package: {exc}") from exc
    finally:
        quiet.setLevel(level)
    return bag


def _check_record(folder: Path, name: str, record: Record, events: list[AuditEvent]) -> None:
    """A record must match the last digest its audit events recorded, and they their hashes."""
    digest = None
    for event in events:
        if event.hash != event.expected_hash():
            raise IntegrityError(
                f"{folder}: {name}: audit event {event.seq} does not match its hash"
            )
        if event.record_id == record.id and isinstance(event.detail.get("digest"), str):
            digest = event.detail["digest"]
    if digest is None:
        raise IntegrityError(f"{folder}: {name}: no audit event records this record")
    if digest != record.digest():
        raise IntegrityError(
            f"{folder}: {name}: the record differs from what its audit events recorded"
        )


def storage_unreachable(storage: BlobStorage) -> StorageError | None:
    """The error listing the storage raises, or None when it answers."""
    try:
        next(iter(storage.keys()), None)
    except StorageError as exc:
        return exc
    return None


class Transfer:
    """Moving records in and out of one archive: BagIt export and import, and migration
    of the whole archive to other backends."""

    def __init__(self, core: Core, searching: Searching) -> None:
        self.core = core
        self.searching = searching

    def export(
        self,
        ids: Iterable[str] | None = None,
        query: str | None = None,
        *,
        dest: str | os.PathLike[str],
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Path:
        """Export records (by id or number, or all that ``query`` finds) with their files and
        audit events as a BagIt package in ``dest`` (a new or empty folder).

        ``clearance`` and ``user`` as for :meth:`get`: a record asked for by id above the
        clearance raises AccessDeniedError; a query exports only what the caller may see.
        """
        wanted = list(ids or [])
        if bool(wanted) == (query is not None):
            raise ConfigurationError("export takes record ids or a query, not both or neither")
        if query is not None:
            records, page = [], 1
            while True:
                found = self.searching.search(
                    query, page=page, page_size=100, clearance=clearance, user=user
                )
                records += [hit.record for hit in found.hits]
                if len(found.hits) < 100:
                    break
                page += 1
            if not records:
                raise NotFoundError(f"no record found for {query!r}")
        else:
            records = [self.core.get(i, clearance=clearance, user=user) for i in wanted]
        unique = list({r.id: r for r in records}.values())
        s = self.core.settings
        info = {
            "Source-Organization": " — ".join(x for x in (s.ministry, s.office_name) if x),
            "Docarchive-Office": s.office_code,
        }
        return export_bag(
            unique,
            self.core.storage,
            self.core.catalog,
            dest,
            info=info,
            permissions=self.core.permissions,
        )

    def import_bag(self, path: str | os.PathLike[str], *, actor: str | None = None) -> ImportReport:
        """Import the records of a BagIt package made by :meth:`export`: every hash is checked
        first (IntegrityError naming the file otherwise); each record gets an ``import``
        audit event naming the source; records already here are skipped."""
        core = self.core
        report = import_bag(path, core.storage, core.catalog, actor=core.actor(actor))
        core.catch_up()
        return report

    def migrate(
        self,
        to_storage: str,
        to_catalog: str,
        *,
        progress: Progress | None = None,
        actor: str | None = None,
    ) -> MigrateReport:
        """Copy this archive (blobs, records, registers, sequences, audit chain) to the
        backends at ``to_storage`` and ``to_catalog``; resumable, and this archive is only
        read. Point the settings at the new backends afterwards (``docarchive init``, or
        ``DOCARCHIVE_STORAGE``/``DOCARCHIVE_CATALOG``)."""
        storage = open_storage(to_storage)
        adopt(storage, self.core.permissions)  # new local blobs as private as these
        try:
            catalog = open_catalog(to_catalog)
            try:
                return migrate(
                    self.core.storage,
                    self.core.catalog,
                    storage,
                    catalog,
                    actor=self.core.actor(actor),
                    progress=progress,
                )
            finally:
                catalog.close()
        finally:
            storage.close()
