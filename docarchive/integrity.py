"""Integrity: every blob re-hashed, every record checked against its audit event, the
audit chain walked, and the archive's local files checked against the permission policy;
:meth:`Integrity.verify` names exactly what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DocArchiveError, StorageError
from .transfer import storage_unreachable

if TYPE_CHECKING:
    from .core import Core

__all__ = ["Integrity", "Problem", "VerifyReport"]


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong, named precisely."""

    code: str
    message: str
    record_id: str | None = None
    sha256: str | None = None
    event: int | None = None
    #: The file or folder a ``permissions-open`` problem is about.
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class VerifyReport:
    records: int = 0
    blobs: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Findings that do not fail verify: blobs no record refers to (``blob-orphan``).
    notices: list[Problem] = field(default_factory=list)
    #: Files and folders brought to the permission policy first (``fix_permissions``).
    permissions_fixed: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "blobs": self.blobs,
            "events": self.events,
            "problems": [p.to_dict() for p in self.problems],
            "notices": [p.to_dict() for p in self.notices],
            **(
                {}
                if self.permissions_fixed is None
                else {"permissions_fixed": self.permissions_fixed}
            ),
        }


class Integrity:
    """Verification of one archive's blobs, records and audit chain."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def verify(self, *, strict: bool = False, fix_permissions: bool = False) -> VerifyReport:
        """Re-hash every blob and walk the audit chain; name exactly what is wrong.

        Problems: ``blob-missing`` (a record's file is not in storage), ``blob-corrupt``
        (its bytes no longer match their SHA-256), ``blob-unreadable``, ``record-unaudited``,
        ``record-altered``, ``audit-gap``, ``audit-chain``, ``audit-altered``. A blob that no
        record refers to (``blob-orphan``) is a notice, not a problem: blobs are written
        before their record, so a failed issue or a crash in between leaves one behind, and
        the storage cannot tell those from others. ``strict`` makes orphans problems. Storage
        that does not answer raises StorageError (it is not N missing blobs).

        ``permissions-open``: a file or folder of the archive on this machine (the archive
        folder, local blobs, the SQLite catalog, the index, quarantine) that other
        accounts, or a group the policy does not name, may read, write or enter (see
        :mod:`docarchive.permissions`); ``path`` names it. ``fix_permissions`` first brings
        every local file and folder of the archive to the policy (for an archive made before
        it, or after ``[security] group`` changed); ``permissions_fixed`` counts them.
        """
        report = VerifyReport()
        if fix_permissions:
            report.permissions_fixed = self.core.files.fix_all()
        checked: dict[str, str | None] = {}
        # raises StorageError when the storage is unreachable
        stored = set(self.core.storage.keys())
        digests = self.core.catalog.record_digests()
        for record in self.core.catalog.records():
            report.records += 1
            for f in record.files:
                if f.sha256 not in checked:
                    checked[f.sha256] = self._check_blob(f.sha256, stored)
                problem = checked[f.sha256]
                if problem:
                    report.problems.append(
                        Problem(
                            "blob-" + problem.split(":")[0],
                            f"record {record.id} ({record.number or record.kind}): {f.role} blob "
                            f"{f.sha256} {problem.split(': ', 1)[1]}",
                            record_id=record.id,
                            sha256=f.sha256,
                        )
                    )
            recorded = digests.get(record.id)
            if recorded is None:
                report.problems.append(
                    Problem("record-unaudited", f"record {record.id} has no audit event", record.id)
                )
            elif recorded != record.digest():
                report.problems.append(
                    Problem(
                        "record-altered",
                        f"record {record.id} differs from what its audit event recorded",
                        record.id,
                    )
                )
        report.blobs = len(checked)
        prev_hash, expected_seq = None, 1
        for event in self.core.catalog.audit_events():
            report.events += 1
            if event.seq != expected_seq:
                report.problems.append(
                    Problem(
                        "audit-gap",
                        f"audit events {expected_seq}..{event.seq - 1} are missing",
                        event=expected_seq,
                    )
                )
            if prev_hash is not None and event.prev_hash != prev_hash:
                report.problems.append(
                    Problem(
                        "audit-chain",
                        f"audit event {event.seq} does not link to event {event.seq - 1}",
                        event.record_id,
                        event=event.seq,
                    )
                )
            if event.hash != event.expected_hash():
                report.problems.append(
                    Problem(
                        "audit-altered",
                        f"audit event {event.seq} ({event.action} by {event.actor}) was altered: "
                        "its hash does not match its content",
                        event.record_id,
                        event=event.seq,
                    )
                )
            prev_hash, expected_seq = event.hash, event.seq + 1
        for sha256 in sorted(stored - checked.keys()):
            orphan = Problem(
                "blob-orphan",
                f"blob {sha256} is stored but no record refers to it (left by a failed or "
                "interrupted write, or its record is missing from the catalog)",
                sha256=sha256,
            )
            (report.problems if strict else report.notices).append(orphan)
        for path, found in self.core.files.exposed():
            report.problems.append(
                Problem(
                    "permissions-open",
                    f"{path}: {found}",
                    path=str(path),
                )
            )
        return report

    def _check_blob(self, sha256: str, stored: set[str] | None = None) -> str | None:
        if stored is not None and sha256 not in stored:
            return "missing: not found in storage"
        try:
            if not self.core.storage.verify(sha256):
                return "corrupt: stored bytes no longer match their SHA-256"
        except StorageError as exc:
            down = storage_unreachable(self.core.storage)
            if down is not None:  # the storage, not this blob: stop with its error
                raise down from exc
            return f"unreadable: {exc}" if stored is not None else "missing: not found in storage"
        except DocArchiveError:
            return "missing: not found in storage"
        return None
