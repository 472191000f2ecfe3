"""The people behind the server: users with argon2-hashed passwords, roles and clearances,
and the API tokens they act with.

Users and tokens live in the catalog (migration 5), so every server over one catalog
knows the same people. A token is shown once, when it is made: ``da_<id>_<secret>``; the
catalog keeps only the SHA-256 of its secret (the secret is 32 random bytes, so a fast
hash is safe; passwords, which people choose, get argon2id). Every change to a user or a
token is an event of the audit chain; no event holds a password, a hash or a secret.

Roles say what a user may do (:data:`ROLES`):

==========  ====================================================================
role        may
==========  ====================================================================
``clerk``   read and search (within clearance), ingest scans and mail, refer, answer
``officer`` a clerk's, and issue documents, close referrals
``admin``   an officer's, and void numbers, verify, manage users and tokens
==========  ====================================================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import AccessDeniedError, ConfigurationError, NotFoundError
from .records import Classification

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Accounts",
    "IssuedToken",
    "Token",
    "User",
    "hash_password",
    "verify_password",
]

#: What each role may do, by the name of the permission routes and commands ask for.
PERMISSIONS: dict[str, frozenset[str]] = {
    "clerk": frozenset({"read", "ingest", "refer", "answer"}),
    "officer": frozenset({"read", "ingest", "refer", "answer", "issue", "close"}),
    "admin": frozenset(
        {"read", "ingest", "refer", "answer", "issue", "close", "void", "verify", "admin"}
    ),
}
ROLES = tuple(PERMISSIONS)

NAME = re.compile(r"[\w.@-]{1,64}")  # letters of any script, digits, . _ @ -
TOKEN = re.compile(r"da_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (the parameters are argon2-cffi's defaults)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigurationError(
            f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )
    return str(_hasher().hash(password))


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 hash ``stored``."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored, password[:MAX_PASSWORD]))
    except (VerificationError, InvalidHashError):
        return False


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class User:
    """A person who logs in: their clearance, their role and departments."""

    name: str
    password_hash: str = field(repr=False)
    clearance: Classification
    role: str
    departments: tuple[str, ...] = ()
    disabled: bool = False
    created_at: str = ""
    changed_at: str = ""

    def may(self, permission: str) -> bool:
        return not self.disabled and permission in PERMISSIONS.get(self.role, frozenset())

    def may_file(self, classification: str | Classification) -> Classification:
        """A classification this user may give a record: at most their own clearance
        (AccessDeniedError above it, ConfigurationError for no classification at all)."""
        level = Classification.parse(classification)
        if level > self.clearance:
            raise AccessDeniedError(f"{self.name} cannot file a record as {level.label}")
        return level

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clearance": self.clearance.label,
            "role": self.role,
            "departments": list(self.departments),
            "disabled": self.disabled,
            "created_at": self.created_at,
            "changed_at": self.changed_at,
        }

    def row(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.password_hash,
            int(self.clearance),
            self.role,
            json.dumps(list(self.departments), ensure_ascii=False),
            int(self.disabled),
            self.created_at,
            self.changed_at,
        )

    @classmethod
    def from_row(cls, row: Any) -> User:
        name, password_hash, clearance, role, departments, disabled, created, changed = row
        return cls(
            name=name,
            password_hash=password_hash,
            clearance=Classification(int(clearance)),
            role=role,
            departments=tuple(json.loads(departments)),
            disabled=bool(disabled),
            created_at=created,
            changed_at=changed,
        )


@dataclass(frozen=True)
class Token:
    """An API token as the catalog keeps it: never its secret, only the secret's hash."""

    id: str
    user: str
    label: str
    secret_hash: str = field(repr=False)
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None

    def state(self, now: str | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= (now or _now()):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "label": self.label,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
            "state": self.state(),
        }

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.user,
            self.label,
            self.secret_hash,
            self.created_at,
            self.expires_at,
            self.revoked_at,
            self.last_used_at,
        )

    @classmethod
    def from_row(cls, row: Any) -> Token:
        return cls(*row)


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret ``token`` is shown this once and stored nowhere."""

    token: str
    info: Token

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, **self.info.to_dict()}


class Accounts:
    """Users and tokens of one archive (the catalog keeps them)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    # -- users ----------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        password: str,
        *,
        clearance: str | Classification,
        role: str,
        departments: list[str] | tuple[str, ...] = (),
        actor: str | None = None,
    ) -> User:
        """A new user who logs in with ``password`` (hashed with argon2id)."""
        if not NAME.fullmatch(name):
            raise ConfigurationError(
                f"a user name is 1 to 64 letters, digits or . _ @ -, not {name!r}"
            )
        if role not in PERMISSIONS:
            raise ConfigurationError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        now = _now()
        user = User(
            name=name,
            password_hash=hash_password(password),
            clearance=Classification.parse(clearance),
            role=role,
            departments=tuple(d.strip() for d in departments if d.strip()),
            created_at=now,
            changed_at=now,
        )
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            tx.add_user(user)
            tx.audit("user-add", None, _audited(user))
        return user

    def user(self, name: str) -> User:
        found = self.core.catalog.get_user(name)
        if found is None:
            raise NotFoundError(f"no user {name!r}")
        return found

    def users(self) -> list[User]:
        return self.core.catalog.users()

    def disable_user(self, name: str, *, actor: str | None = None) -> User:
        """The user can no longer log in, and their tokens stop working."""
        user = replace(self.user(name), disabled=True, changed_at=_now())
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            tx.update_user(user)
            tx.audit("user-disable", None, {"user": name})
        return user

    def set_password(self, name: str, password: str, *, actor: str | None = None) -> User:
        user = replace(self.user(name), password_hash=hash_password(password), changed_at=_now())
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            tx.update_user(user)
            tx.audit("user-password", None, {"user": name})
        return user

    def login(self, name: str, password: str) -> User:
        """The user ``name`` if ``password`` is theirs and they are not disabled; else
        :class:`AccessDeniedError` with the same message whatever was wrong."""
        user = self.core.catalog.get_user(name) if NAME.fullmatch(name) else None
        if user is None:
            verify_password(_DUMMY_HASH(), password)  # the same time as for a real user
            raise AccessDeniedError("wrong user name or password")
        if not verify_password(user.password_hash, password) or user.disabled:
            raise AccessDeniedError("wrong user name or password")
        return user

    # -- tokens ---------------------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        *,
        label: str,
        expires_days: float | None = None,
        actor: str | None = None,
    ) -> IssuedToken:
        """A new token for user ``name``; its secret is in the result only."""
        user = self.user(name)
        if user.disabled:
            raise AccessDeniedError(f"user {name!r} is disabled")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = (
            (now + timedelta(days=expires_days)).isoformat(timespec="seconds")
            if expires_days is not None
            else None
        )
        info = Token(
            id=token_id,
            user=name,
            label=label.strip()[:200],
            secret_hash=_secret_hash(secret),
            created_at=now.isoformat(timespec="seconds"),
            expires_at=expires,
        )
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            tx.add_token(info)
            tx.audit(
                "token-create",
                None,
                {"user": name, "token": token_id, "label": info.label, "expires": expires},
            )
        return IssuedToken(f"da_{token_id}_{secret}", info)

    def tokens(self, name: str | None = None) -> list[Token]:
        return self.core.catalog.tokens(name)

    def revoke_token(self, token_id: str, *, actor: str | None = None) -> Token:
        found = self.core.catalog.get_token(token_id)
        if found is None:
            raise NotFoundError(f"no token {token_id!r}")
        if found.revoked_at:
            return found
        revoked = replace(found, revoked_at=_now())
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            tx.update_token(revoked)
            tx.audit("token-revoke", None, {"user": found.user, "token": token_id})
        return revoked

    def authenticate(self, token: str) -> User:
        """The user a presented token belongs to; :class:`AccessDeniedError` for a token
        that is malformed, unknown, revoked, expired, or whose user is disabled."""
        match = TOKEN.fullmatch(token.strip())
        if match is None:
            raise AccessDeniedError("not a docarchive token")
        found = self.core.catalog.get_token(match[1])
        if found is None or not hmac.compare_digest(found.secret_hash, _secret_hash(match[2])):
            raise AccessDeniedError("unknown token")
        state = found.state()
        if state != "active":
            raise AccessDeniedError(f"the token is {state}")
        user = self.core.catalog.get_user(found.user)
        if user is None or user.disabled:
            raise AccessDeniedError("the token's user is disabled")
        now = _now()
        if (found.last_used_at or "")[:16] != now[:16]:  # at most one write a minute
            with self.core.catalog.transaction(user.name) as tx:
                tx.update_token(replace(found, last_used_at=now))
        return user


def _audited(user: User) -> dict[str, Any]:
    return {
        "user": user.name,
        "role": user.role,
        "clearance": user.clearance.label,
        "departments": list(user.departments),
    }


_dummy: list[str] = []


def _DUMMY_HASH() -> str:
    """A hash to verify against when the user does not exist (made once, lazily)."""
    if not _dummy:
        _dummy.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]
