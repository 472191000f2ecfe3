"""Templates and issuing: finding a kind's template, the context every template is given,
drafts (:meth:`Templates.render`), and the issue pipeline (:meth:`Issuing.issue`):

number (reserved) → render DOCX → official PDF (LibreOffice) → stamp → store blobs →
commit the record (the number becomes issued) → catch the index up.

Any failure after the number was taken voids it with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import TemplateError
from .records import Classification, FileRef, Record, new_id
from .stamping import Stamp, stamp_pdf, verification_code
from .templates import (
    DEFAULT_DATE_FORMAT,
    TemplateFields,
    builtin_templates,
    docx_text,
    render_docx,
    template_fields,
)
from .templates.filters import hijri
from .templates.render import _check_fields, check_images

if TYPE_CHECKING:
    from .core import Core
    from .numbers import Numbers

__all__ = ["DOCX", "Issuing", "Templates"]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Templates:
    """The office's templates (built-in ones, overridden by its templates folder) and the
    context they are rendered with."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def templates(self) -> dict[str, Path]:
        """Kind → template: the built-in ones, overridden by the office's templates folder."""
        found = builtin_templates()
        folder = self.core.settings.templates_dir
        if folder and folder.is_dir():
            found.update(
                {
                    p.stem: p
                    for p in sorted(folder.glob("*.docx"))
                    if not p.name.startswith(("~$", "."))  # Word's lock files, hidden files
                }
            )
        return found

    def template_fields(self, template: str | os.PathLike[str]) -> TemplateFields:
        """The fields a template (a kind or a .docx path) reads: a
        :class:`~docarchive.templates.TemplateFields` with ``required``, ``optional``
        and ``paths`` (attributes read from required fields, e.g. ``signatory.name``).

        Besides its own fields, every template is given ``ministry``, ``office``,
        ``office_code``, ``number`` and ``date`` by :meth:`render` and
        :meth:`Issuing.issue`.
        """
        return template_fields(self.path(template), self.core.settings.limits)

    def path(self, template: str | os.PathLike[str]) -> Path:
        """The file of a template given as a kind or as a .docx path."""
        path = Path(template)
        if path.suffix.lower() != ".docx":
            return self.of_kind(str(template))
        if not path.is_file():
            raise TemplateError(f"{path}: no such template file")
        return path

    def of_kind(self, kind: str) -> Path:
        """The template of a kind; TemplateError naming the known kinds otherwise."""
        templates = self.templates()
        if kind not in templates:
            raise TemplateError(
                f"unknown kind {kind!r} (known: {', '.join(sorted(templates)) or 'none'})"
            )
        return templates[kind]

    def image_dirs(self) -> tuple[Path, ...]:
        """The folders an image named in data may come from: the office's templates folder."""
        folder = self.core.settings.templates_dir
        return (folder,) if folder is not None and folder.is_dir() else ()

    def date_format(self) -> str:
        return self.core.settings.date_format or DEFAULT_DATE_FORMAT

    def context(
        self, data: Mapping[str, Any], *, number: str | None, when: datetime
    ) -> dict[str, Any]:
        """What every template is given: the office's fields, the data, the number and date.

        ``number=None`` is a draft (:meth:`render`): the data's own ``number`` and ``date``
        are kept. The office's logo (``logo.png`` or ``logo.jpg`` in its templates folder)
        is the ``logo`` unless the data has one.
        """
        s = self.core.settings
        context: dict[str, Any] = {
            "ministry": s.ministry,
            "office": s.office_name,
            "office_code": s.office_code,
            **data,
        }
        folder = s.templates_dir
        if "logo" not in context and folder is not None:
            for name in ("logo.png", "logo.jpg", "logo.jpeg"):
                if (folder / name).is_file():
                    context["logo"] = folder / name
                    break
        today = when.strftime(self.date_format())
        if number is None:
            context.setdefault("number", "")
            context.setdefault("date", today)
        else:
            context["number"] = number
            context["date"] = today
        return context

    def render(
        self,
        template: str | os.PathLike[str],
        data: Mapping[str, Any],
        *,
        format: str = "docx",
        image_dir: str | os.PathLike[str] | None = None,
    ) -> bytes:
        """Render a template (a kind or a .docx path) with ``data``, without numbering it.

        ``format`` is ``"docx"`` or ``"pdf"`` (through LibreOffice). The data may carry
        ``number`` and ``date`` (a draft's); otherwise the number is empty and the date is
        today. An image named in the data (``logo``, ``{"image": "seal.png"}``) is the plain
        name of a file in ``image_dir`` (if given) or in the office's templates folder, never
        a path: anything else is refused like a missing file. An image may also be given as
        bytes, or in JSON as ``{"image": {"data": BASE64, "media_type": "image/png"}}``.
        """
        if format not in ("docx", "pdf"):
            raise TemplateError(f"unknown output format {format!r} (known: docx, pdf)")
        if not isinstance(data, Mapping):
            raise TemplateError("the data must be an object of fields")
        path = self.path(template)
        docx = self.draft(path, data, image_dir=image_dir)
        if format == "docx":
            return docx
        return self.core.to_pdf([docx], [f"{path.stem}.docx"])[0]

    def draft(
        self,
        path: Path,
        data: Mapping[str, Any],
        *,
        image_dir: str | os.PathLike[str] | None = None,
    ) -> bytes:
        """The DOCX of a template file rendered as a draft (no number) with ``data``."""
        return render_docx(
            path,
            self.context(data, number=None, when=self.core.now()),
            self.core.settings.limits,
            date_format=self.date_format(),
            image_dir=Path(image_dir) if image_dir is not None else None,
            image_dirs=self.image_dirs(),
        )


