"""Settings of one archive.

Each setting is resolved in this order, first found wins:
argument > ``DOCARCHIVE_*`` environment variable > ``docarchive.toml`` > default.

``docarchive.toml`` lives in the archive's root folder::

    [backends]             # each a URL; defaults are the folder layout below
    storage = "file:///srv/archive/blobs"
    catalog = "sqlite:///srv/archive/catalog.sqlite"
    index = "tantivy:///srv/archive/index"   # or whoosh:///..., postgresql://...

    [office]
    name = "مكتب الوزير"
    code = "م.و"
    ministry = "جمهورية العراق — وزارة التخطيط"
    timezone = "Asia/Baghdad"

    [access]
    default_classification = "internal"
    default_clearance = "internal"   # of users not listed below

    [access.users]         # each user's clearance; init writes its user as top-secret
    "m.hassan" = "top-secret"
    clerk7 = "confidential"

    [series.circular]      # see docarchive.numbering
    format = "{office_code}/{kind_code}/{seq}/{year}"

    [limits]               # see docarchive.limits
    pdf_pages = 2000

    [security]             # see docarchive.permissions: owner only unless a group is named
    group = "docarchive"   # this group may read what the archive writes
    group_access = "read"  # or "write": its members may write too
    [pdf]                  # the official PDF: see docarchive.templates.resident
    mode = "resident"      # LibreOffice kept running; "batch": a fresh soffice per call
    converters = 1         # LibreOffice instances working at once; "auto": one per core
    timeout_seconds = 60   # per document; a hung LibreOffice is killed and restarted

    [search]               # the Arabic lexicon: see docarchive.search.lexicon
    lexicon = "auto"       # built-in words, and arramooz's nouns when installed; or "off"
    words = ["الكرخ"]      # words that exist as written: never cut
    [search.plurals]       # the office's own broken plurals: plural = singular
    "سراكيل" = "سركال"

    [followup]             # referral and follow-up: see docarchive.followup
    working_days = true
    holidays = ["2026-01-06"]
    [followup.priorities]
    urgent = 3
    normal = 14
    [followup.departments]
    "الدائرة القانونية" = "confidential"

Environment: ``DOCARCHIVE_ROOT``, ``DOCARCHIVE_STORAGE``, ``DOCARCHIVE_CATALOG``,
``DOCARCHIVE_INDEX``, ``DOCARCHIVE_USER``, ``DOCARCHIVE_PDF_MODE``,
``DOCARCHIVE_PDF_CONVERTERS``, ``DOCARCHIVE_LIMIT_<NAME>``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import tempfile
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tomli_w

from .errors import ConfigurationError
from .followup import FollowupSettings
from .limits import Limits
from .numbering import DEFAULT_SERIES, SeriesConfig
from .permissions import GROUP_ACCESS, Policy
from .records import Classification
from .search.lexicon import LexiconSettings
from .server.settings import ServerSettings
from .stamping import StampStyle

__all__ = [
    "SETTINGS_FILE",
    "PdfSettings",
    "Settings",
    "default_actor",
    "default_index_url",
    "default_root",
]

SETTINGS_FILE = "docarchive.toml"
_TABLES = {
    "backends",
    "office",
    "access",
    "series",
    "limits",
    "templates",
    "issue",
    "followup",
    "server",
    "security",
    "pdf",
    "search",
}
_SECURITY = ("group", "group_access")


@dataclass(frozen=True)
class PdfSettings:
    """``[pdf]``: how documents become PDF (see :mod:`docarchive.templates.resident`)."""

    mode: str = "resident"
    converters: int = 1
    timeout_s: float = 60.0

    @classmethod
    def from_settings(cls, table: Mapping[str, Any], environ: Mapping[str, str]) -> PdfSettings:
        known = {"mode", "converters", "timeout_seconds"}
        unknown = set(table) - known
        if unknown:
            raise ConfigurationError(
                f"unknown setting {sorted(unknown)[0]!r} in [pdf] "
                f"(known: {', '.join(sorted(known))})"
            )
        mode = str(environ.get("DOCARCHIVE_PDF_MODE") or table.get("mode", "resident"))
        if mode not in ("resident", "batch"):
            raise ConfigurationError(f"[pdf] mode must be 'resident' or 'batch', not {mode!r}")
        raw = environ.get("DOCARCHIVE_PDF_CONVERTERS") or table.get("converters", 1)
        if str(raw).strip().lower() == "auto":
            converters = os.cpu_count() or 1
        else:
            try:
                converters = int(raw)
            except (TypeError, ValueError):
                converters = 0
            if not 1 <= converters <= 64:
                raise ConfigurationError(f'[pdf] converters must be 1..64 or "auto", not {raw!r}')
        try:
            timeout = float(table.get("timeout_seconds", 60.0))
        except (TypeError, ValueError):
            timeout = 0.0
        if timeout <= 0:
            raise ConfigurationError("[pdf] timeout_seconds must be a positive number")
        return cls(mode, converters, timeout)


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    """``DOCARCHIVE_ROOT`` or ``./archive``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("DOCARCHIVE_ROOT") or "archive")


