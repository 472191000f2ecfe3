"""Checks made on an input's raw bytes before any parser reads it.

A parser given a hostile file can recurse until the stack gives out, allocate what a
header declares, or walk a billion declared pages. What can be read cheaply from the
bytes themselves is checked here first, against the caps in :mod:`docarchive.limits`,
so such a file is refused with the limit's name before PDFium, Pillow or the stdlib
``email`` parser ever sees it:

- an image's declared size (PNG IHDR, JPEG SOF, TIFF and GIF headers): ``scan_pixels``;
- a PDF's declared page count (the largest ``/Count``): ``pdf_pages``; its image
  XObjects' declared ``/Width`` × ``/Height``: ``scan_pixels``; how deeply its arrays and
  dictionaries nest: ``pdf_depth``;
- how deeply a mail's MIME parts nest: ``mime_depth``.

Each function reads the bytes once, linearly, with no recursion, and never raises for
malformed input (what it cannot read it leaves to the parser, which runs in the parser
worker under its time and memory limits). The parsers still check what they find.
"""

from __future__ import annotations

import re
import struct

from ..errors import LimitExceededError
from ..limits import Limits, check

__all__ = ["check_image", "check_mail", "check_pdf", "image_size", "mime_depth", "pdf_depth"]


# -- images ---------------------------------------------------------------------------------

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) an image's header declares (the largest frame of a TIFF), or None
    when the header cannot be read here."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data.startswith((b"GIF87a", b"GIF89a")):
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data.startswith((b"II*\x00", b"MM\x00*")):
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        if marker == 0xDA or length < 2:  # scan data: no frame header before it
            return None
        at += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    largest: tuple[int, int] | None = None
    seen: set[int] = set()
    while offset and offset not in seen and len(seen) < 10_000 and offset + 2 <= len(data):
        seen.add(offset)
        (count,) = struct.unpack(order + "H", data[offset : offset + 2])
        width = height = 0
        for index in range(min(count, 4096)):
            at = offset + 2 + 12 * index
            if at + 12 > len(data):
                break
            tag, kind = struct.unpack(order + "HH", data[at : at + 4])
            if tag in (256, 257):
                value = (
                    struct.unpack(order + "H", data[at + 8 : at + 10])[0]
                    if kind == 3
                    else struct.unpack(order + "I", data[at + 8 : at + 12])[0]
                )
                width, height = (value, height) if tag == 256 else (width, value)
        if largest is None or width * height > largest[0] * largest[1]:
            largest = (int(width), int(height))
        next_at = offset + 2 + 12 * count
        if next_at + 4 > len(data):
            break
        (offset,) = struct.unpack(order + "I", data[next_at : next_at + 4])
    return largest


def check_image(data: bytes, limits: Limits) -> None:
    """LimitExceededError when the image's header declares more than ``scan_pixels``."""
    size = image_size(data)
    if size is not None:
        check(limits, "scan_pixels", size[0] * size[1])


# -- PDF ------------------------------------------------------------------------------------

_COUNT = re.compile(rb"/Count\s+(\d{1,30})")
_STREAM = re.compile(rb"stream\r?\n")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_WIDTH = re.compile(rb"/Width\s+(\d{1,30})(?![\d.])")
_HEIGHT = re.compile(rb"/Height\s+(\d{1,30})(?![\d.])")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_TOKENS = re.compile(rb"<<|>>|\[|\]|\(|%|stream\r?\n")
_STRING = re.compile(rb"[()\\]")


def pdf_depth(data: bytes) -> int:
    """How deeply arrays and dictionaries nest in a PDF's objects (streams, strings and
    comments skipped; objects inside compressed object streams are not seen)."""
    depth = deepest = 0
    at = 0
    size = len(data)
    while True:
        found = _TOKENS.search(data, at)
        if found is None:
            return deepest
        token = found.group()
        at = found.end()
        if token in (b"<<", b"["):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b">>", b"]"):
            depth = max(0, depth - 1)
        elif token == b"%":  # a comment, to the end of the line
            ends = [i for i in (data.find(b"\n", at), data.find(b"\r", at)) if i != -1]
            at = min(ends) if ends else size
        elif token == b"(":  # a literal string: balanced parentheses, backslash escapes
            at = _string_end(data, at)
        else:  # stream data: skip to endstream
            end = data.find(b"endstream", at)
            at = size if end == -1 else end + 9
            depth = 0  # a stream's dictionary is closed before its data


