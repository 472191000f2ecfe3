"""The Archive: the one facade over storage, catalog and search.

It opens the three backends chosen by URL, composes them into a
:class:`~docarchive.core.Core`, and hands each method to the capability that owns it:

=====================  ===================================================  ================
capability             methods                                              module
=====================  ===================================================  ================
templates              ``templates``, ``template_fields``, ``render``       ``issuing``
issuing                ``issue``                                            ``issuing``
batches                ``issue_many``                                       ``batch``
numbers                ``void``, ``register``, ``check_code``,              ``numbers``
                       ``void_interrupted``
scans                  ``ingest_scan``, ``ingest_scans``                    ``ingest.intake``
mail                   ``ingest_mail``, ``ingest_mails``, ``thread``        ``ingest.mailroom``
search                 ``search``; ``catch_up``, ``reindex``,               ``search.service``,
                       ``indexable``                                        ``search.sync``
reading                ``get``, ``blob``, ``now``, ``clearance``            ``core``
integrity              ``verify``                                           ``integrity``
transfer               ``export``, ``import_bag``, ``migrate``              ``transfer``
referrals              ``refer``, ``answer``, ``close_referral``,           ``referrals``
                       ``referral``, ``referrals``, ``followup``,
                       ``overdue``, ``incoming``, ``report``
accounts               ``add_user``, ``user``, ``users``, ``disable_user``,  ``accounts``
                       ``set_password``, ``login``, ``create_token``,
                       ``tokens``, ``revoke_token``, ``authenticate``
=====================  ===================================================  ================

Each such method of ``Archive`` *is* the capability's method (same signature, same
docstring, see :class:`_Delegate`): the facade holds no pipeline and no code specific to
a backend. Writes go blob first (atomic), then the catalog row (one transaction, with
the audit event and, for issued documents, the number), then the index (idempotent,
caught up from the catalog's change numbers). So a crash at any point leaves an archive
that opens, verifies and converges.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import urlsplit, urlunsplit

from .accounts import Accounts
from .batch import Batches, IssueBatch, RowFailure
from .catalog import Catalog, open_catalog
from .config import SETTINGS_FILE, Settings
from .core import Clock, Core
from .errors import ConfigurationError
from .ingest.intake import BatchResult, ScanIntake
from .ingest.mailroom import MailIntake
from .integrity import Integrity, Problem, VerifyReport
from .issuing import Issuing, Templates
from .numbers import CodeCheck, Numbers
from .referrals import Referrals
from .search import SearchIndex, open_index
from .search.service import SearchHit, Searching, SearchResults
from .search.sync import IndexSync
from .storage import BlobStorage, open_storage
from .transfer import Transfer

__all__ = [
    "Archive",
    "BatchResult",
    "CodeCheck",
    "IssueBatch",
    "Problem",
    "RowFailure",
    "SearchHit",
    "SearchResults",
    "VerifyReport",
]

C = TypeVar("C")
P = ParamSpec("P")
R = TypeVar("R")


class _Delegate(Generic[C, P, R]):
    """A method of :class:`Archive` that is a capability's method: ``archive.search(...)``
    is ``archive.<attribute>.search(...)``, with its signature and docstring (``help`` and
    type checkers see them; ``Archive.search`` is the capability's function)."""

    def __init__(self, attribute: str, method: Callable[Concatenate[C, P], R]) -> None:
        self.attribute = attribute
        self.method = method
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, archive: None, owner: type) -> Callable[Concatenate[C, P], R]: ...

    @overload
    def __get__(self, archive: Archive, owner: type) -> Callable[P, R]: ...

    def __get__(
        self, archive: Archive | None, owner: type
    ) -> Callable[P, R] | Callable[Concatenate[C, P], R]:
        if archive is None:
            return self.method
        bound: Callable[P, R] = getattr(getattr(archive, self.attribute), self.method.__name__)
        return bound


