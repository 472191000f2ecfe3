"""Read a paper scan: recognise its type from its bytes, extract its text under limits.

The file's name and extension are never trusted: the type comes from the
content's magic bytes. A PDF's own text layer is read with PDFium (pypdfium2),
which, unlike pypdf, keeps runs of digits in Arabic text in logical order. An
image scan (PNG, JPEG, multi-page TIFF) is decoded with Pillow under the
``scan_pixels`` limit, turned into a PDF rendition (img2pdf, which embeds JPEG and
Group 4 TIFF data as they are; Pillow otherwise) and read by OCR
(:mod:`docarchive.ingest.ocr`), as is a PDF without a text layer.

Keep what can be kept: a PDF encrypted with a password, or a scan whose OCR cannot
run, is returned with ``searchable=False`` and the reason. Only a file that is
corrupt, or is not what it claims to be, raises :class:`IngestError`.

Metadata may come in a sidecar JSON beside the scan (``scan.pdf.json`` or
``scan.json``) — see :func:`read_sidecar`.

Files are opened without following links (:mod:`docarchive.ingest.files`): a path given
may be a link, resolved once; a link beside it (a sidecar) is not followed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, IngestError, LimitExceededError
from ..limits import Limits, check
from .failures import parser_step, reason_for
from .files import InputFile, given_file
from .ocr import OCR_DPI, OcrResult, ocr_images
from .precheck import check_image, check_pdf
from .worker import tick

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "SCAN_SUFFIXES",
    "SIDECAR_FIELDS",
    "Scan",
    "ScanInfo",
    "day_argument",
    "is_sidecar",
    "parse_day",
    "read_scan",
    "read_sidecar",
    "scan_bytes",
    "sidecar_for",
    "sniff",
]

log = logging.getLogger(__name__)

_MAGIC: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
    (b"II*\x00", "image/tiff", "TIFF image"),
    (b"MM\x00*", "image/tiff", "TIFF image"),
    (b"GIF87a", "image/gif", "GIF image"),
    (b"GIF89a", "image/gif", "GIF image"),
    (b"PK\x03\x04", "application/zip", "zip archive"),
]
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/tiff"}
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u200e\u200f\ufeff"))
SCAN_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
SIDECAR_FIELDS = ("sender", "subject", "department", "received", "classification")
SIDECAR_BYTES = 64 * 1024
DEFAULT_DPI = 200  # assumed for an image that does not say its resolution


@dataclass(frozen=True)
class Scan:
    """A scan's bytes, type and text, ready to archive.

    ``rendition`` is the PDF made from an image scan (``None`` for a PDF);
    ``searchable`` is False when no text could be read, ``reason`` says why;
    ``ocr`` tells the text came from OCR; ``encrypted`` marks a PDF locked by a password.
    """

    path: Path
    data: bytes
    media_type: str
    text: str
    pages: int
    has_text_layer: bool
    rendition: bytes | None = field(default=None, repr=False)
    searchable: bool = True
    reason: str = ""
    ocr: bool = False
    encrypted: bool = False


@dataclass(frozen=True)
class ScanInfo:
    """What is known about a scan besides its content: from a sidecar or from arguments."""

    sender: str | None = None
    subject: str | None = None
    department: str | None = None
    received: date | None = None
    classification: str | None = None

    def over(self, base: ScanInfo) -> ScanInfo:
        """These values where given, ``base``'s elsewhere (arguments over a sidecar)."""
        given = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        return replace(base, **given)


class _Encrypted(IngestError):
    """The PDF is sound but locked with a password."""


def sniff(head: bytes) -> tuple[str, str]:
    """(media type, description) from the first bytes of a file."""
    for magic, media_type, label in _MAGIC:
        if head.startswith(magic):
            return media_type, label
    # PDFs may carry junk before the header; the spec tolerates up to 1 KiB
    if b"%PDF-" in head[:1024]:
        return "application/pdf", "PDF"
    return "application/octet-stream", "unrecognised data"


