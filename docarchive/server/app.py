"""The HTTP API: ``/api/v1``, a door onto the same :class:`~docarchive.Archive` as the CLI.

Every route but ``/api/v1/check/{code}``, ``/api/v1/login`` and the OpenAPI document
needs ``Authorization: Bearer TOKEN`` (a token made by ``docarchive tokens create`` or
returned by ``POST /api/v1/login``). The caller's clearance and name come from that
token's user only: they are the clearance of every read and the actor of every write in
the audit chain. A record above the clearance answers 404, as one that does not exist.
JSON bodies have the shapes of the CLI's ``--json``; errors are
``{"error": {"code": ..., "message": ...}}``.

One archive is opened per server process; its calls are serialized by a lock (the search
index's reader is shared), so a server scales by ``--workers`` (processes), each with its
own archive over the same backends.
"""

import contextlib
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..accounts import User
from ..archive import Archive
from ..errors import (
    AccessDeniedError,
    ConfigurationError,
    DocArchiveError,
    FollowupError,
    IngestError,
    IntegrityError,
    LimitExceededError,
    NotFoundError,
    NumberingError,
    SearchError,
    TemplateError,
)
from ..records import Classification, Record
from .sessions import LoginLimiter, TooManyAttempts, start_session
from .uploads import content_disposition, ingest_uploads

__all__ = ["ApiError", "create_app"]

log = logging.getLogger(__name__)

API = "/api/v1"
JSON_BODY_BYTES = 16 * 1024 * 1024  # a document's data, a referral: far below this
SAFE_NAME = re.compile(r"[^\w.\- ()]+")


