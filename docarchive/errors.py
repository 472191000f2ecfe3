"""Every error docarchive raises, in one tree.

::

    DocArchiveError                  the root: catch this to catch everything we raise
    ├── ConfigurationError           bad settings, unknown backend URL, archive not found
    ├── TemplateError                a template that cannot be rendered
    │   └── MissingFieldError        the data lacks a field the template uses
    ├── NumberingError               a number cannot be taken, voided or found
    ├── FollowupError                a referral cannot be made, answered or closed
    ├── StorageError                 a blob cannot be written or read (carries url and key)
    ├── IngestError                  an input file cannot be archived (carries the file)
    │   └── UnsafeInputError         refused unread: a symbolic link, or swapped after listing
    ├── SearchError                  a query cannot be parsed or run
    ├── LimitExceededError           untrusted input over a cap in docarchive.limits
    ├── AccessDeniedError            the caller's clearance is below the record's classification
    ├── NotFoundError                no record with that id or number
    └── IntegrityError               stored bytes or the audit chain do not verify

The library raises; only the command line turns errors into one-line messages
and exit codes. Third-party errors are wrapped with ``raise ... from`` in one
place per backend, so the original stays available as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "ConfigurationError",
    "DocArchiveError",
    "FollowupError",
    "IngestError",
    "IntegrityError",
    "LimitExceededError",
    "MissingFieldError",
    "NotFoundError",
    "NumberingError",
    "ReservationVoidedError",
    "SearchError",
    "StorageError",
    "TemplateError",
    "UnsafeInputError",
]


class DocArchiveError(Exception):
    """The root of every error docarchive raises."""


class ConfigurationError(DocArchiveError):
    """Settings are wrong: an unknown backend, a bad URL, a missing archive."""


class TemplateError(DocArchiveError):
    """A template cannot be found, read or rendered."""


class MissingFieldError(TemplateError):
    """The data given to a template lacks a field the template uses."""

    def __init__(self, field: str, template: str) -> None:
        self.field = field
        self.template = template
        super().__init__(f"template {template!r} needs the field {field!r}, which the data lacks")


class NumberingError(DocArchiveError):
    """A number cannot be taken, voided or found."""


class ReservationVoidedError(NumberingError):
    """The number reserved for a document being made was voided before the document was
    stored (by an administrator, or by another process that found its issuer gone): the
    document is not stored under it, and the number stays void."""


class FollowupError(DocArchiveError):
    """A referral that cannot be made, answered or closed (the message says why).

    An unknown department or priority, a due date in the past, an empty instruction, a
    department cleared below the record, a referral no longer open. Still importable from
    :mod:`docarchive.followup`, where it used to live.
    """


class StorageError(DocArchiveError):
    """A blob cannot be written or read."""

    def __init__(self, message: str, *, url: str = "", key: str = "") -> None:
        self.url = url
        self.key = key
        where = f" ({url}{'/' if url and key else ''}{key})" if url or key else ""
        super().__init__(f"{message}{where}")


class IngestError(DocArchiveError):
    """An input file cannot be archived; ``file`` names it and ``reason`` says why."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


class UnsafeInputError(IngestError):
    """An input refused without being read: a symbolic link in an intake folder (not
    followed), or a file that is not the one listed (a link or another file put in its
    place). Nothing of it is read, copied or kept, not even in quarantine."""


class SearchError(DocArchiveError):
    """A query cannot be parsed or run."""


class LimitExceededError(DocArchiveError):
    """Untrusted input went over one of the caps in :mod:`docarchive.limits`."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        super().__init__(
            f"{limit} is {value}, over the limit of {maximum} "
            f"(raise it with DOCARCHIVE_LIMIT_{limit.upper()} "
            f"or [limits] {limit} in docarchive.toml)"
        )


class AccessDeniedError(DocArchiveError):
    """The caller's clearance does not allow this record."""


class NotFoundError(DocArchiveError):
    """No record has that id or number."""


class IntegrityError(DocArchiveError):
    """Stored bytes or the audit chain do not verify."""