def default_index_url(root: Path) -> str:
    """The index of an archive whose settings name none: ``tantivy:///ROOT/index``, unless
    that folder already holds a whoosh index (an archive made before tantivy was the
    default), which stays whoosh until its settings say otherwise."""
    folder = root / "index"
    whoosh = (folder / "applied.json").exists() or any(folder.glob("_MAIN_*.toc"))
    return f"{'whoosh' if whoosh else 'tantivy'}://{quote(str(folder))}"


def default_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is acting: ``DOCARCHIVE_USER``, else the operating-system user."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCARCHIVE_USER"):
        return environ["DOCARCHIVE_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass(frozen=True)
class Settings:
    """Everything an :class:`~docarchive.Archive` needs to open its backends."""

    root: Path
    storage_url: str
    catalog_url: str
    index_url: str
    office_name: str = "مكتب الوزير"
    office_code: str = "م.و"
    ministry: str = "جمهورية العراق"
    timezone: str = "Asia/Baghdad"
    date_format: str = "%Y/%m/%d"
    default_classification: Classification = Classification.INTERNAL
    default_clearance: Classification = Classification.INTERNAL
    users: dict[str, Classification] = field(default_factory=dict)
    series: dict[str, SeriesConfig] = field(default_factory=lambda: dict(DEFAULT_SERIES))
    limits: Limits = field(default_factory=Limits)
    templates_dir: Path | None = None
    issue_pdf: bool = True
    stamp: StampStyle = field(default_factory=StampStyle)
    stamp_hijri: bool = True
    stamp_key_file: Path | None = None
    reservation_timeout_s: float = 600
    followup: FollowupSettings = field(default_factory=FollowupSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    #: ``[search]``: the lexicon of the analysis chain (:mod:`docarchive.search.lexicon`).
    search: LexiconSettings = field(default_factory=LexiconSettings)
    #: ``[security] group``: the one group that may read (``group_access = "read"``) or
    #: read and write (``"write"``) what the archive writes; None: owner only.
    group: str | None = None
    group_access: str = "read"
    pdf: PdfSettings = field(default_factory=PdfSettings)

    @property
    def permissions(self) -> Policy:
        """The permission policy of what this archive writes (:mod:`docarchive.permissions`);
        ConfigurationError when the group named does not exist."""
        return Policy.of(self.group, self.group_access)

    def stamp_key(self, environ: Mapping[str, str] | None = None) -> bytes:
        """The key of stamp verification codes: ``DOCARCHIVE_STAMP_KEY`` (hex), else the
        key file (created with 32 random bytes, mode 0600, on first use)."""
        environ = os.environ if environ is None else environ
        if environ.get("DOCARCHIVE_STAMP_KEY"):
            try:
                return bytes.fromhex(environ["DOCARCHIVE_STAMP_KEY"])
            except ValueError:
                raise ConfigurationError("DOCARCHIVE_STAMP_KEY must be hexadecimal") from None
        path = self.stamp_key_file or self.root / "stamp.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        except ValueError:
            raise ConfigurationError(f"{path}: not a hexadecimal stamp key") from None
        # Written whole under a temporary name, then linked into place: several processes
        # opening a new archive at once agree on one key, and none reads a half-written file.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".stamp.key.")
        try:
            self.permissions.apply_fd(fd)  # 0600, or 0640/0660 for the policy's group
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process was first: its key
                os.link(temp, path)
        finally:
            os.unlink(temp)
        return bytes.fromhex(path.read_text().strip())

    def clearance_of(self, user: str) -> Classification:
        """A user's clearance: ``[access.users]``, else ``default_clearance``."""
        return self.users.get(user, self.default_clearance)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def series_for(self, name: str) -> SeriesConfig:
        if name not in self.series:
            known = ", ".join(sorted(self.series))
            raise ConfigurationError(f"no numbering series {name!r} (configured: {known})")
        return self.series[name]

    @classmethod
    def load(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Read settings for the archive at ``root`` (a missing file means all defaults)."""
        environ = os.environ if environ is None else environ
        base = Path(root) if root is not None else default_root(environ)
        base = base.expanduser().absolute()
        doc = _read_toml(base / SETTINGS_FILE)

        backends = _table(doc, "backends")
        office = _table(doc, "office")
        access = _table(doc, "access")
        templates = _table(doc, "templates")

        def pick(arg: str, env: str, table: Mapping[str, Any], key: str, default: Any) -> Any:
            if overrides.get(arg) is not None:
                return overrides[arg]
            if environ.get(env):
                return environ[env]
            return table.get(key, default)

        series = dict(DEFAULT_SERIES)
        for name, table in _table(doc, "series").items():
            if not isinstance(table, dict):
                raise ConfigurationError(f"[series.{name}] must be a table")
            series[name] = SeriesConfig.from_settings(name, table)

        tz = str(pick("timezone", "DOCARCHIVE_TIMEZONE", office, "timezone", "Asia/Baghdad"))
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {tz!r} in [office] timezone") from None

        tdir = templates.get("folder")
        security = _table(doc, "security")
        if set(security) - set(_SECURITY):
            raise ConfigurationError(
                f"unknown setting {sorted(set(security) - set(_SECURITY))[0]!r} in [security] "
                f"(known: {', '.join(_SECURITY)})"
            )
        group = overrides.get("group") or security.get("group") or None
        group_access = str(overrides.get("group_access") or security.get("group_access", "read"))
        if group is not None and not isinstance(group, str):
            raise ConfigurationError("[security] group must be the name of a group")
        if group_access not in GROUP_ACCESS:
            raise ConfigurationError(
                f"[security] group_access must be 'read' or 'write', not {group_access!r}"
            )
        issue = _table(doc, "issue")
        known_issue = {
            "pdf",
            "stamp_position",
            "stamp_pages",
            "stamp_width_mm",
            "stamp_margin_mm",
            "hijri",
            "key_file",
            "reservation_timeout_seconds",
        }
        if set(issue) - known_issue:
            raise ConfigurationError(
                f"unknown setting {sorted(set(issue) - known_issue)[0]!r} in [issue] "
                f"(known: {', '.join(sorted(known_issue))})"
            )
        pdf_flag = pick("issue_pdf", "DOCARCHIVE_ISSUE_PDF", issue, "pdf", True)
        if isinstance(pdf_flag, str):
            pdf_flag = pdf_flag.strip().lower() not in ("0", "false", "no", "off")
        return cls(
            root=base,
            storage_url=str(
                pick(
                    "storage", "DOCARCHIVE_STORAGE", backends, "storage", (base / "blobs").as_uri()
                )
            ),
            catalog_url=str(
                pick(
                    "catalog",
                    "DOCARCHIVE_CATALOG",
                    backends,
                    "catalog",
                    f"sqlite://{quote(str(base / 'catalog.sqlite'))}",
                )
            ),
            index_url=str(
                pick("index", "DOCARCHIVE_INDEX", backends, "index", default_index_url(base))
            ),
            office_name=str(office.get("name", cls.office_name)),
            office_code=str(office.get("code", cls.office_code)),
            ministry=str(office.get("ministry", cls.ministry)),
            timezone=tz,
            date_format=str(office.get("date_format", "%Y/%m/%d")),
            default_classification=Classification.parse(
                access.get("default_classification", "internal")
            ),
            # no environment variable here: DOCARCHIVE_CLEARANCE is the CLI's --clearance,
            # which can only lower a user's clearance, never raise it
            default_clearance=Classification.parse(
                overrides.get("clearance") or access.get("default_clearance", "internal")
            ),
            users=_users(access),
            series=series,
            limits=Limits.load(_table(doc, "limits"), environ),
            templates_dir=(base / str(tdir)) if tdir else None,
            issue_pdf=bool(pdf_flag),
            stamp=StampStyle(
                position=str(issue.get("stamp_position", "bottom-left")),
                pages=str(issue.get("stamp_pages", "first")),
                width_mm=float(issue.get("stamp_width_mm", 70.0)),
                margin_mm=float(issue.get("stamp_margin_mm", 10.0)),
            ),
            stamp_hijri=bool(issue.get("hijri", True)),
            stamp_key_file=(base / str(issue["key_file"])) if issue.get("key_file") else None,
            reservation_timeout_s=_seconds(issue.get("reservation_timeout_seconds", 600)),
            followup=FollowupSettings.from_settings(_table(doc, "followup")),
            server=ServerSettings.from_settings(_table(doc, "server")),
            search=LexiconSettings.from_settings(_table(doc, "search")),
            group=group,
            group_access=group_access,
            pdf=PdfSettings.from_settings(_table(doc, "pdf"), environ),
        )

    def write(
        self, *, backends: Mapping[str, str] | None = None, creator: str | None = None
    ) -> Path:
        """Write a ``docarchive.toml`` for a new archive; backend URLs only where given."""
        doc: dict[str, Any] = {}
        if backends:
            doc["backends"] = {k: v for k, v in backends.items() if v}
        doc["office"] = {
            "name": self.office_name,
            "code": self.office_code,
            "ministry": self.ministry,
            "timezone": self.timezone,
            "date_format": self.date_format,
        }
        doc["access"] = {
            "default_classification": self.default_classification.label,
            "default_clearance": self.default_clearance.label,
            # the user creating the archive holds the highest clearance until edited here
            "users": {
                **{u: c.label for u, c in sorted(self.users.items())},
                (creator or default_actor()): max(Classification).label,
            },
        }
        doc["series"] = {
            name: {
                "format": s.format,
                "kind_code": s.kind_code,
                "padding": s.padding,
                "digits": s.digits,
                "reset": s.reset,
            }
            for name, s in sorted(self.series.items())
        }
        if self.group:
            doc["security"] = {"group": self.group, "group_access": self.group_access}
        path = self.root / SETTINGS_FILE
        self.permissions.write_file(path, tomli_w.dumps(doc).encode("utf-8"))
        return path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(doc) - _TABLES
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown table [{sorted(unknown)[0]}] (known: {', '.join(sorted(_TABLES))})"
        )
    return doc


def _users(access: Mapping[str, Any]) -> dict[str, Classification]:
    users = access.get("users", {})
    if not isinstance(users, dict):
        raise ConfigurationError(f"[access.users] in {SETTINGS_FILE} must be a table")
    return {str(user): Classification.parse(str(level)) for user, level in users.items()}


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"[{name}] in {SETTINGS_FILE} must be a table")
    return value


def _seconds(value: Any) -> float:
    """``[issue] reservation_timeout_seconds``: a number of seconds, not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(
            f"[issue] reservation_timeout_seconds must be a number of seconds, not {value!r}"
        )
    return float(value)
