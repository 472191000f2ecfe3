# Arabic letters in strings are intended, not confusables:
"""The conformance suite for catalog backends (:class:`~docarchive.catalog.Catalog`).

Subclass :class:`CatalogConformance`, name the subclass ``Test...`` and define
:meth:`~CatalogConformance.make_catalog`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from ..accounts import Token, User
from ..catalog.base import GENESIS, Catalog
from ..errors import IntegrityError, NotFoundError, NumberingError, ReservationVoidedError
from ..followup import FollowupError, Referral
from ..leases import Lease, Owner
from ..records import Classification, FileRef, Record

__all__ = ["CatalogConformance", "numbered_record", "plain_record"]

OFFICE = "م.و"
SERIES = "circular"
YEAR = "2026"


class _Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def plain_record(record_id: str, *, blob: bytes = b"", role: str = "original") -> Record:
    """An unnumbered record (a scan), with one file when ``blob`` is given."""
    files = []
    if blob:
        files.append(
            FileRef(
                role, hashlib.sha256(blob).hexdigest(), len(blob), "application/pdf", "scan.pdf"
            )
        )
    return Record(
        id=record_id,
        kind="scan",
        subject="كتاب وارد من وزارة المالية",
        text="نص الكتاب: يرجى التفضل بالاطلاع. Please review.",
        sender="وزارة المالية",
        recipients=["مكتب الوزير"],
        office=OFFICE,
        dates={"received": "2026-03-01T09:30:00+03:00"},
        classification=Classification.CONFIDENTIAL,
        files=files,
        source="scan",
        meta={"pages": 2, "ocr": True, "tags": ["مالية", "budget"]},
    )


def numbered_record(
    record_id: str,
    seq: int,
    *,
    series: str = SERIES,
    office_code: str = OFFICE,
    period: str = YEAR,
    number: str | None = None,
) -> Record:
    """An issued record carrying number ``seq`` of a series."""
    return Record(
        id=record_id,
        kind=series,
        subject=f"تعميم بشأن الدوام الرسمي {seq}",
        number=number or f"{office_code}/ت/{seq}/{period or 'x'}/{series}",
        series=series,
        office=office_code,
        dates={"issued": f"{period or YEAR}-01-15T10:00:00+03:00"},
        classification=Classification.INTERNAL,
        source="issued",
        meta={"seq": seq, "office_code": office_code, "period": period},
    )


NUMBER = f"{OFFICE}/ت/1/{YEAR}"


class CatalogConformance:
    """Tests every :class:`Catalog` backend must pass."""

    # -- hooks the subclass provides ------------------------------------------------------

    def make_catalog(self, location: Path) -> Catalog:
        """A catalog for one test; called again with the same folder, it reopens the same one."""
        raise NotImplementedError(f"{type(self).__name__} must define make_catalog(location)")

    @pytest.fixture
    def location(self, tmp_path: Path) -> Path:
        folder = tmp_path / "catalog"
        folder.mkdir()
        return folder

    @pytest.fixture
    def catalog(self, location: Path) -> Iterator[Catalog]:
        cat = self.make_catalog(location)
        try:
            yield cat
        finally:
            cat.close()

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def issue(catalog: Catalog, record_id: str, **where: str) -> Record:
        """Take the next number and add its record in one transaction, as Archive.issue does."""
        series = where.get("series", SERIES)
        office_code = where.get("office_code", OFFICE)
        period = where.get("period", YEAR)
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(series, office_code, period)
            record = numbered_record(
                record_id, seq, series=series, office_code=office_code, period=period
            )
            tx.add_record(record)
        return record

    # -- schema ---------------------------------------------------------------------------

    def test_new_catalog_has_a_schema_version(self, catalog: Catalog) -> None:
        assert catalog.schema_version() >= 1
        assert catalog.last_change() == 0
        assert list(catalog.records()) == []
        assert list(catalog.audit_events()) == []

    def test_reopen_keeps_data_and_schema(self, catalog: Catalog, location: Path) -> None:
        record = self.issue(catalog, "rec-1")
        version = catalog.schema_version()
        again = self.make_catalog(location)
        try:
            assert again.schema_version() == version
            assert again.get("rec-1") == record
            assert again.last_change() == catalog.last_change()
            with again.transaction("other") as tx:
                assert tx.next_number(SERIES, OFFICE, YEAR) == 2
        finally:
            again.close()

    # -- transactions ---------------------------------------------------------------------

    def test_commit_makes_changes_visible(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
        assert catalog.get("scan-1") == plain_record("scan-1")
        assert catalog.last_change() == 1

    def test_exception_rolls_back_everything(self, catalog: Catalog) -> None:
        self.issue(catalog, "kept")
        before = (catalog.last_change(), list(catalog.audit_events()))
        with pytest.raises(_Boom), catalog.transaction("clerk") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.add_record(numbered_record("lost", seq))
            tx.add_record(plain_record("lost-scan"))
            tx.audit("note", None, {"why": "about to fail"})
            raise _Boom
        assert catalog.get("lost") is None
        assert catalog.get("lost-scan") is None
        assert catalog.find_number(numbered_record("lost", 2).number or "") is None
        assert [e.seq for e in catalog.register(SERIES)] == [1]
        assert (catalog.last_change(), list(catalog.audit_events())) == before
        with catalog.transaction("clerk") as tx:
            assert tx.next_number(SERIES, OFFICE, YEAR) == 2, "the rolled-back number was consumed"

    def test_catalog_is_usable_after_a_rollback(self, catalog: Catalog) -> None:
        with pytest.raises(_Boom), catalog.transaction("clerk"):
            raise _Boom
        record = self.issue(catalog, "after")
        assert record.meta["seq"] == 1
        assert catalog.get("after") == record

    # -- numbering ------------------------------------------------------------------------

    def test_next_number_is_consecutive(self, catalog: Catalog) -> None:
        taken = []
        for _ in range(3):
            with catalog.transaction("clerk") as tx:
                taken.append(tx.next_number(SERIES, OFFICE, YEAR))
        with catalog.transaction("clerk") as tx:
            taken += [tx.next_number(SERIES, OFFICE, YEAR) for _ in range(3)]
        assert taken == [1, 2, 3, 4, 5, 6]

    def test_sequences_are_independent(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            assert [tx.next_number(SERIES, OFFICE, YEAR) for _ in range(3)] == [1, 2, 3]
            assert tx.next_number("decision", OFFICE, YEAR) == 1
            assert tx.next_number(SERIES, OFFICE, "2027") == 1
            assert tx.next_number(SERIES, "م.ع", YEAR) == 1
            assert tx.next_number(SERIES, OFFICE, "") == 1
            assert tx.next_number(SERIES, OFFICE, YEAR) == 4
            assert tx.next_number("decision", OFFICE, YEAR) == 2

    def test_voided_number_is_never_handed_out_again(self, catalog: Catalog) -> None:
        record = self.issue(catalog, "rec-1")
        with catalog.transaction("head") as tx:
            tx.void_number(record.number or "", "issued in error")
        assert self.issue(catalog, "rec-2").meta["seq"] == 2

    # -- records --------------------------------------------------------------------------

    def test_add_and_get(self, catalog: Catalog) -> None:
        scan = plain_record("scan-1", blob=b"%PDF scan")
        issued = numbered_record("circ-1", 1)
        with catalog.transaction("clerk") as tx:
            tx.add_record(scan)
            tx.add_record(issued)
        assert catalog.get("scan-1") == scan
        assert catalog.get("circ-1") == issued
        assert catalog.get("no-such-id") is None
        assert catalog.get_many(["circ-1", "no-such-id", "scan-1"]) == {
            "scan-1": scan,
            "circ-1": issued,
        }
        assert catalog.get_many([]) == {}
        assert sorted(r.id for r in catalog.records()) == ["circ-1", "scan-1"]

    def test_get_many_with_many_ids(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            for i in range(1200):
                tx.add_record(Record(id=f"r{i:05d}", kind="scan"))
        wanted = [f"r{i:05d}" for i in range(1200)] + ["missing"]
        found = catalog.get_many(wanted)
        assert sorted(found) == wanted[:-1]
        assert found["r00777"].id == "r00777"

    def test_find_by_blob(self, catalog: Catalog) -> None:
        blob = b"%PDF the scanned letter"
        sha = hashlib.sha256(blob).hexdigest()
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1", blob=blob))
            tx.add_record(plain_record("pdf-of-other", blob=b"other", role="pdf"))
        found = catalog.find_by_blob(sha)
        assert found is not None and found.id == "scan-1"
        assert catalog.find_by_blob(sha, role="pdf") is None
        other = hashlib.sha256(b"other").hexdigest()
        assert catalog.find_by_blob(other) is None
        found_pdf = catalog.find_by_blob(other, role="pdf")
        assert found_pdf is not None and found_pdf.id == "pdf-of-other"
        assert catalog.find_by_blob("0" * 64) is None

    def test_find_number(self, catalog: Catalog) -> None:
        record = self.issue(catalog, "circ-1")
        assert record.number is not None
        entry = catalog.find_number(record.number)
        assert entry is not None
        assert (entry.series, entry.office_code, entry.period, entry.seq) == (
            SERIES,
            OFFICE,
            YEAR,
            1,
        )
        assert (entry.number, entry.record_id, entry.status) == (record.number, "circ-1", "issued")
        assert entry.actor == "issuer"
        assert entry.reason == ""
        assert catalog.find_number("no/such/number") is None

    def test_duplicate_number_is_refused(self, catalog: Catalog) -> None:
        first = self.issue(catalog, "circ-1")
        with (
            pytest.raises(NumberingError, match="already in the register"),
            catalog.transaction("clerk") as tx,
        ):
            tx.add_record(numbered_record("circ-2", 2, number=first.number))
        assert catalog.get("circ-2") is None
        assert [e.record_id for e in catalog.register(SERIES)] == ["circ-1"]

    def test_duplicate_seq_is_refused(self, catalog: Catalog) -> None:
        self.issue(catalog, "circ-1")
        with pytest.raises(NumberingError), catalog.transaction("clerk") as tx:
            tx.add_record(numbered_record("circ-2", 1, number="another/printed/form"))
        assert catalog.get("circ-2") is None

    def test_number_without_series_or_seq_is_refused(self, catalog: Catalog) -> None:
        record = numbered_record("circ-1", 1)
        record.meta.pop("seq")
        with pytest.raises(NumberingError, match="circ-1"), catalog.transaction("clerk") as tx:
            tx.add_record(record)
        assert catalog.get("circ-1") is None

    # -- voiding --------------------------------------------------------------------------

    def test_void_number(self, catalog: Catalog) -> None:
        record = self.issue(catalog, "circ-1")
        number = record.number or ""
        changes = catalog.last_change()
        with catalog.transaction("head-of-office") as tx:
            entry = tx.void_number(number, "issued in error")
        assert (entry.number, entry.status, entry.reason) == (number, "void", "issued in error")
        assert entry.actor == "head-of-office"
        assert entry.record_id == "circ-1"
        found = catalog.find_number(number)
        assert found is not None
        assert (found.status, found.reason, found.actor) == (
            "void",
            "issued in error",
            "head-of-office",
        )
        assert catalog.get("circ-1") == record, "voiding keeps the record"
        assert catalog.last_change() == changes + 1
        last = list(catalog.audit_events())[-1]
        assert (last.record_id, last.actor) == ("circ-1", "head-of-office")

    def test_reserved_number_becomes_issued_with_its_record(self, catalog: Catalog) -> None:
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, NUMBER, "circ-1")
        entry = catalog.find_number(NUMBER)
        assert entry is not None and (entry.status, entry.record_id) == ("reserved", "circ-1")
        assert [e.number for e in catalog.reservations()] == [NUMBER]
        assert catalog.get("circ-1") is None
        with catalog.transaction("issuer") as tx:
            tx.add_record(numbered_record("circ-1", seq, number=NUMBER))
        entry = catalog.find_number(NUMBER)
        assert entry is not None and (entry.status, entry.record_id) == ("issued", "circ-1")
        assert catalog.reservations() == []
        assert [e.action for e in catalog.audit_events()] == ["reserve", "create"]

    def test_reserved_number_cannot_be_taken_by_another_record(self, catalog: Catalog) -> None:
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, NUMBER, "circ-1")
        refused = pytest.raises(NumberingError, match="already in the register")
        with refused, catalog.transaction("issuer") as tx:
            tx.add_record(numbered_record("someone-else", seq, number=NUMBER))
        refused = pytest.raises(NumberingError, match="already in the register")
        with refused, catalog.transaction("issuer") as tx:
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, NUMBER, "circ-2")

    def test_failed_issue_voids_its_reservation(self, catalog: Catalog) -> None:
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, NUMBER, "circ-1")
        with catalog.transaction("issuer") as tx:
            entry = tx.void_number(NUMBER, "issue failed: LibreOffice timed out")
        assert (entry.status, entry.reason, entry.record_id) == (
            "void",
            "issue failed: LibreOffice timed out",
            "circ-1",
        )
        assert catalog.reservations() == []
        with catalog.transaction("issuer") as tx:
            assert tx.next_number(SERIES, OFFICE, YEAR) == 2

    def _reserve_leased(self, catalog: Catalog, lease: Lease, record_id: str) -> str:
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            number = f"{OFFICE}/ت/{seq}/{YEAR}"
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, number, record_id)
            tx.hold_lease(lease, number)
        return number

    def test_reservation_is_held_by_its_lease(self, catalog: Catalog) -> None:
        owner = Owner("host-a", "boot-1", 4242, "99")
        lease = Lease("lease-1", owner, "")
        first = self._reserve_leased(catalog, lease, "circ-1")
        second = self._reserve_leased(catalog, lease, "circ-2")
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, "legacy/3", "circ-3")  # no lease
        held = catalog.held_reservations()
        assert [(h.entry.number, h.lease_id) for h in held] == [
            (first, "lease-1"),
            (second, "lease-1"),
            ("legacy/3", None),
        ]
        assert held[0].lease is not None and held[0].lease.owner == owner
        assert held[2].lease is None
        renewed = held[0].lease.renewed_at
        assert catalog.renew_lease("lease-1")
        (after,) = {h.lease.renewed_at for h in catalog.held_reservations() if h.lease}
        assert after > renewed
        events = len(list(catalog.audit_events()))
        assert catalog.renew_lease("lease-1")
        assert len(list(catalog.audit_events())) == events, "a renewal is not audited"
        assert not catalog.renew_lease("no-such-lease")

    def test_lease_ends_with_its_last_reservation(self, catalog: Catalog) -> None:
        lease = Lease("lease-1", Owner("host-a", "boot-1", 4242, "99"), "")
        number = self._reserve_leased(catalog, lease, "circ-1")
        catalog.drop_lease("lease-1")  # still holds a reservation: kept
        assert catalog.held_reservations()[0].lease is not None
        with catalog.transaction("issuer") as tx:
            tx.add_record(numbered_record("circ-1", 1, number=number))
        assert not catalog.renew_lease("lease-1"), "nothing reserved: the heartbeat stops"
        catalog.drop_lease("lease-1")
        lease2 = Lease("lease-2", Owner("host-a", "boot-1", 4243, "100"), "")
        self._reserve_leased(catalog, lease2, "circ-2")
        (held,) = catalog.held_reservations()
        assert held.lease is not None and held.lease.id == "lease-2"

    def test_void_reserved_leaves_what_was_finished_or_renewed(self, catalog: Catalog) -> None:
        lease = Lease("lease-1", Owner("host-a", "boot-1", 4242, "99"), "")
        issued = self._reserve_leased(catalog, lease, "circ-1")
        with catalog.transaction("issuer") as tx:
            tx.add_record(numbered_record("circ-1", 1, number=issued))
        with catalog.transaction("sweeper") as tx:
            assert tx.void_reserved(issued, "interrupted") is None, "an issued number stays"
        found = catalog.find_number(issued)
        assert found is not None and found.status == "issued"
        pending = self._reserve_leased(catalog, lease, "circ-2")
        before = "2000-01-01T00:00:00.000000+00:00"
        with catalog.transaction("sweeper") as tx:  # renewed after `before`: alive
            assert tx.void_reserved(pending, "interrupted", unrenewed_since=before) is None
        later = "9999-01-01T00:00:00.000000+00:00"
        with catalog.transaction("sweeper") as tx:
            voided = tx.void_reserved(pending, "interrupted: gone", unrenewed_since=later)
        assert voided is not None
        assert (voided.status, voided.reason, voided.record_id) == (
            "void",
            "interrupted: gone",
            "circ-2",
        )
        assert list(catalog.audit_events())[-1].action == "void"
        with catalog.transaction("sweeper") as tx:
            assert tx.void_reserved(pending, "again") is None, "void once only"

    def test_record_of_a_voided_reservation_is_refused_with_its_reason(
        self, catalog: Catalog
    ) -> None:
        with catalog.transaction("issuer") as tx:
            seq = tx.next_number(SERIES, OFFICE, YEAR)
            tx.reserve_number(SERIES, OFFICE, YEAR, seq, NUMBER, "circ-1")
        with catalog.transaction("head") as tx:
            tx.void_number(NUMBER, "أُلغي بقرار المدير")
        refused = pytest.raises(ReservationVoidedError, match="voided while its document")
        with refused, catalog.transaction("issuer") as tx:
            tx.add_record(numbered_record("circ-1", seq, number=NUMBER))
        assert catalog.get("circ-1") is None
        found = catalog.find_number(NUMBER)
        assert found is not None and found.reason == "أُلغي بقرار المدير"

    def test_users_and_tokens(self, catalog: Catalog) -> None:
        user = User(
            name="سعاد.الربيعي",
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            clearance=Classification.SECRET,
            role="officer",
            departments=("الدائرة القانونية", "قسم العقود"),
            created_at="2026-03-01T09:00:00+00:00",
            changed_at="2026-03-01T09:00:00+00:00",
        )
        with catalog.transaction("admin") as tx:
            tx.add_user(user)
        assert catalog.get_user(user.name) == user
        assert catalog.get_user("nobody") is None
        with pytest.raises(IntegrityError, match="already"), catalog.transaction("a") as tx:
            tx.add_user(replace(user, role="admin"))
        assert catalog.get_user(user.name) == user, "a refused user changes nothing"
        changed = replace(user, disabled=True, clearance=Classification.INTERNAL, changed_at="x")
        with catalog.transaction("admin") as tx:
            tx.update_user(changed)
        assert catalog.users() == [changed]
        with pytest.raises(NotFoundError), catalog.transaction("admin") as tx:
            tx.update_user(replace(user, name="nobody"))
        token = Token(
            id="0123456789abcdef",
            user=user.name,
            label="نظام الموارد البشرية",
            secret_hash="ab" * 32,
            created_at="2026-03-01T09:00:00+00:00",
            expires_at="2026-04-01T09:00:00+00:00",
        )
        with catalog.transaction("admin") as tx:
            tx.add_token(token)
        with pytest.raises(NotFoundError), catalog.transaction("admin") as tx:
            tx.add_token(replace(token, id="fedcba9876543210", user="nobody"))
        assert catalog.get_token(token.id) == token
        revoked = replace(token, revoked_at="2026-03-02T09:00:00+00:00", last_used_at="y")
        with catalog.transaction("admin") as tx:
            tx.update_token(revoked)
        assert catalog.tokens(user.name) == [revoked] == catalog.tokens()
        assert catalog.tokens("someone-else") == []
        assert catalog.last_change() == 0, "users and tokens are not records"

    def test_void_twice_is_refused(self, catalog: Catalog) -> None:
        number = self.issue(catalog, "circ-1").number or ""
        with catalog.transaction("head") as tx:
            tx.void_number(number, "issued in error")
        changes = catalog.last_change()
        with pytest.raises(NumberingError, match="already void"), catalog.transaction("h") as tx:
            tx.void_number(number, "again")
        found = catalog.find_number(number)
        assert found is not None and found.reason == "issued in error"
        assert catalog.last_change() == changes

    def test_void_unknown_number(self, catalog: Catalog) -> None:
        with pytest.raises(NotFoundError, match="no/such/1"), catalog.transaction("h") as tx:
            tx.void_number("no/such/1", "typo")
        assert catalog.last_change() == 0

    # -- register -------------------------------------------------------------------------

    def test_register_order_and_filter(self, catalog: Catalog) -> None:
        self.issue(catalog, "b-2026-1", office_code="B")
        self.issue(catalog, "a-2026-1", office_code="A", period="2026")
        self.issue(catalog, "a-2025-1", office_code="A", period="2025")
        self.issue(catalog, "a-2026-2", office_code="A", period="2026")
        self.issue(catalog, "decision", series="decision", office_code="A")
        entries = catalog.register(SERIES)
        assert [(e.office_code, e.period, e.seq, e.record_id) for e in entries] == [
            ("A", "2025", 1, "a-2025-1"),
            ("A", "2026", 1, "a-2026-1"),
            ("A", "2026", 2, "a-2026-2"),
            ("B", "2026", 1, "b-2026-1"),
        ]
        assert [e.record_id for e in catalog.register(SERIES, "2025")] == ["a-2025-1"]
        assert [e.record_id for e in catalog.register("decision")] == ["decision"]
        assert catalog.register("letter") == []
        assert catalog.register(SERIES, "1999") == []

    def test_register_keeps_voided_numbers(self, catalog: Catalog) -> None:
        numbers = [self.issue(catalog, f"circ-{i}").number or "" for i in range(1, 4)]
        with catalog.transaction("head") as tx:
            tx.void_number(numbers[1], "duplicate letter")
        entries = catalog.register(SERIES)
        assert [(e.seq, e.status) for e in entries] == [(1, "issued"), (2, "void"), (3, "issued")]
        assert entries[1].reason == "duplicate letter"

    # -- audit chain ----------------------------------------------------------------------

    def test_audit_chain(self, catalog: Catalog) -> None:
        first = self.issue(catalog, "circ-1")
        scan = plain_record("scan-1", blob=b"scan")
        with catalog.transaction("clerk") as tx:
            tx.add_record(scan)
        with catalog.transaction("head") as tx:
            tx.void_number(first.number or "", "wrong addressee")
        with catalog.transaction("auditor") as tx:
            event = tx.audit("export", None, {"bag": "bag-1", "ids": ["circ-1"], "n": 1})
        events = list(catalog.audit_events())
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert events[0].prev_hash == GENESIS
        for before, after in pairwise(events):
            assert after.prev_hash == before.hash, f"event {after.seq} does not link"
        for e in events:
            assert e.hash == e.expected_hash(), f"event {e.seq} hash does not match its fields"
        assert [e.actor for e in events] == ["issuer", "clerk", "head", "auditor"]
        assert [e.record_id for e in events] == ["circ-1", "scan-1", "circ-1", None]
        assert events[0].action == "create"
        assert events[-1] == event
        assert events[-1].detail == {"bag": "bag-1", "ids": ["circ-1"], "n": 1}

    def test_audit_event_hash_covers_its_fields(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.audit("note", None, {"text": "ملاحظة"})
        (event,) = catalog.audit_events()
        assert event.hash == event.expected_hash()
        assert replace(event, actor="someone else").expected_hash() != event.hash
        assert replace(event, detail={"text": "changed"}).expected_hash() != event.hash

    def test_add_record_action(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("v2"), action="correct")
        (event,) = catalog.audit_events()
        assert (event.action, event.record_id) == ("correct", "v2")

    def test_record_digests_match_records(self, catalog: Catalog) -> None:
        issued = self.issue(catalog, "circ-1")
        scan = plain_record("scan-1", blob=b"bytes")
        with catalog.transaction("clerk") as tx:
            tx.add_record(scan)
        with catalog.transaction("head") as tx:
            tx.void_number(issued.number or "", "cancelled")
        digests = catalog.record_digests()
        assert digests == {"circ-1": issued.digest(), "scan-1": scan.digest()}
        for record_id, digest in digests.items():
            stored = catalog.get(record_id)
            assert stored is not None and stored.digest() == digest

    # -- change feed ----------------------------------------------------------------------

    def test_changes_since_and_last_change(self, catalog: Catalog) -> None:
        assert catalog.last_change() == 0
        assert catalog.changes_since(0) == []
        self.issue(catalog, "circ-1")
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
            tx.audit("note", None, {})
        self.issue(catalog, "circ-2")
        assert catalog.last_change() == 4
        assert catalog.changes_since(0) == [
            (1, "circ-1"),
            (2, "scan-1"),
            (3, None),
            (4, "circ-2"),
        ]
        assert catalog.changes_since(2) == [(3, None), (4, "circ-2")]
        assert catalog.changes_since(0, limit=2) == [(1, "circ-1"), (2, "scan-1")]
        assert catalog.changes_since(catalog.last_change()) == []

    # -- referral and follow-up (migration 3) ---------------------------------------------

    @staticmethod
    def referral(
        referral_id: str,
        record_id: str = "scan-1",
        *,
        department: str = "الدائرة القانونية",
        due: str = "2026-03-10",
        note_id: str = "note-1",
        parent_id: str | None = None,
        classification: Classification = Classification.CONFIDENTIAL,
    ) -> Referral:
        return Referral(
            id=referral_id,
            note_id=note_id,
            record_id=record_id,
            department=department,
            instruction="للدراسة وإبداء الرأي",
            referred_by="مدير المكتب",
            referred_at="2026-03-01T10:00:00+03:00",
            due=due,
            priority="normal",
            parent_id=parent_id,
            classification=classification,
        )

    def test_referral_added_audited_and_read_back(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
        before = catalog.last_change()
        first = self.referral("ref-1")
        second = self.referral("ref-2", department="الدائرة المالية")
        with catalog.transaction("director") as tx:
            tx.add_referral(first)
            tx.add_referral(second)
        assert catalog.get_referral("ref-1") == first
        assert catalog.get_referral("nope") is None
        assert catalog.referrals(note_id="note-1") == [first, second]
        assert catalog.referrals(department="الدائرة المالية") == [second]
        assert catalog.referrals(record_ids=["scan-1"]) == [first, second]
        assert catalog.referrals(ids=[]) == []
        assert catalog.referrals(max_classification=Classification.INTERNAL) == []
        events = list(catalog.audit_events())[before:]
        assert [(e.action, e.record_id) for e in events] == [
            ("refer", "scan-1"),
            ("refer", "scan-1"),
        ]
        assert events[0].detail["department"] == "الدائرة القانونية"
        assert catalog.changes_since(before) == [(before + 1, "scan-1"), (before + 2, "scan-1")]
        assert catalog.record_digests() == {"scan-1": plain_record("scan-1").digest()}

    def test_referral_to_a_missing_record_is_refused(self, catalog: Catalog) -> None:
        with (
            pytest.raises(NotFoundError, match="no record 'ghost' to refer"),
            catalog.transaction("director") as tx,
        ):
            tx.add_referral(self.referral("ref-1", "ghost"))
        assert catalog.referrals() == []
        assert catalog.last_change() == 0

    def test_answers_are_all_kept_and_the_first_answers(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
            tx.add_record(plain_record("reply-1"))
            tx.add_record(plain_record("reply-2"))
            tx.add_referral(self.referral("ref-1"))
            tx.add_referral(self.referral("ref-2", department="الدائرة المالية"))
        with catalog.transaction("legal") as tx:
            done = tx.answer_referral("ref-1", "reply-1", "2026-03-05T09:00:00+03:00")
        assert (done.status, done.answered_by, done.answers) == (
            "answered",
            "reply-1",
            ("reply-1",),
        )
        with catalog.transaction("legal") as tx:
            again = tx.answer_referral("ref-1", "reply-2", "2026-03-06T09:00:00+03:00")
        assert (again.answered_by, again.answers) == ("reply-1", ("reply-1", "reply-2"))
        assert catalog.get_referral("ref-2") is not None
        assert [r.status for r in catalog.referrals(note_id="note-1")] == ["answered", "open"]
        with (
            pytest.raises(FollowupError, match="already answers"),
            catalog.transaction("legal") as tx,
        ):
            tx.answer_referral("ref-1", "reply-2", "2026-03-07T09:00:00+03:00")
        with (
            pytest.raises(NotFoundError, match="no record 'ghost' to answer with"),
            catalog.transaction("legal") as tx,
        ):
            tx.answer_referral("ref-2", "ghost", "2026-03-07T09:00:00+03:00")
        with (
            pytest.raises(NotFoundError, match="no referral 'ref-9'"),
            catalog.transaction("legal") as tx,
        ):
            tx.answer_referral("ref-9", "reply-1", "2026-03-07T09:00:00+03:00")
        assert catalog.get_referral("ref-2") == self.referral("ref-2", department="الدائرة المالية")
        actions = [e.action for e in catalog.audit_events()]
        assert actions.count("answer") == 2

    def test_close_needs_an_open_referral(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
            tx.add_referral(self.referral("ref-1"))
        with catalog.transaction("director") as tx:
            closed = tx.close_referral("ref-1", "عولجت هاتفياً", "2026-03-02T09:00:00+03:00")
        assert (closed.status, closed.closed_reason) == ("closed", "عولجت هاتفياً")
        with (
            pytest.raises(FollowupError, match="referral ref-1 is already closed"),
            catalog.transaction("director") as tx,
        ):
            tx.close_referral("ref-1", "again", "2026-03-02T09:00:00+03:00")
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("reply-1"))
        with (
            pytest.raises(FollowupError, match="referral ref-1 is closed: عولجت هاتفياً"),
            catalog.transaction("legal") as tx,
        ):
            tx.answer_referral("ref-1", "reply-1", "2026-03-03T09:00:00+03:00")
        event = list(catalog.audit_events())[-2]
        assert (event.action, event.detail["reason"]) == ("close", "عولجت هاتفياً")

    def test_overdue_referrals(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
            tx.add_record(replace(plain_record("scan-2"), classification=Classification.SECRET))
            tx.add_record(plain_record("reply-1"))
            tx.add_referral(self.referral("a", department="ب", due="2026-03-10"))
            tx.add_referral(self.referral("b", department="أ", due="2026-03-12"))
            tx.add_referral(self.referral("c", department="أ", due="2026-03-09"))
            tx.add_referral(self.referral("d", department="أ", due="2026-03-09", parent_id="c"))
            tx.add_referral(
                self.referral("s", "scan-2", due="2026-03-01", classification=Classification.SECRET)
            )
        with catalog.transaction("legal") as tx:
            tx.answer_referral("d", "reply-1", "2026-03-05T09:00:00+03:00")
        top = int(Classification.TOP_SECRET)
        rows = catalog.overdue_referrals("2026-03-11", max_classification=top)
        assert [r.id for r, _, _ in rows] == ["c", "s", "a"]
        assert rows[0][1] == plain_record("scan-1").subject and rows[0][2] is None
        confidential = int(Classification.CONFIDENTIAL)
        assert [
            r.id
            for r, _, _ in catalog.overdue_referrals("2026-03-11", max_classification=confidential)
        ] == ["c", "a"]
        assert [
            r.id
            for r, _, _ in catalog.overdue_referrals(
                "2026-03-13", max_classification=confidential, department="أ"
            )
        ] == ["c", "b"]
        assert catalog.overdue_referrals("2026-03-01", max_classification=top) == []
        assert catalog.referrals(ids=["d"])[0].parent_id == "c"

    def test_import_referral_verbatim_without_audit(self, catalog: Catalog) -> None:
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1"))
            tx.add_record(plain_record("reply-1"))
        answered = replace(
            self.referral("ref-1"),
            status="answered",
            answered_by="reply-1",
            answered_at="2026-03-05T09:00:00+03:00",
            answers=("reply-1",),
        )
        before = catalog.last_change()
        with catalog.transaction("import") as tx:
            assert tx.import_referral(answered) is True
            assert tx.import_referral(answered) is False
        assert catalog.get_referral("ref-1") == answered
        assert catalog.last_change() == before

    # -- copying a catalog (migrate) ------------------------------------------------------

    def _filled(self, catalog: Catalog) -> None:
        first = self.issue(catalog, "circ-1")
        self.issue(catalog, "circ-2")
        self.issue(catalog, "dec-1", series="decision")
        with catalog.transaction("clerk") as tx:
            tx.add_record(plain_record("scan-1", blob=b"scan"))
        with catalog.transaction("head") as tx:
            tx.void_number(first.number or "", "wrong addressee")

    def test_numbers_and_sequences_list_every_register(self, catalog: Catalog) -> None:
        self._filled(catalog)
        lines = list(catalog.numbers())
        assert [(e.series, e.seq, e.status, e.record_id) for e in lines] == [
            (SERIES, 1, "void", "circ-1"),
            (SERIES, 2, "issued", "circ-2"),
            ("decision", 1, "issued", "dec-1"),
        ]
        assert lines[0].reason == "wrong addressee" and lines[0].actor == "head"
        assert sorted(catalog.sequences()) == [
            (SERIES, OFFICE, YEAR, 2),
            ("decision", OFFICE, YEAR, 1),
        ]

    def test_import_copies_a_catalog_verbatim(self, catalog: Catalog, location: Path) -> None:
        self._filled(catalog)
        (location / "copy").mkdir()
        copy = self.make_catalog(location / "copy")
        try:
            with copy.transaction("migrate") as tx:
                for record in catalog.records():
                    assert tx.import_record(record) is True
                for entry in catalog.numbers():
                    tx.import_number(entry)
                for series, office_code, period, last in catalog.sequences():
                    tx.import_sequence(series, office_code, period, last)
            events = list(catalog.audit_events())
            with copy.transaction("migrate") as tx:
                for event in events[:2]:
                    tx.import_event(event)
            with copy.transaction("migrate") as tx:  # a second run goes on from the head
                assert tx.import_record(next(catalog.records())) is False
                for event in events[2:]:
                    tx.import_event(event)
            assert [r.to_dict() for r in copy.records()] == [r.to_dict() for r in catalog.records()]
            assert list(copy.audit_events()) == events
            assert list(copy.numbers()) == list(catalog.numbers())
            assert copy.sequences() == catalog.sequences()
            assert copy.record_digests() == catalog.record_digests()
            with copy.transaction("issuer") as tx:  # numbering goes on
                assert tx.next_number(SERIES, OFFICE, YEAR) == 3
            with copy.transaction("migrate") as tx:  # a sequence is never lowered
                tx.import_sequence(SERIES, OFFICE, YEAR, 1)
                assert tx.next_number(SERIES, OFFICE, YEAR) == 4
        finally:
            copy.close()

    def test_import_event_must_extend_the_chain(self, catalog: Catalog, location: Path) -> None:
        self._filled(catalog)
        events = list(catalog.audit_events())
        (location / "copy").mkdir()
        copy = self.make_catalog(location / "copy")
        try:
            with pytest.raises(IntegrityError, match="follow"), copy.transaction("m") as tx:
                tx.import_event(events[1])  # not the first
            with pytest.raises(IntegrityError, match="altered"), copy.transaction("m") as tx:
                tx.import_event(replace(events[0], actor="someone else"))
            assert copy.last_change() == 0
            with copy.transaction("m") as tx:
                tx.import_event(events[0])
            with pytest.raises(IntegrityError, match="follow"), copy.transaction("m") as tx:
                tx.import_event(replace(events[1], prev_hash=GENESIS))
            assert copy.last_change() == 1
        finally:
            copy.close()
