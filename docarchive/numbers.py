"""Official numbers at work: reserving one for a record being made, voiding it when the
making fails or its process died, the register of a series, and the check of a stamp's
verification code.

A number is taken in a short catalog transaction and entered as *reserved*; adding the
record makes it *issued*; any failure in between voids it with the reason, so a number
never silently disappears (:mod:`docarchive.numbering` holds the series' rules and
formats; the catalog keeps the counters).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .catalog import NumberEntry
from .errors import NumberingError, ReservationVoidedError
from .leases import Heartbeat
from .records import Classification, Record
from .stamping import parse_code, verification_code

if TYPE_CHECKING:
    from .core import Core

__all__ = ["INCOMING", "CodeCheck", "Numbers"]

log = logging.getLogger(__name__)

INCOMING = "incoming"  # the series of the incoming register (سجل الوارد): scans and mail


@dataclass(frozen=True)
class CodeCheck:
    """The answer to ``check CODE``: genuine or not, why, and the record (within clearance)."""

    genuine: bool
    reason: str
    number: str | None = None
    voided: bool = False
    record: Record | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "genuine": self.genuine,
            "reason": self.reason,
            "number": self.number,
            "voided": self.voided,
            "record": self.record.to_dict(text=False) if self.record else None,
        }

    def public(self) -> dict[str, Any]:
        """What anyone may be told of a code (the public check page, ``/api/v1/check``):
        ``genuine``; for a genuine one only the number, kind, office and date of issue
        (and whether the number was voided), never the subject or the text. Needs the
        record, so the check is made with the highest clearance."""
        record = self.record
        if not self.genuine or record is None:
            return {"genuine": False, "reason": self.reason}
        return {
            "genuine": True,
            "voided": self.voided,
            "number": self.number,
            "kind": record.kind,
            "office": record.office,
            "issued": (record.dates.get("issued") or "")[:10],
        }


class Numbers:
    """Reservations, voids, registers and verification codes of one archive."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._heartbeat: Heartbeat | None = None

    @property
    def heartbeat(self) -> Heartbeat:
        """This process's lease on the catalog, renewed while it holds reservations."""
        if self._heartbeat is None:
            timeout = self.core.settings.reservation_timeout_s
            self._heartbeat = Heartbeat(self.core.catalog, timeout)
        return self._heartbeat

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.close()

    def reserve(
        self, series_name: str, record_id: str, who: str, when: datetime
    ) -> tuple[str, dict[str, Any]]:
        """Take the next number of a series for ``record_id`` (issued documents: their
        kind's series; scans and mail: the incoming register, سجل الوارد), entered as
        reserved: adding the record makes it issued; a failure must void it.

        The reservation is held by this process's lease (:mod:`docarchive.leases`),
        renewed while the record is being made, so no other process voids it while this
        one lives, however long the making takes.

        Returns the number and what the record's ``meta`` keeps of it (seq, period,
        office code)."""
        settings = self.core.settings
        series = settings.series_for(series_name)
        office_code = settings.office_code
        period = series.period(when.year)
        heartbeat = self.heartbeat
        lease = heartbeat.lease()
        with self.core.catalog.transaction(who) as tx:
            seq = tx.next_number(series.name, office_code, period)
            number = series.format_number(seq, year=when.year, office_code=office_code)
            tx.reserve_number(series.name, office_code, period, seq, number, record_id)
            tx.hold_lease(lease, number)
        heartbeat.beat()
        return number, {"seq": seq, "period": period, "office_code": office_code}

    def void_after_failure(
        self, number: str, actor: str, exc: BaseException, what: str = "issue"
    ) -> None:
        """Void a reserved number whose record could not be made, naming the failure.

        A number voided meanwhile (:class:`ReservationVoidedError`) is left as it is."""
        if isinstance(exc, ReservationVoidedError):
            return
        reason = f"{what} failed: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        try:
            with self.core.catalog.transaction(actor) as tx:
                tx.void_reserved(number, reason)
        except Exception:  # the reservation stays; the next open voids it
            log.exception("could not void number %s after a failed issue", number)

    def void_interrupted(
        self, *, older_than_s: int | None = None, actor: str | None = None
    ) -> list[NumberEntry]:
        """Void reservations whose issuer is gone; returns what was voided.

        Runs on every open. Each reservation is held by its issuer's lease
        (:mod:`docarchive.leases`): an issuer on this machine is gone when its process no
        longer exists, and its numbers are voided at once; an issuer elsewhere is gone
        when its lease was not renewed for ``older_than_s`` seconds (default ``[issue]
        reservation_timeout_seconds``). A reservation with no lease (made by an older
        docarchive) is voided when it is older than that. A live issuer's numbers are
        never voided, however long it takes.
        """
        core = self.core
        limit = core.settings.reservation_timeout_s if older_than_s is None else older_than_s
        now = datetime.now(UTC)
        cutoff = (now - timedelta(seconds=limit)).isoformat(timespec="microseconds")
        voided = []
        for held in core.catalog.held_reservations():
            entry, lease = held.entry, held.lease
            by = f"reserved {entry.at[:19]} by {entry.actor}"
            since: str | None = None
            if lease is not None and lease.owner.gone():
                reason = (
                    f"interrupted: the issuing {lease.owner.describe()} stopped before the "
                    f"document was stored ({by})"
                )
            elif lease is not None:
                if _age(lease.renewed_at, now) < limit:
                    continue  # alive here, or renewed lately elsewhere
                reason = (
                    f"interrupted: the issuing {lease.owner.describe()} has not renewed its "
                    f"lease since {lease.renewed_at[:19]}; the document was not stored ({by})"
                )
                since = cutoff
            else:
                if _age(entry.at, now) < limit:
                    continue
                reason = (
                    f"interrupted: the issuing process stopped before the document was "
                    f"stored ({by})"
                )
            with core.catalog.transaction(actor or "docarchive") as tx:
                done = tx.void_reserved(entry.number, reason, unrenewed_since=since)
            if done is not None:  # else finished, voided or renewed meanwhile
                voided.append(done)
        return voided

    def void(self, number: str, reason: str, *, actor: str | None = None) -> NumberEntry:
        """Void an issued number with a reason; it stays in the register, never reused."""
        if not reason.strip():
            raise NumberingError("a reason is required to void a number")
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            entry = tx.void_number(number, reason.strip())
        self.core.catch_up()
        return entry

    def register(self, series: str, year: int | None = None) -> list[NumberEntry]:
        """Every number of a series (one year of it, for yearly series) and its state."""
        config = self.core.settings.series_for(series)
        period = config.period(year) if year is not None else None
        return self.core.catalog.register(series, period)

    def check_code(self, code: str, *, clearance: str | Classification | None = None) -> CodeCheck:
        """Whether a stamp's verification code is genuine, and the record it belongs to.

        The record is shown only within the caller's clearance; its number always is,
        since the number is printed beside the code on the stamp.
        """
        core = self.core
        code = _code_of(code)
        try:
            record_id, _ = parse_code(code)
        except ValueError:
            return CodeCheck(False, "not a docarchive verification code")
        record = core.catalog.get(record_id)
        original = next((f for f in record.files if f.role == "original"), None) if record else None
        if record is None or original is None or not record.number:
            return CodeCheck(False, "no record carries this code")
        expected = verification_code(
            core.settings.stamp_key(), record.id, record.number, original.sha256
        )
        if not hmac.compare_digest(expected.upper(), code.strip().upper()):
            return CodeCheck(False, "the code does not match the record: not genuine")
        shown = record if record.classification <= core.clearance(clearance) else None
        entry = core.catalog.find_number(record.number)
        if entry is not None and entry.status == "void":
            return CodeCheck(
                True,
                f"genuine, but number {record.number} was voided: {entry.reason}",
                number=record.number,
                voided=True,
                record=shown,
            )
        return CodeCheck(True, "genuine", number=record.number, record=shown)


def _age(at: str, now: datetime) -> float:
    """Seconds since ``at`` (an ISO time); infinite if it cannot be read."""
    try:
        return (now - datetime.fromisoformat(at)).total_seconds()
    except (ValueError, TypeError):
        return float("inf")


def _code_of(scanned: str) -> str:
    """The verification code in what a stamp's QR code holds: the code itself, ``NUMBER|CODE``
    (stamps without ``[server] public_url``) or ``https://…/check/CODE`` (with it)."""
    text = scanned.strip()
    if "/check/" in text:
        text = text.rsplit("/check/", 1)[1].split("?", 1)[0].split("#", 1)[0]
        text = unquote(text)
    elif "|" in text:
        text = text.rsplit("|", 1)[1]
    return text.strip()
