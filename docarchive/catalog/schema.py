"""The catalog's tables, written once for SQLite and PostgreSQL.

The two engines run the same DDL; the migrations are templates in which only type
names and a few engine-specific expressions differ, filled in per dialect by
:func:`migrations`. PostgreSQL text columns that are sorted or compared use the
``"C"`` collation, so listings sort exactly as in SQLite (by code point); its
integers that grow (sizes, sequence counters, audit ``seq``) are ``BIGINT``, where
SQLite's ``INTEGER`` is 64-bit anyway (and ``audit.seq INTEGER PRIMARY KEY`` is the
rowid). PostgreSQL also gets an index for paging through records in order.

Migration numbers are the schema versions stored in ``meta``: never change or
reorder a migration that has shipped; append a new one.
"""

from __future__ import annotations

__all__ = ["DIALECTS", "META_TABLE", "migrations"]

#: The table that holds ``schema_version``, created before any migration.
META_TABLE = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"

#: What each dialect fills in: ``text`` is a column that is sorted or compared,
#: ``bigint`` an integer that grows, ``meta_*`` the indexed JSON expressions of
#: migration 2 (the same ones the catalogs' ``find_by_meta`` queries use).
DIALECTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "text": "TEXT",
        "bigint": "INTEGER",
        "records_created": "",
        "meta_message_id": "json_extract(doc, '$.meta.message_id')",
        "meta_thread": "json_extract(doc, '$.meta.thread')",
    },
    "postgresql": {
        "text": 'TEXT COLLATE "C"',
        "bigint": "BIGINT",
        "records_created": "\n    CREATE INDEX records_created ON records(created_at, id);",
        "meta_message_id": "((doc::jsonb -> 'meta') -> 'message_id')",
        "meta_thread": "((doc::jsonb -> 'meta') -> 'thread')",
    },
}

_TEMPLATES: list[str] = [
    # 1: records, files, numbers, audit chain
    """
    CREATE TABLE records (
        id {text} PRIMARY KEY,
        kind {text} NOT NULL,
        number {text},
        series {text},
        classification INTEGER NOT NULL,
        source {text} NOT NULL,
        created_at {text} NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX records_number ON records(number);{records_created}
    CREATE TABLE record_files (
        record_id {text} NOT NULL REFERENCES records(id),
        role {text} NOT NULL,
        sha256 {text} NOT NULL,
        size {bigint} NOT NULL
    );
    CREATE INDEX record_files_sha ON record_files(sha256, role);
    CREATE TABLE sequences (
        series {text} NOT NULL,
        office_code {text} NOT NULL,
        period {text} NOT NULL,
        last {bigint} NOT NULL,
        PRIMARY KEY (series, office_code, period)
    );
    CREATE TABLE numbers (
        series {text} NOT NULL,
        office_code {text} NOT NULL,
        period {text} NOT NULL,
        seq {bigint} NOT NULL,
        number {text} NOT NULL UNIQUE,
        record_id {text},
        status {text} NOT NULL,
        at {text} NOT NULL,
        actor {text} NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (series, office_code, period, seq)
    );
    CREATE TABLE audit (
        seq {bigint} PRIMARY KEY,
        at {text} NOT NULL,
        actor {text} NOT NULL,
        action {text} NOT NULL,
        record_id {text},
        detail TEXT NOT NULL,
        prev_hash {text} NOT NULL,
        hash {text} NOT NULL
    );
    CREATE INDEX audit_record ON audit(record_id);
    """,
    # 2: mail: lookups by Message-ID and thread; where repeated imports left off (no audit)
    """
    CREATE INDEX records_message_id ON records({meta_message_id});
    CREATE INDEX records_thread ON records({meta_thread});
    CREATE TABLE cursors (
        name {text} PRIMARY KEY,
        value TEXT NOT NULL,
        at {text} NOT NULL
    );
    """,
    # 3: referral and follow-up: one row per department's share of a note; every answer
    """
    CREATE TABLE referrals (
        id {text} PRIMARY KEY,
        note_id {text} NOT NULL,
        kind {text} NOT NULL,
        record_id {text} NOT NULL REFERENCES records(id),
        department {text} NOT NULL,
        instruction TEXT NOT NULL,
        referred_by {text} NOT NULL,
        referred_at {text} NOT NULL,
        due {text} NOT NULL,
        priority {text} NOT NULL,
        status {text} NOT NULL,
        parent_id {text} REFERENCES referrals(id),
        answered_by {text} REFERENCES records(id),
        answered_at {text},
        closed_reason TEXT NOT NULL DEFAULT '',
        closed_at {text},
        classification INTEGER NOT NULL
    );
    CREATE INDEX referrals_record ON referrals(record_id);
    CREATE INDEX referrals_note ON referrals(note_id);
    CREATE INDEX referrals_parent ON referrals(parent_id);
    CREATE INDEX referrals_open ON referrals(status, due);
    CREATE INDEX referrals_department ON referrals(department, status);
    CREATE TABLE referral_answers (
        referral_id {text} NOT NULL REFERENCES referrals(id),
        record_id {text} NOT NULL REFERENCES records(id),
        at {text} NOT NULL,
        actor {text} NOT NULL,
        PRIMARY KEY (referral_id, record_id)
    );
    """,
    # 4: reservation leases: the process making a reserved number's record, and its heartbeat
    """
    CREATE TABLE leases (
        id {text} PRIMARY KEY,
        host {text} NOT NULL,
        boot {text} NOT NULL,
        pid {bigint} NOT NULL,
        started {text} NOT NULL,
        renewed_at {text} NOT NULL
    );
    ALTER TABLE numbers ADD COLUMN lease_id {text};
    CREATE INDEX numbers_lease ON numbers(lease_id, status);
    CREATE INDEX numbers_status ON numbers(status);
    """,
    # 5: the people behind the server: users (argon2 password hashes) and their API tokens
    """
    CREATE TABLE users (
        name {text} PRIMARY KEY,
        password_hash TEXT NOT NULL,
        clearance INTEGER NOT NULL,
        role {text} NOT NULL,
        departments TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at {text} NOT NULL,
        changed_at {text} NOT NULL
    );
    CREATE TABLE tokens (
        id {text} PRIMARY KEY,
        user_name {text} NOT NULL REFERENCES users(name),
        label TEXT NOT NULL,
        secret_hash {text} NOT NULL,
        created_at {text} NOT NULL,
        expires_at {text},
        revoked_at {text},
        last_used_at {text}
    );
    CREATE INDEX tokens_user ON tokens(user_name);
    """,
]


def migrations(dialect: str) -> list[str]:
    """The migrations for ``dialect`` (``"sqlite"`` or ``"postgresql"``): schema version
    ``n`` is reached by running the first ``n`` scripts."""
    names = DIALECTS[dialect]
    return [template.format(**names) for template in _TEMPLATES]