def read_scan(
    path: str | Path | InputFile, limits: Limits, *, ocr: bool = True, follow_links: bool = False
) -> Scan:
    """Read and check one scan; IngestError names the file and the reason.

    ``path`` may be a link (it is resolved once), or a file listed in an intake folder
    (:class:`~docarchive.ingest.files.InputFile`), opened without following links. With
    ``ocr=False`` image scans and PDFs without a text layer are read without OCR (and
    flagged not searchable).
    """
    source = path if isinstance(path, InputFile) else given_file(path, follow_links=follow_links)
    return scan_bytes(source.label, source.read(limits.input_bytes, "input_bytes"), limits, ocr=ocr)


def scan_bytes(path: str | Path, data: bytes, limits: Limits, *, ocr: bool = True) -> Scan:
    """Check and read a scan's bytes, already read from ``path`` (which names it in
    errors, and whose suffix says what it claims to be)."""
    path = Path(path)
    with parser_step(str(path)):  # any parser's exception is this file's failure
        return _scan_bytes(path, data, limits, ocr)


def _scan_bytes(path: Path, data: bytes, limits: Limits, ocr: bool) -> Scan:
    name = str(path)
    if not data:
        raise IngestError(name, "empty file (0 bytes)")
    media_type, label = sniff(data[:1024])
    if media_type == "application/pdf":
        return _read_pdf(path, data, limits, ocr)
    claimed = path.suffix.lower().lstrip(".")
    if claimed == "pdf":
        raise IngestError(name, f"not a PDF: its content is {label}")
    if media_type in _IMAGE_TYPES:
        return _read_image(path, data, media_type, label, limits, ocr)
    raise IngestError(name, f"unsupported file type ({label})")


# -- PDF ------------------------------------------------------------------------------------


def _read_pdf(path: Path, data: bytes, limits: Limits, ocr: bool) -> Scan:
    name = str(path)
    try:
        check_pdf(data, limits)  # declared pages, image sizes, nesting: before PDFium
    except LimitExceededError as exc:
        raise IngestError(name, str(exc)) from exc
    try:
        text, pages = _pdf_text(name, data, limits)
    except _Encrypted as exc:
        return Scan(
            path,
            data,
            "application/pdf",
            "",
            0,
            False,
            searchable=False,
            reason=exc.reason,
            encrypted=True,
        )
    if text.strip():
        return Scan(path, data, "application/pdf", text, pages, True)
    if not ocr:
        return Scan(
            path,
            data,
            "application/pdf",
            "",
            pages,
            False,
            searchable=False,
            reason="no text layer, and OCR was not asked for",
        )
    result = ocr_images(_pdf_pages(name, data, limits), max_chars=limits.indexed_text_chars)
    return _with_ocr(Scan(path, data, "application/pdf", "", pages, False), result)


def _pdf_text(name: str, data: bytes, limits: Limits) -> tuple[str, int]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc).replace("Failed to load document", "cannot open the PDF")
        if "password" in reason.lower():
            raise _Encrypted(name, "the PDF is encrypted with a password") from exc
        raise IngestError(name, f"broken PDF: {reason}") from exc
    try:
        pages = len(pdf)
        try:
            check(limits, "pdf_pages", pages)
        except LimitExceededError as exc:
            raise IngestError(name, str(exc)) from exc
        texts: list[str] = []
        total = 0
        for index in range(pages):
            try:
                page = pdf[index]  # a broken page tree fails here ("Failed to load page.")
            except Exception as exc:
                raise IngestError(name, reason_for(exc, f"broken PDF: page {index + 1}")) from exc
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            except Exception as exc:
                raise IngestError(name, reason_for(exc, f"broken PDF: page {index + 1}")) from exc
            finally:
                page.close()
            text = unicodedata.normalize("NFC", text.translate(_BIDI_CONTROLS)).replace(
                "\r\n", "\n"
            )
            tick()  # a page read: the parser worker's step deadline moves on
            texts.append(text)
            total += len(text)
            if total > limits.indexed_text_chars:
                break
        return "\n\f".join(texts), pages
    finally:
        pdf.close()


