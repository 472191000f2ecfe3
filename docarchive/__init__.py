"""docarchive: correspondence archive for ministry offices.

Open an archive with :meth:`Archive.open`; every error derives from
:class:`DocArchiveError`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .archive import (
    Archive,
    BatchResult,
    IssueBatch,
    Problem,
    RowFailure,
    SearchHit,
    SearchResults,
    VerifyReport,
)
from .config import Settings
from .errors import (
    AccessDeniedError,
    ConfigurationError,
    DocArchiveError,
    FollowupError,
    IngestError,
    IntegrityError,
    LimitExceededError,
    MissingFieldError,
    NotFoundError,
    NumberingError,
    SearchError,
    StorageError,
    TemplateError,
    UnsafeInputError,
)
from .limits import Limits
from .records import Classification, FileRef, Record

__all__ = [
    "AccessDeniedError",
    "Archive",
    "BatchResult",
    "Classification",
    "ConfigurationError",
    "DocArchiveError",
    "FileRef",
    "FollowupError",
    "IngestError",
    "IntegrityError",
    "IssueBatch",
    "LimitExceededError",
    "Limits",
    "MissingFieldError",
    "NotFoundError",
    "NumberingError",
    "Problem",
    "Record",
    "RowFailure",
    "SearchError",
    "SearchHit",
    "SearchResults",
    "Settings",
    "StorageError",
    "TemplateError",
    "UnsafeInputError",
    "VerifyReport",
    "__version__",
]