class Archive:
    """An archive of correspondence: ``Archive.open(root)`` and its methods.

    Every method that changes the archive takes ``actor`` (who is acting); it
    defaults to ``DOCARCHIVE_USER`` or the operating-system user and is written
    into the audit event.
    """

    def __init__(
        self,
        settings: Settings,
        storage: BlobStorage,
        catalog: Catalog,
        index: SearchIndex,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.core = core = Core(settings, storage, catalog, index, clock)
        self._templates = Templates(core)
        self._numbers = Numbers(core)
        self._issuing = Issuing(core, self._templates, self._numbers)
        self._batches = Batches(core, self._templates, self._numbers)
        self._scans = ScanIntake(core, self._numbers)
        self._mail = MailIntake(core, self._numbers)
        self._searching = Searching(core)
        self._integrity = Integrity(core)
        self._transfer = Transfer(core, self._searching)
        self._referrals = Referrals(core, self._templates)
        self._accounts = Accounts(core)

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def storage(self) -> BlobStorage:
        return self.core.storage

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    @property
    def index(self) -> SearchIndex:
        return self.core.index

    @property
    def _sync(self) -> IndexSync:
        return self.core.sync

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root_or_settings: str | os.PathLike[str] | Settings | None = None,
        *,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> Archive:
        """Open the archive at a folder (created with defaults if absent or empty).

        ``overrides`` take precedence over the environment and ``docarchive.toml``:
        ``storage``, ``catalog``, ``index`` (backend URLs), ``clearance``, ``timezone``,
        ``group`` and ``group_access`` (``[security]``, see :mod:`docarchive.permissions`).

        The folder and what is kept in it follow the permission policy: owner only (0700
        folders, 0600 files, 0400 blobs) unless ``[security] group`` names a group. Opening
        brings what libraries wrote (the catalog's -wal and -shm, the index) to the policy;
        ``verify`` reports anything else open beyond it (``fix_permissions`` fixes it).
        """
        if isinstance(root_or_settings, Settings):
            return cls._compose(root_or_settings, clock)._ready()
        settings = Settings.load(root_or_settings, **overrides)
        root = settings.root
        if root.exists() and not root.is_dir():
            raise ConfigurationError(f"{root} is a file, not an archive folder")
        if (root / SETTINGS_FILE).exists():
            return cls._compose(settings, clock)._ready()
        if root.exists() and any(root.iterdir()):
            raise ConfigurationError(
                f"{root} is not an archive (no {SETTINGS_FILE}) and is not empty; "
                "run 'docarchive init' on a new folder"
            )
        backends = {k: overrides[k] for k in ("storage", "catalog", "index") if overrides.get(k)}
        for url in backends.values():
            if urlsplit(url).password:
                raise ConfigurationError(
                    f"{_without_password(url)}: a password does not belong in a URL that "
                    "is written to the settings file; give it through the backend's own "
                    "means (PGPASSWORD or ~/.pgpass, boto3's credential chain)"
                )
        created = not root.exists()
        settings.permissions.folder(root)  # 0700 (or the group's mode), whatever the umask
        try:
            archive = cls._compose(settings, clock)
        except BaseException:
            if created:
                shutil.rmtree(root, ignore_errors=True)
            raise
        settings.write(backends=backends, creator=overrides.get("creator"))
        archive.core.files.fix_all()  # all of it just made here: the policy's group too
        return archive._ready()

    @classmethod
    def _compose(cls, settings: Settings, clock: Clock | None) -> Archive:
        storage = open_storage(settings.storage_url)
        catalog = open_catalog(settings.catalog_url)
        archive = cls(settings, storage, catalog, open_index(settings.index_url), clock=clock)
        if hasattr(archive.index, "text_limit"):
            archive.index.text_limit = settings.limits.indexed_text_chars
        return archive

    def _ready(self) -> Archive:
        """Bring a freshly opened archive up to date: quarantine folder, numbers left
        reserved by dead processes voided, index caught up, and the archive's own files
        brought to the permission policy."""
        files = self.core.files
        files.after_open()
        self.core.permissions.folder(self.settings.root / "quarantine")
        self.void_interrupted()
        self.catch_up()
        files.after_index_write()  # the engine may have made its files while opening
        return self

    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str],
        *,
        storage: str | None = None,
        catalog: str | None = None,
        index: str | None = None,
        actor: str | None = None,
        group: str | None = None,
        group_access: str | None = None,
    ) -> Archive:
        """Create a new archive in ``root`` (refuses a folder that already holds one).

        ``actor`` (default: ``DOCARCHIVE_USER`` or the OS user) is written into the
        settings with the highest clearance, until the settings say otherwise. ``group``
        (with ``group_access`` "read", the default, or "write") is written as
        ``[security] group``: that group may read (or write) what the archive writes;
        without it, everything is private to the account that runs it.
        """
        path = Path(root)
        if (path / SETTINGS_FILE).exists():
            raise ConfigurationError(f"{path} already holds an archive ({SETTINGS_FILE})")
        return cls.open(
            path,
            storage=storage,
            catalog=catalog,
            index=index,
            creator=actor,
            group=group,
            group_access=group_access,
        )

    def close(self) -> None:
        self._numbers.close()
        self.index.close()
        self.catalog.close()
        self.storage.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the capabilities -------------------------------------------------------------------

    now = _Delegate("core", Core.now)
    clearance = _Delegate("core", Core.clearance)
    get = _Delegate("core", Core.get)
    blob = _Delegate("core", Core.blob)

    catch_up = _Delegate("_sync", IndexSync.catch_up)
    reindex = _Delegate("_sync", IndexSync.reindex)
    indexable = _Delegate("_sync", IndexSync.indexable)
    search = _Delegate("_searching", Searching.search)

    templates = _Delegate("_templates", Templates.templates)
    template_fields = _Delegate("_templates", Templates.template_fields)
    render = _Delegate("_templates", Templates.render)
    issue = _Delegate("_issuing", Issuing.issue)
    issue_many = _Delegate("_batches", Batches.issue_many)

    void = _Delegate("_numbers", Numbers.void)
    void_interrupted = _Delegate("_numbers", Numbers.void_interrupted)
    register = _Delegate("_numbers", Numbers.register)
    check_code = _Delegate("_numbers", Numbers.check_code)

    ingest_scan = _Delegate("_scans", ScanIntake.ingest_scan)
    ingest_scans = _Delegate("_scans", ScanIntake.ingest_scans)
    ingest_mail = _Delegate("_mail", MailIntake.ingest_mail)
    ingest_mails = _Delegate("_mail", MailIntake.ingest_mails)
    thread = _Delegate("_mail", MailIntake.thread)

    verify = _Delegate("_integrity", Integrity.verify)

    export = _Delegate("_transfer", Transfer.export)
    import_bag = _Delegate("_transfer", Transfer.import_bag)
    migrate = _Delegate("_transfer", Transfer.migrate)

    refer = _Delegate("_referrals", Referrals.refer)
    answer = _Delegate("_referrals", Referrals.answer)
    close_referral = _Delegate("_referrals", Referrals.close_referral)
    referral = _Delegate("_referrals", Referrals.referral)
    referrals = _Delegate("_referrals", Referrals.referrals)
    followup = _Delegate("_referrals", Referrals.followup)
    overdue = _Delegate("_referrals", Referrals.overdue)
    incoming = _Delegate("_referrals", Referrals.incoming)
    report = _Delegate("_referrals", Referrals.report)

    add_user = _Delegate("_accounts", Accounts.add_user)
    user = _Delegate("_accounts", Accounts.user)
    users = _Delegate("_accounts", Accounts.users)
    disable_user = _Delegate("_accounts", Accounts.disable_user)
    set_password = _Delegate("_accounts", Accounts.set_password)
    login = _Delegate("_accounts", Accounts.login)
    create_token = _Delegate("_accounts", Accounts.create_token)
    tokens = _Delegate("_accounts", Accounts.tokens)
    revoke_token = _Delegate("_accounts", Accounts.revoke_token)
    authenticate = _Delegate("_accounts", Accounts.authenticate)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
