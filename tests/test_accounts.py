"""Users and tokens through the library, on both catalogs: argon2id passwords, tokens kept
only as hashes, every change audited without a secret, and what a token stops being."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from docarchive import Archive
from docarchive.accounts import PERMISSIONS
from docarchive.errors import AccessDeniedError, ConfigurationError, IntegrityError, NotFoundError
from docarchive.records import Classification

PASSWORD = "مكتب-الوزير-2026"


@pytest.fixture(params=["sqlite", "postgres"])
def archive(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    catalog = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with Archive.open(tmp_path / "a", catalog=catalog) as archive:
        yield archive


def test_a_user_logs_in_with_an_argon2_password(archive: Archive) -> None:
    user = archive.add_user(
        "ليلى", PASSWORD, clearance="confidential", role="clerk", departments=["قسم الوارد"]
    )
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert archive.login("ليلى", PASSWORD) == archive.user("ليلى")
    assert archive.user("ليلى").clearance is Classification.CONFIDENTIAL
    messages = set()
    for name, password in (("ليلى", "wrong-password"), ("nobody", PASSWORD), ("../x", "p")):
        with pytest.raises(AccessDeniedError) as refused:
            archive.login(name, password)
        messages.add(str(refused.value))
    assert messages == {"wrong user name or password"}, "nothing tells which part was wrong"
    archive.set_password("ليلى", "كلمة-مرور-جديدة")
    with pytest.raises(AccessDeniedError):
        archive.login("ليلى", PASSWORD)
    assert archive.login("ليلى", "كلمة-مرور-جديدة").name == "ليلى"
    archive.disable_user("ليلى")
    with pytest.raises(AccessDeniedError):
        archive.login("ليلى", "كلمة-مرور-جديدة")


def test_bad_users_are_refused(archive: Archive) -> None:
    archive.add_user("omar", PASSWORD, clearance="internal", role="clerk")
    with pytest.raises(IntegrityError, match="already"):
        archive.add_user("omar", PASSWORD, clearance="secret", role="admin")
    assert archive.user("omar").role == "clerk"
    for name, password, role in (
        ("a/b", PASSWORD, "clerk"),
        ("", PASSWORD, "clerk"),
        ("x" * 65, PASSWORD, "clerk"),
        ("sami", "short", "clerk"),
        ("sami", PASSWORD, "minister"),
    ):
        with pytest.raises(ConfigurationError):
            archive.add_user(name, password, clearance="internal", role=role)
    with pytest.raises(NotFoundError):
        archive.user("sami")
    assert [u.name for u in archive.users()] == ["omar"]


def test_tokens_are_kept_as_hashes_and_shown_once(archive: Archive, tmp_path: Path) -> None:
    archive.add_user("suad", PASSWORD, clearance="secret", role="officer")
    made = archive.create_token("suad", label="نظام العقود", expires_days=30)
    secret = made.token
    # the secret part is urlsafe base64 and may itself hold "_": split only twice
    key = secret.split("_", 2)[2]
    assert len(key) >= 40
    assert made.to_dict()["token"] == secret and made.info.expires_at
    assert archive.authenticate(secret).name == "suad"
    stored = archive.tokens("suad")
    assert [t.id for t in stored] == [made.info.id]
    assert key not in json.dumps([t.to_dict() for t in stored])
    assert key not in repr(stored)
    catalog_file = tmp_path / "a" / "catalog.sqlite"
    if catalog_file.exists():
        raw = b"".join(p.read_bytes() for p in catalog_file.parent.glob("catalog.sqlite*"))
        assert key.encode() not in raw
        assert PASSWORD.encode() not in raw
    events = [e for e in archive.catalog.audit_events() if e.action.startswith(("user", "token"))]
    assert [e.action for e in events] == ["user-add", "token-create"]
    dumped = json.dumps([e.detail for e in events], ensure_ascii=False)
    assert key not in dumped and "argon2" not in dumped and PASSWORD not in dumped
    archive.revoke_token(made.info.id)
    with pytest.raises(AccessDeniedError, match="revoked"):
        archive.authenticate(secret)
    assert archive.tokens()[0].state() == "revoked"


def test_what_a_token_stops_being(archive: Archive) -> None:
    archive.add_user("suad", PASSWORD, clearance="secret", role="officer")
    short = archive.create_token("suad", label="short", expires_days=1 / 86400).token
    long = archive.create_token("suad", label="long").token
    for bad in ("", "da_", "da_zz_zz", long + "x", long[:-1] + ("A" if long[-1] != "A" else "B")):
        with pytest.raises(AccessDeniedError):
            archive.authenticate(bad)
    time.sleep(1.2)
    with pytest.raises(AccessDeniedError, match="expired"):
        archive.authenticate(short)
    assert archive.authenticate(long).name == "suad"
    (used,) = [t for t in archive.tokens() if t.label == "long"]
    assert used.last_used_at, "the last use is kept (at most once a minute)"
    archive.disable_user("suad")
    with pytest.raises(AccessDeniedError, match="disabled"):
        archive.authenticate(long)
    with pytest.raises(AccessDeniedError, match="disabled"):
        archive.create_token("suad", label="again")


def test_roles() -> None:
    assert PERMISSIONS["clerk"] < PERMISSIONS["officer"] < PERMISSIONS["admin"]
    assert "issue" not in PERMISSIONS["clerk"] and "void" not in PERMISSIONS["officer"]
