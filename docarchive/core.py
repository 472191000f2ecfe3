"""What every capability shares: the three backends, the settings, the clock, and the
rules every door applies (who is acting, at which classification, with which clearance).

:class:`~docarchive.archive.Archive` makes one :class:`Core` and hands it to each
capability (issuing, intake, search, integrity, transfer, referrals); none of them holds
state of its own beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .catalog import Catalog
from .config import Settings, default_actor
from .errors import AccessDeniedError, NotFoundError
from .permissions import LocalFiles, Policy, adopt
from .records import Classification, Record
from .search import SearchIndex
from .search.analysis import use_lexicon
from .search.sync import IndexSync
from .storage import BlobStorage

__all__ = ["Clock", "Core"]

Clock = Callable[[], datetime]


@dataclass
class Core:
    """The backends and settings of one open archive, and the rules shared by every
    capability. The index is kept in step with the catalog by :attr:`sync`; what is kept
    on local disk follows :attr:`permissions` (:attr:`files`)."""

    settings: Settings
    storage: BlobStorage
    catalog: Catalog
    index: SearchIndex
    clock: Clock | None = None
    sync: IndexSync = field(init=False)
    permissions: Policy = field(init=False)
    files: LocalFiles = field(init=False)

    def __post_init__(self) -> None:
        self.analysis()
        self.permissions = self.settings.permissions
        adopt(self.storage, self.permissions)
        self.files = LocalFiles.of(
            self.permissions, self.settings.root, self.storage, self.catalog, self.index
        )
        if self.files.index is not None:  # made private before the engine writes in it
            self.permissions.folder(self.files.index)
        self.sync = IndexSync(
            self.catalog, self.index, after_write=self.files.after_index_write, before=self.analysis
        )

    def now(self) -> datetime:
        """The current time in the office's time zone."""
        current = self.clock() if self.clock else datetime.now(self.settings.tz)
        if current.tzinfo is None:
            current = current.replace(tzinfo=self.settings.tz)
        return current.astimezone(self.settings.tz)

    def analysis(self) -> None:
        """Make this archive's lexicon the one the analysis chain uses in this process (a
        no-op when it is already): before every use of the index."""
        use_lexicon(self.settings.search)

    def catch_up(self) -> int:
        """Bring the index up to the catalog's last change (see :class:`IndexSync`, which
        makes this archive's analysis chain the one in use first)."""
        return self.sync.catch_up()

    def actor(self, actor: str | None) -> str:
        """Who is acting: the given name, else ``DOCARCHIVE_USER`` or the OS user."""
        return actor or default_actor()

    def classification(self, value: str | Classification | None) -> Classification:
        """A record's classification: the given one, else the settings' default."""
        return (
            self.settings.default_classification if value is None else Classification.parse(value)
        )

    def clearance(
        self, value: str | Classification | None, user: str | None = None
    ) -> Classification:
        """The clearance to apply.

        A library caller (``user`` None) passes the clearance of the person it acts for,
        or gets ``[access] default_clearance``. For a ``user`` (the command line), the
        settings give their own clearance (``[access.users]``); ``value`` may lower it,
        never raise it.
        """
        if user is None:
            return self.settings.default_clearance if value is None else Classification.parse(value)
        own = self.settings.clearance_of(user)
        if value is None:
            return own
        asked = Classification.parse(value)
        if asked > own:
            raise AccessDeniedError(
                f"{user} holds clearance {own.label} and cannot act as {asked.label}"
            )
        return asked

    def get(
        self,
        id_or_number: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Record:
        """A record by id or official number.

        NotFoundError when there is none; AccessDeniedError when it is classified above
        the caller's clearance (see :meth:`clearance` for ``clearance`` and ``user``).
        """
        allowed = self.clearance(clearance, user)
        record = self.catalog.get(id_or_number)
        if record is None:
            entry = self.catalog.find_number(id_or_number)
            record = self.catalog.get(entry.record_id) if entry and entry.record_id else None
        if record is None:
            raise NotFoundError(f"no record {id_or_number!r}")
        if record.classification > allowed:
            raise AccessDeniedError(
                f"record {id_or_number!r} is classified above your clearance ({allowed.label})"
            )
        return record

    def to_pdf(self, docs: Sequence[bytes], names: Sequence[str]) -> list[bytes]:
        """The PDF of each .docx, by the process's shared LibreOffice converter
        (:func:`~docarchive.templates.resident.shared_converter`) as ``[pdf]`` sets it up:
        kept running, ``converters`` instances, ``timeout_seconds`` per document."""
        from .templates.resident import shared_converter

        pdf = self.settings.pdf
        pool = shared_converter(pdf.converters, mode=pdf.mode)
        return pool.convert(docs, names, timeout=pdf.timeout_s, limits=self.settings.limits)

    def blob(self, sha256: str) -> bytes:
        """The bytes of a stored file."""
        return self.storage.get(sha256)