def _pdf_pages(name: str, data: bytes, limits: Limits) -> Iterator[PILImage]:
    """The pages of a PDF as greyscale images at OCR_DPI (less for pages so big that they
    would go over ``scan_pixels``)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for index in range(len(pdf)):
            try:
                page = pdf[index]
            except pdfium.PdfiumError as exc:
                log.warning("%s: page %d cannot be loaded for OCR: %s", name, index + 1, exc)
                continue
            try:
                width, height = page.get_size()
                scale = OCR_DPI / 72
                pixels = width * height * scale * scale
                if pixels > limits.scan_pixels:
                    scale *= (limits.scan_pixels / pixels) ** 0.5
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil()
            except pdfium.PdfiumError as exc:
                log.warning("%s: page %d cannot be rendered for OCR: %s", name, index + 1, exc)
                continue
            finally:
                page.close()
            tick()
            yield image
    finally:
        pdf.close()


# -- images ---------------------------------------------------------------------------------

_BOMB = re.compile(r"\((\d+) pixels\)")


def _read_image(
    path: Path, data: bytes, media_type: str, label: str, limits: Limits, ocr: bool
) -> Scan:
    name = str(path)
    try:
        check_image(data, limits)  # the size its header declares: before any decoder
    except LimitExceededError as exc:
        raise IngestError(name, str(exc)) from exc
    from PIL import Image, UnidentifiedImageError

    broken = Exception  # a decoder's error of any kind: the file is broken
    with warnings.catch_warnings():  # untrusted files: Pillow's warnings are not ours to raise
        warnings.simplefilter("ignore")
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            found = _BOMB.search(str(exc))
            pixels = int(found.group(1)) if found else 0
            if pixels > limits.scan_pixels:
                raise IngestError(
                    name, str(LimitExceededError("scan_pixels", pixels, limits.scan_pixels))
                ) from exc
            raise IngestError(name, f"{label} over Pillow's pixel limit: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise IngestError(name, f"broken {label}: its content cannot be decoded") from exc
        except broken as exc:
            raise IngestError(name, reason_for(exc, f"broken {label}")) from exc
        frames, index = 1, 0
        try:
            frames = int(getattr(image, "n_frames", 1))
            if frames < 1:
                raise IngestError(name, f"{label} without any page")
            check(limits, "pdf_pages", frames)
            dpi = _dpi(image)
            for index in range(frames):
                image.seek(index)
                width, height = image.size
                if width < 1 or height < 1:
                    raise IngestError(name, f"{label}: page {index + 1} has no pixels")
                check(limits, "scan_pixels", width * height)
                image.load()
                tick()
        except LimitExceededError as exc:
            raise IngestError(name, str(exc)) from exc
        except IngestError:
            raise
        except broken as exc:
            where = f": page {index + 1}" if frames > 1 else ""
            raise IngestError(name, reason_for(exc, f"broken {label}{where}")) from exc
        with parser_step(name, f"{label}: its PDF rendition cannot be made"):
            rendition = _image_pdf(name, data, image, frames, dpi)
    scan = Scan(path, data, media_type, "", frames, False, rendition=rendition)
    if not ocr:
        return replace(scan, searchable=False, reason="OCR was not asked for")
    return _with_ocr(scan, ocr_images(_frames(image, frames), max_chars=limits.indexed_text_chars))


def _dpi(image: PILImage) -> tuple[float, float]:
    value: Any = image.info.get("dpi")
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        return (DEFAULT_DPI, DEFAULT_DPI)
    return (x, y) if 30 <= x <= 4800 and 30 <= y <= 4800 else (DEFAULT_DPI, DEFAULT_DPI)


def _frames(image: PILImage, frames: int) -> Iterator[PILImage]:
    """Each page as a greyscale image for OCR."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index in range(frames):
            image.seek(index)
            yield image.convert("L")


def _image_pdf(
    name: str, data: bytes, image: PILImage, frames: int, dpi: tuple[float, float]
) -> bytes:
    """A PDF with one page per frame, at the image's resolution."""
    from PIL import Image

    try:
        import img2pdf
    except ImportError:
        pass
    else:
        try:
            layout = None
            if "dpi" not in image.info:
                layout = img2pdf.get_fixed_dpi_layout_fun(dpi)
            return bytes(
                img2pdf.convert(data, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
            )
        except Exception as exc:  # img2pdf refuses some images (alpha, odd modes): Pillow can
            log.debug("%s: img2pdf cannot embed it (%s); Pillow makes the PDF", name, exc)
    pages = []
    for index in range(frames):
        image.seek(index)
        page = image
        if page.mode not in ("1", "L", "RGB", "CMYK"):
            page = page.convert(
                "RGBA" if "A" in page.mode or "transparency" in page.info else "RGB"
            )
            if page.mode == "RGBA":
                ground = Image.new("RGB", page.size, "white")
                ground.paste(page, mask=page.getchannel("A"))
                page = ground
        pages.append(page.copy())
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=dpi[0])
    return out.getvalue()