def _string_end(data: bytes, at: int) -> int:
    level = 1
    size = len(data)
    while at < size and level:
        found = _STRING.search(data, at)
        if found is None:
            return size
        char = found.group()
        at = found.end()
        if char == b"\\":
            at += 1
        elif char == b"(":
            level += 1
        else:
            level -= 1
    return at


def check_pdf(data: bytes, limits: Limits) -> None:
    """LimitExceededError when a PDF declares more pages than ``pdf_pages`` (its largest
    ``/Count``), an image larger than ``scan_pixels``, or nests deeper than ``pdf_depth``."""
    counts = [int(m.group(1)) for m in _COUNT.finditer(data)]
    if counts:
        check(limits, "pdf_pages", max(counts))
    check(limits, "pdf_depth", pdf_depth(data))
    for found in _STREAM.finditer(data):  # an image XObject is a stream: its dictionary
        start = data.rfind(b"obj", max(0, found.start() - 4096), found.start())
        head = data[start if start != -1 else max(0, found.start() - 4096) : found.start()]
        if not _IMAGE.search(head):
            continue
        width, height = _WIDTH.search(head), _HEIGHT.search(head)
        if width and height:
            check(limits, "scan_pixels", int(width.group(1)) * int(height.group(1)))


# -- mail -----------------------------------------------------------------------------------

_NESTING = re.compile(rb"boundary\s*=|message/(?:rfc822|global)", re.IGNORECASE)
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;]+))', re.IGNORECASE)
_CTYPE = re.compile(rb"content-type\s*:", re.IGNORECASE)


def mime_depth(data: bytes, stop: int = 0) -> int:
    """How deeply MIME parts nest in a raw message (1 for a single part), read line by
    line with a stack of open boundaries; stops counting once over ``stop`` (if given).

    Lenient like the parser: a part closed by an outer boundary closes the inner ones."""
    stack: list[bytes] = []
    deepest = 1
    in_headers = True
    headers: list[bytes] = []
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        if in_headers:
            if line.strip():
                if line[:1] in (b" ", b"\t") and headers:
                    headers[-1] += b" " + line.strip()
                else:
                    headers.append(line)
                continue
            in_headers = False
            kind = next((h for h in reversed(headers) if _CTYPE.match(h)), b"").lower()
            headers = []
            if b"multipart/" in kind:
                found = _BOUNDARY.search(kind)
                boundary = found.group(1) or found.group(2) if found else None
                if boundary:
                    stack.append(boundary)
            elif b"message/rfc822" in kind or b"message/global" in kind:
                stack.append(b"")  # an embedded message: its headers follow, one level down
                in_headers = True
            deepest = max(deepest, len(stack) + 1)
            if stop and deepest > stop:
                return deepest
            continue
        if not line.startswith(b"--") or not stack:
            continue
        body = line[2:].rstrip()
        for level in range(len(stack) - 1, -1, -1):
            boundary = stack[level]
            if not boundary:
                continue
            if body == boundary + b"--":
                del stack[level:]
                break
            if body == boundary:
                del stack[level + 1 :]
                in_headers = True
                break
    return deepest


def check_mail(data: bytes, limits: Limits) -> None:
    """LimitExceededError when a message's MIME parts nest deeper than ``mime_depth``."""
    if len(_NESTING.findall(data)) + 1 <= limits.mime_depth:
        return  # cannot nest deeper than it declares multiparts and embedded messages
    depth = mime_depth(data.lower())
    if depth > limits.mime_depth:
        raise LimitExceededError("mime_depth", depth, limits.mime_depth)