class Issuing:
    """The issue pipeline: a numbered, rendered, converted, stamped and stored document."""

    def __init__(self, core: Core, templates: Templates, numbers: Numbers) -> None:
        self.core = core
        self.templates = templates
        self.numbers = numbers

    def issue(
        self,
        kind: str,
        data: Mapping[str, Any],
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
    ) -> Record:
        """Number, render, convert to the official PDF, stamp, store and index a document.

        The pipeline: the next number of the kind's series is taken and entered in the
        register as reserved (a short catalog transaction: the numbering lock is never
        held while rendering or converting); the DOCX is rendered with that number, turned
        into PDF by LibreOffice and stamped (number, date, Hijri date, QR with the
        verification code); both files are stored; then the record is committed and the
        number becomes issued. If anything fails after the number was taken, the number
        is voided with the reason — it never silently disappears — and the error is
        raised. The reservation is held by this process's lease (:mod:`docarchive.leases`):
        no other process voids it while this one lives; a process killed mid-way leaves a
        reservation that the next open voids (at once on the same machine, after
        ``[issue] reservation_timeout_seconds`` from another). A number voided meanwhile
        raises :class:`~docarchive.errors.ReservationVoidedError` and nothing is stored.

        A missing field, and an image the data names that is not a plain file name in the
        office's templates folder (or is over the image limits, or bad bytes), are refused
        before the number is taken: they cost no number.
        """
        if not isinstance(data, Mapping):
            raise TemplateError(f"the data for a {kind} must be an object of fields")
        core, templates = self.core, self.templates
        settings = core.settings
        template = templates.of_kind(kind)
        series = settings.series_for(kind)
        level = core.classification(classification)
        who = core.actor(actor)
        when = core.now()
        record_id = new_id()
        # user errors (a missing field, a broken template) must not cost a number
        fields = template_fields(template, settings.limits)
        precheck = templates.context(data, number="", when=when)
        _check_fields(fields, precheck, template.name)
        check_images(
            precheck, settings.limits, name=template.name, image_dirs=templates.image_dirs()
        )
        number, registration = self.numbers.reserve(kind, record_id, who, when)
        try:
            docx = render_docx(
                template,
                templates.context(data, number=number, when=when),
                settings.limits,
                date_format=templates.date_format(),
                image_dirs=templates.image_dirs(),
            )
            blob = core.storage.put(docx)
            files = [FileRef("original", blob.sha256, blob.size, DOCX, f"{kind}.docx")]
            code = verification_code(settings.stamp_key(), record_id, number, blob.sha256)
            if settings.issue_pdf:
                pdf = core.to_pdf([docx], [f"{kind} {number}"])[0]
                stamped = stamp_pdf(
                    pdf, self._stamp(number, when, code), settings.stamp, settings.limits
                )
                rendition = core.storage.put(stamped)
                files.append(
                    FileRef(
                        "rendition",
                        rendition.sha256,
                        rendition.size,
                        "application/pdf",
                        f"{kind}.pdf",
                    )
                )
            record = Record(
                id=record_id,
                kind=kind,
                subject=str(data.get("subject", "")),
                text=docx_text(docx),
                number=number,
                series=series.name,
                sender=str(data.get("office", settings.office_name)),
                recipients=[str(r) for r in _as_list(data.get("recipients"))],
                office=settings.office_code,
                dates={"issued": when.isoformat(), "created": when.isoformat()},
                classification=level,
                files=files,
                source="issued",
                meta={
                    **registration,
                    "template": template.name,
                    "verification_code": code,
                },
            )
            with core.catalog.transaction(who) as tx:
                tx.add_record(record)
        except BaseException as exc:
            self.numbers.void_after_failure(number, who, exc)
            raise
        core.catch_up()
        return record

    def _stamp(self, number: str, when: datetime, code: str) -> Stamp:
        """صادر: the outgoing stamp with the number, dates and the verification QR code."""
        settings = self.core.settings
        lines = [f"العدد: {number}", f"التاريخ: {when.strftime(self.templates.date_format())}"]
        if settings.stamp_hijri:
            lines.append(f"الموافق: {hijri(when.date())}")
        lines.append(f"رمز التحقق: {code.split('-', 1)[1][:8]}")
        # with [server] public_url, any phone camera opens the check page from the QR code
        public = settings.server.public_url
        qr = f"{public}/check/{quote(code, safe='')}" if public else f"{number}|{code}"
        return Stamp(f"{settings.office_name} — صادر", tuple(lines), qr=qr)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]