def _with_ocr(scan: Scan, result: OcrResult) -> Scan:
    text = result.text
    if result.error:
        reason = result.error
    elif not text.strip():
        reason = "OCR found no text"
    else:
        reason = ""
    return replace(
        scan,
        text=text,
        searchable=bool(text.strip()) and not result.error,
        reason=reason,
        ocr=bool(result.pages),
    )


# -- sidecar metadata -----------------------------------------------------------------------


def _source(path: str | Path | InputFile) -> InputFile:
    return path if isinstance(path, InputFile) else given_file(path)


def sidecar_for(path: str | Path | InputFile) -> InputFile | None:
    """The sidecar JSON of a scan, if there is one: ``scan.pdf.json``, else ``scan.json``
    (as listed beside it: a link there comes refused, unless links are followed)."""
    source = _source(path)
    name = Path(source.name)
    for candidate in (name.name + ".json", name.with_suffix(".json").name):
        if candidate != name.name:
            found = source.sibling(candidate)
            if found is not None:
                return found
    return None


def is_sidecar(path: str | Path | InputFile) -> bool:
    """True for a ``.json`` file that belongs to a scan beside it (not a scan itself)."""
    if isinstance(path, InputFile):
        folder, name, follow = path.location.parent, path.name, path.follow
    else:
        folder, name, follow = Path(path).parent, Path(path).name, True
    base = Path(name)
    if base.suffix.lower() != ".json":
        return False
    base = base.with_suffix("")

    def regular(other: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(folder / other, follow_symlinks=follow).st_mode)
        except OSError:
            return False

    if base.suffix.lower() in SCAN_SUFFIXES and regular(base.name):
        return True
    return any(
        regular(base.with_suffix(s).name) or regular(base.with_suffix(s.upper()).name)
        for s in SCAN_SUFFIXES
    )


def read_sidecar(path: str | Path | InputFile) -> ScanInfo:
    """The metadata in a scan's sidecar JSON (empty when it has none).

    The sidecar is an object with any of: ``sender``, ``subject``, ``department`` (the
    department the scan is referred to), ``received`` (``YYYY-MM-DD``) and
    ``classification``. Anything else, or a value of the wrong type, is refused
    (IngestError naming the scan), so a typo never passes silently. A sidecar that is a
    symbolic link is not followed: the scan is refused, naming it.
    """
    source = _source(path)
    sidecar = sidecar_for(source)
    if sidecar is None:
        return ScanInfo()
    scan = str(source.label)
    where = f"sidecar {sidecar.name}"
    try:
        raw = sidecar.read(SIDECAR_BYTES)
    except IngestError as exc:
        if exc.reason.startswith("over "):
            raise IngestError(scan, f"{where} is over {SIDECAR_BYTES // 1024} KiB") from None
        raise IngestError(scan, f"{where}: {exc.reason}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(scan, f"{where} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise IngestError(scan, f"{where} must hold a JSON object")
    unknown = sorted(set(data) - set(SIDECAR_FIELDS))
    if unknown:
        raise IngestError(
            scan, f"{where}: unknown field {unknown[0]!r} (known: {', '.join(SIDECAR_FIELDS)})"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise IngestError(scan, f"{where}: {key} must be text")
        values[key] = value.strip()
    if values.get("received"):
        try:
            values["received"] = parse_day(values["received"])
        except ValueError as exc:
            raise IngestError(scan, f"{where}: {exc}") from None
    else:
        values.pop("received", None)
    return ScanInfo(**values)


def day_argument(value: str | date) -> date:
    """A received date given as an argument; ConfigurationError when it is not one."""
    try:
        return parse_day(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def parse_day(value: str | date) -> date:
    """A received date: ``YYYY-MM-DD`` (a full ISO timestamp is cut to its day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"received must be a date (YYYY-MM-DD), not {value!r}") from None