class ApiError(Exception):
    """An answer other than success: the HTTP status, a short code and a message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("www-authenticate", "Bearer")


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


#: library errors as HTTP answers (the most specific class first)
_STATUS: list[tuple[type[DocArchiveError], int, str]] = [
    (NotFoundError, 404, "not_found"),
    (AccessDeniedError, 403, "forbidden"),
    (LimitExceededError, 413, "too_large"),
    (IntegrityError, 409, "conflict"),
    (NumberingError, 409, "conflict"),
    (FollowupError, 409, "conflict"),
    (TemplateError, 422, "invalid"),
    (IngestError, 422, "invalid"),
    (SearchError, 400, "bad_query"),
    (ConfigurationError, 422, "invalid"),
]


def _from_library(exc: DocArchiveError) -> tuple[int, str]:
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return status, code
    return 400, "bad_request"


class _BodyLimit:
    """Refuses a request body over the route's cap with 413 before it is read whole:
    at once from ``Content-Length``, else while it streams in."""

    def __init__(self, app: Any, caps: Callable[[str], int]) -> None:
        self.app, self.caps = app, caps

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = _error(413, "too_large", f"the request body is over {cap:,} bytes")
        if declared is not None:
            try:
                if int(declared) > cap:
                    await too_large(scope, receive, send)
                    return
            except ValueError:
                await _error(400, "bad_request", "bad Content-Length")(scope, receive, send)
                return
        seen = 0
        over = False

        async def counted() -> MutableMapping[str, Any]:
            nonlocal seen, over
            if over:  # the parser asks for more: the body ends here for it
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        answered = False

        async def sending(message: MutableMapping[str, Any]) -> None:
            # whatever the application makes of a cut body, the answer is 413
            nonlocal answered
            if not over:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await too_large(scope, receive, send)

        try:
            await self.app(scope, counted, sending)
        except Exception:
            if not over or answered:
                raise
            await too_large(scope, receive, send)


_SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


def create_app(archive_opener: Callable[[], Archive] | Archive | None = None) -> FastAPI:
    """The ASGI application over one archive: an open :class:`Archive`, a function that
    opens one at start-up, or None for ``DOCARCHIVE_ROOT`` (and the other ``DOCARCHIVE_*``
    settings), as ``docarchive serve`` starts its workers."""
    lock = threading.RLock()
    owned = not isinstance(archive_opener, Archive)
    if isinstance(archive_opener, Archive):
        archive = archive_opener
    elif archive_opener is not None:
        archive = archive_opener()
    else:
        archive = Archive.open(os.environ.get("DOCARCHIVE_ROOT") or None)
    server = archive.settings.server
    limiter = LoginLimiter(server.login_attempts, server.login_window_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            archive.close()

    def the_archive() -> Archive:
        return archive

    app = FastAPI(
        title="docarchive",
        summary="Correspondence archive of a ministry office: issue, ingest, search, refer.",
        version=_version(),
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # the interactive pages load scripts from a CDN; offices may be offline
        redoc_url=None,
        lifespan=lifespan,
    )
    # -- errors as JSON -----------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, **exc.headers)

    @app.exception_handler(DocArchiveError)
    async def library_error(_: Request, exc: DocArchiveError) -> JSONResponse:
        status, code = _from_library(exc)
        return _error(status, code, str(exc).splitlines()[0][:1000])

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return _error(422, "invalid", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in the API")
        return _error(500, "internal", "internal error; the server's log has the details")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    origins = server.cors_origins
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    def cap(path: str) -> int:
        if path in (f"{API}/scans", f"{API}/mail"):
            return int(archive.settings.limits.input_bytes)
        return JSON_BODY_BYTES

    app.add_middleware(_BodyLimit, caps=cap)

    # -- who is calling -----------------------------------------------------------------------

    def caller(authorization: Annotated[str | None, Header()] = None) -> User:
        if not authorization:
            raise ApiError(401, "unauthorized", "log in: Authorization: Bearer TOKEN")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use Authorization: Bearer TOKEN")
        try:
            with lock:
                return the_archive().authenticate(token)
        except AccessDeniedError as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None

    Caller = Annotated[User, Depends(caller)]

    def allowed(user: User, permission: str) -> None:
        if not user.may(permission):
            raise ApiError(403, "forbidden", f"a {user.role} may not {permission}")

    @contextlib.contextmanager
    def hidden(what: str) -> Iterator[None]:
        """A record above the caller's clearance is not found: its existence is not told."""
        try:
            yield
        except AccessDeniedError:
            raise ApiError(404, "not_found", f"no record {what!r}") from None

    # -- public -------------------------------------------------------------------------------

    @app.get(f"{API}/check/{{code}}", tags=["public"])
    def check(code: str) -> dict[str, Any]:
        """Whether a stamp's verification code is genuine. For a genuine code: the number,
        kind, office and date of issue only; never the subject or the text."""
        with lock:
            found = the_archive().check_code(code[:200], clearance=max(Classification))
        return found.public()

    @app.post(f"{API}/login", tags=["users"])
    def login(
        request: Request,
        name: Annotated[str, Body(max_length=64)],
        password: Annotated[str, Body(max_length=1024)],
    ) -> dict[str, Any]:
        """A token for the session (``[server] session_hours``); failed attempts are
        limited per user name and per client address."""
        client = request.client.host if request.client else "?"
        try:
            user, made = start_session(
                archive, lock, limiter, name, password, client, label="login"
            )
        except TooManyAttempts as busy:
            wait = str(int(busy.wait) + 1)
            raise ApiError(429, "too_many_attempts", str(busy), {"retry-after": wait}) from None
        except AccessDeniedError as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        return {"token": made.token, "expires_at": made.info.expires_at, "user": user.to_dict()}

    # -- the caller ---------------------------------------------------------------------------

    @app.get(f"{API}/me", tags=["users"])
    def me(user: Caller) -> dict[str, Any]:
        return user.to_dict()

    # -- issue, ingest ------------------------------------------------------------------------

    @app.post(f"{API}/issue/{{kind}}", status_code=201, tags=["documents"])
    def issue(
        kind: str,
        user: Caller,
        data: Annotated[dict[str, Any], Body()],
        classification: str | None = None,
    ) -> dict[str, Any]:
        """Number, render, convert, stamp and store a document of ``kind``; the body is
        its data (the fields of the kind's template). Returns the record."""
        allowed(user, "issue")
        level = user.may_file(classification) if classification else None
        with lock:
            record = the_archive().issue(kind, data, classification=level, actor=user.name)
        return record.to_dict(text=False)

    def _batch(
        user: Caller, files: list[UploadFile], work: Callable[[list[Path]], Any]
    ) -> dict[str, Any]:
        allowed(user, "ingest")
        if not files:
            raise ApiError(422, "invalid", "files: give one or more files")
        return ingest_uploads(files, work, lock)

    @app.post(f"{API}/scans", tags=["ingest"])
    def scans(
        user: Caller,
        files: Annotated[list[UploadFile], File()],
        subject: Annotated[str | None, Form()] = None,
        sender: Annotated[str | None, Form()] = None,
        department: Annotated[str | None, Form()] = None,
        received: Annotated[str | None, Form()] = None,
        classification: Annotated[str | None, Form()] = None,
        stamp: Annotated[bool, Form()] = True,
    ) -> dict[str, Any]:
        """Archive scans (PDF, PNG, JPEG, TIFF): the batch result of ``ingest scan``."""
        level = user.may_file(classification) if classification else None
        return _batch(
            user,
            files,
            lambda paths: the_archive().ingest_scans(
                paths,
                subject=subject,
                sender=sender,
                department=department,
                received=received,
                classification=level,
                stamp=stamp,
                actor=user.name,
            ),
        )

    @app.post(f"{API}/mail", tags=["ingest"])
    def mail(
        user: Caller,
        files: Annotated[list[UploadFile], File()],
        classification: Annotated[str | None, Form()] = None,
    ) -> dict[str, Any]:
        """Archive mail (.eml or mbox files): the batch result of ``ingest mail``."""
        level = user.may_file(classification) if classification else None
        return _batch(
            user,
            files,
            lambda paths: the_archive().ingest_mails(paths, classification=level, actor=user.name),
        )

    # -- read ---------------------------------------------------------------------------------

    @app.get(f"{API}/search", tags=["read"])
    def search(
        user: Caller,
        q: Annotated[str, Query(max_length=2000)] = "",
        kind: str | None = None,
        office: str | None = None,
        sender: str | None = None,
        date_from: Annotated[str | None, Query(alias="from")] = None,
        date_to: Annotated[str | None, Query(alias="to")] = None,
        sort: Annotated[str, Query(pattern="^(relevance|newest)$")] = "relevance",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 10,
    ) -> dict[str, Any]:
        """Full-text search within the caller's clearance (hits, total, facets, snippets)."""
        allowed(user, "read")
        with lock:
            found = the_archive().search(
                q,
                kind=kind,
                office=office,
                sender=sender,
                date_from=date_from,
                date_to=date_to,
                sort=sort,
                page=page,
                page_size=page_size,
                clearance=user.clearance,
            )
        return dict(found.to_dict())

    def _record(user: User, ref: str) -> Record:
        allowed(user, "read")
        with hidden(ref), lock:
            return the_archive().get(ref, clearance=user.clearance)

    @app.get(API + "/records/{record_id}/files/{role}", tags=["read"])
    def record_file(record_id: str, role: str, user: Caller) -> Response:
        """A file of a record (``original``, ``rendition``, ``attachment`` — the first of
        that role, or ``attachment:N``) with its type and name."""
        record = _record(user, record_id)
        wanted, _, index = role.partition(":")
        matching = [f for f in record.files if f.role == wanted]
        try:
            ref = matching[int(index) if index else 0]
        except (ValueError, IndexError):
            raise ApiError(404, "not_found", f"record {record.id} has no file {role!r}") from None
        with lock:
            data = the_archive().blob(ref.sha256)
        return Response(
            data,
            media_type=ref.media_type or "application/octet-stream",
            headers={"content-disposition": content_disposition(ref.name or ref.role)},
        )

    @app.get(API + "/records/{ref:path}", tags=["read"])
    def record(ref: str, user: Caller) -> dict[str, Any]:
        """One record by id or number, with its referrals and, for mail, its thread."""
        found = _record(user, ref)
        archive = the_archive()
        with lock:
            thread = (
                archive.thread(found.id, clearance=user.clearance) if found.source == "mail" else []
            )
            referrals = archive.referrals(found.id, clearance=user.clearance)
        shown = found.to_dict()
        if thread:
            shown["thread"] = [
                {"id": r.id, "subject": r.subject, "sender": r.sender} for r in thread
            ]
        return {**shown, "referrals": referrals}

    # -- referral and follow-up -----------------------------------------------------------------

    @app.post(f"{API}/referrals", status_code=201, tags=["referrals"])
    def refer(
        user: Caller,
        record: Annotated[str, Body(max_length=200)],
        departments: Annotated[list[str], Body(min_length=1, max_length=100)],
        instruction: Annotated[str, Body(max_length=10_000)],
        due: Annotated[str | None, Body()] = None,
        priority: Annotated[str | None, Body()] = None,
        follow_up: Annotated[bool, Body()] = False,
    ) -> list[dict[str, Any]]:
        """Refer a record (id or number), or a referral (its id) onward, to departments."""
        allowed(user, "refer")
        if due and priority:
            raise ApiError(422, "invalid", "give due or priority, not both")
        with hidden(record), lock:
            made = the_archive().refer(
                record,
                departments,
                instruction,
                due=due,
                priority=priority,
                kind="followup" if follow_up else "referral",
                clearance=user.clearance,
                actor=user.name,
            )
        return [r.to_dict() for r in made]

    @app.post(API + "/referrals/{referral_id}/answer", tags=["referrals"])
    def answer(
        referral_id: str, user: Caller, reply: Annotated[str, Body(embed=True, max_length=200)]
    ) -> dict[str, Any]:
        """Answer a referral with a record (id or number) that replies to it."""
        allowed(user, "answer")
        with hidden(referral_id), lock:
            done = the_archive().answer(
                referral_id, reply, clearance=user.clearance, actor=user.name
            )
        return dict(done.to_dict())

    @app.post(API + "/referrals/{referral_id}/close", tags=["referrals"])
    def close(
        referral_id: str,
        user: Caller,
        reason: Annotated[str, Body(max_length=2000)],
        cancel: Annotated[bool, Body()] = False,
    ) -> dict[str, Any]:
        """Close (done without a reply) or cancel a referral, with the reason."""
        allowed(user, "close")
        with hidden(referral_id), lock:
            done = the_archive().close_referral(
                referral_id, reason, cancel=cancel, clearance=user.clearance, actor=user.name
            )
        return dict(done.to_dict())

    @app.get(f"{API}/followup", tags=["referrals"])
    def followup(
        user: Caller,
        department: str | None = None,
        overdue: bool = False,
        as_of: date | None = None,
    ) -> list[dict[str, Any]]:
        """Open referrals and follow-up items within the caller's clearance."""
        allowed(user, "read")
        with lock:
            return list(
                the_archive().followup(
                    department=department, overdue=overdue, as_of=as_of, clearance=user.clearance
                )
            )

    # -- numbers and the archive --------------------------------------------------------------

    @app.get(API + "/register/{series}", tags=["numbers"])
    def register(
        series: str, user: Caller, year: Annotated[int | None, Query(ge=1900, le=9999)] = None
    ) -> list[dict[str, Any]]:
        """Every number of a series (one year of it), issued, void or reserved."""
        allowed(user, "read")
        with lock:
            return [dict(e.__dict__) for e in the_archive().register(series, year)]

    @app.post(f"{API}/void", tags=["numbers"])
    def void(
        user: Caller,
        number: Annotated[str, Body(max_length=200)],
        reason: Annotated[str, Body(max_length=2000)],
    ) -> dict[str, Any]:
        """Void a number with a reason (administrators)."""
        allowed(user, "void")
        with lock:
            return dict(the_archive().void(number, reason, actor=user.name).__dict__)

    @app.get(f"{API}/verify", tags=["archive"])
    def verify(user: Caller, strict: bool = False) -> dict[str, Any]:
        """Check blobs, the audit chain and the index (administrators)."""
        allowed(user, "verify")
        with lock:
            return dict(the_archive().verify(strict=strict).to_dict())

    app.state.limiter = limiter
    from .web.pages import add_pages

    add_pages(app, archive, lock)
    return app


def _version() -> str:
    from .. import __version__

    return __version__


def app_from_env() -> FastAPI:
    """The application for ``docarchive serve``'s workers: the archive at
    ``DOCARCHIVE_ROOT``."""
    return create_app()
