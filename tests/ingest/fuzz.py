"""Mutators for the fuzz harness: valid samples made broken in the ways real files are.

Each mutator takes the bytes of a valid sample and a seeded ``random.Random`` and returns
new bytes; :func:`mutate` applies one to three of them, chosen by the kind of file, so a
seed always makes the same file. The shapes are those of the malformed files in public
test suites of PDF, image and mail libraries: truncation, flipped bits, objects swapped
or repeated, sizes and counts declared huge, boundaries lost, nesting run deep.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from collections.abc import Callable

Mutator = Callable[[bytes, random.Random], bytes]

HUGE = (0, 1, 2**15, 2**16 - 1, 2**31 - 1, 2**32 - 1, 10**9, 10**12, 10**30)


def truncate(data: bytes, rng: random.Random) -> bytes:
    """Cut off: anywhere, often near the end (a transfer stopped)."""
    if len(data) < 2:
        return data[:0]
    cut = rng.choice([rng.randrange(len(data)), len(data) - rng.randrange(1, min(64, len(data)))])
    return data[:cut]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    """One to eight bits flipped at random places."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    """A run of bytes replaced by interesting ones (0x00, 0xff, random)."""
    if not data:
        return data
    at = rng.randrange(len(data))
    size = rng.randint(1, 32)
    fill = rng.choice([b"\x00" * size, b"\xff" * size, rng.randbytes(size)])
    return data[:at] + fill + data[at + size :]


def swap_chunks(data: bytes, rng: random.Random) -> bytes:
    """Two ranges of bytes swapped (same length: offsets stay plausible)."""
    if len(data) < 8:
        return data
    size = rng.randint(1, max(1, len(data) // 8))
    a, b = sorted(rng.sample(range(len(data) - size + 1), 2)) if len(data) > size else (0, 0)
    if b < a + size:
        return data
    return (
        data[:a] + data[b : b + size] + data[a + size : b] + data[a : a + size] + data[b + size :]
    )


def repeat_chunk(data: bytes, rng: random.Random) -> bytes:
    """A range of bytes repeated many times in place."""
    if not data:
        return data
    at = rng.randrange(len(data))
    chunk = data[at : at + rng.randint(1, 64)]
    return data[:at] + chunk * rng.randint(2, 200) + data[at:]


# -- PDF ------------------------------------------------------------------------------------

_OBJ = re.compile(rb"\d+ 0 obj\b.*?endobj", re.S)
_NUMBER_KEY = re.compile(rb"/(Count|Length|Width|Height|Size|N|First|BitsPerComponent)\s+\d+")


def pdf_swap_objects(data: bytes, rng: random.Random) -> bytes:
    """The bodies of two objects swapped (the xref still points where they were)."""
    objects = list(_OBJ.finditer(data))
    if len(objects) < 2:
        return data
    a, b = sorted(rng.sample(objects, 2), key=lambda m: m.start())
    return data[: a.start()] + b.group() + data[a.end() : b.start()] + a.group() + data[b.end() :]


def pdf_huge_numbers(data: bytes, rng: random.Random) -> bytes:
    """A /Count, /Length, /Width... declared huge (or zero)."""
    found = list(_NUMBER_KEY.finditer(data))
    if not found:
        return data
    hit = rng.choice(found)
    value = b"/%s %d" % (hit.group(1), rng.choice(HUGE))
    return data[: hit.start()] + value + data[hit.end() :]


def pdf_loop(data: bytes, rng: random.Random) -> bytes:
    """A reference turned to point at its own object (circular trees, self-parents)."""
    refs = list(re.finditer(rb"(\d+) 0 R", data))
    objects = list(re.finditer(rb"(\d+) 0 obj", data))
    if not refs or not objects:
        return data
    ref = rng.choice(refs)
    owner = [o for o in objects if o.start() < ref.start()]
    target = (owner[-1] if owner else objects[0]).group(1)
    return data[: ref.start()] + target + b" 0 R" + data[ref.end() :]


def pdf_nest(data: bytes, rng: random.Random) -> bytes:
    """An array nested deep inside the first dictionary."""
    at = data.find(b"<<")
    if at == -1:
        return data
    depth = rng.choice([50, 99, 100, 101, 5000])
    return data[: at + 2] + b"/Deep " + b"[" * depth + b"]" * depth + b" " + data[at + 2 :]


# -- images ---------------------------------------------------------------------------------


def png_huge_size(data: bytes, rng: random.Random) -> bytes:
    """The IHDR's width or height declared huge, with its CRC recomputed (so it is read)."""
    if data[12:16] != b"IHDR":
        return data
    header = bytearray(data[16:29])
    field = rng.choice([0, 4])
    header[field : field + 4] = struct.pack(">I", rng.choice(HUGE) & 0xFFFFFFFF)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(header)) & 0xFFFFFFFF)
    return data[:16] + bytes(header) + crc + data[33:]


def png_drop_chunk(data: bytes, rng: random.Random) -> bytes:
    """One chunk after the header removed (often the IDAT, or IEND)."""
    at, chunks = 8, []
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((at, at + 12 + length))
        at += 12 + length
    if len(chunks) < 2:
        return data
    start, end = rng.choice(chunks[1:])
    return data[:start] + data[end:]


def jpeg_huge_size(data: bytes, rng: random.Random) -> bytes:
    """The frame header's height or width set huge (or zero)."""
    for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
        at = data.find(marker)
        if at != -1:
            field = at + rng.choice([5, 7])
            value = struct.pack(">H", rng.choice(HUGE) & 0xFFFF)
            return data[:field] + value + data[field + 2 :]
    return data


def tiff_huge_size(data: bytes, rng: random.Random) -> bytes:
    """An IFD entry's value (width, height, strip offsets, counts) set huge."""
    if data[:2] not in (b"II", b"MM"):
        return data
    order = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    except struct.error:
        return data
    if not count:
        return data
    entry = offset + 2 + 12 * rng.randrange(min(count, 64))
    value = struct.pack(order + "I", rng.choice(HUGE) & 0xFFFFFFFF)
    return data[: entry + 8] + value + data[entry + 12 :]


# -- mail -----------------------------------------------------------------------------------


def mail_drop_boundary(data: bytes, rng: random.Random) -> bytes:
    """A boundary line removed (a part that never ends, a message cut short)."""
    lines = [m.start() for m in re.finditer(rb"(?m)^--", data)]
    if not lines:
        return data
    at = rng.choice(lines)
    end = data.find(b"\n", at)
    return data[:at] + (data[end + 1 :] if end != -1 else b"")


def mail_bad_header(data: bytes, rng: random.Random) -> bytes:
    """A header mangled: an unknown charset, broken base64 in an encoded word, a NUL, a
    header line of 100 KB, an address list of brackets."""
    junk = rng.choice(
        [
            b"Subject: =?x-unknown?B?2KrYudmF2YrZhQ==?=\r\n",
            b"Subject: =?utf-8?B?2KrYudmF2Y===?=\r\n",
            b"Subject: \xd8\xaa\xd8\xb9\xd9\x85\xd9\x8a\xd9\x85 \xff\xfe\r\n",
            b"From: " + b"<" * 5000 + b"\r\n",
            b"Date: Fri, 31 Dec 9999 23:59:59 -1200\r\n",
            b"X-Long: " + b"a" * 100_000 + b"\r\n",
            b"Content-Type: multipart/mixed; boundary=\r\n",
            b'Content-Type: text/plain; charset="utf-7\x00"\r\n',
            b"Content-Transfer-Encoding: base64\r\n",
        ]
    )
    return (
        junk + data
        if rng.random() < 0.5
        else data.replace(b"\r\n\r\n", b"\r\n" + junk + b"\r\n", 1)
    )


def mail_nest(data: bytes, rng: random.Random) -> bytes:
    """The body wrapped in multiparts nested deep."""
    depth = rng.choice([5, 19, 20, 21, 400, 3000])
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return data
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--n%d--" % i for i in reversed(range(depth)))
    return head + b"\r\nMIME-Version: 1.0\r\n" + opening + b"\r\n" + body + closing + b"\r\n"


# -- DOCX (a zip of XML parts) ------------------------------------------------------------


def zip_huge_sizes(data: bytes, rng: random.Random) -> bytes:
    """A member's declared sizes (local header and central directory) set huge or zero:
    the reader must not trust them to allocate or to stop."""
    headers = [(m.start(), 18) for m in re.finditer(rb"PK\x03\x04", data)]
    headers += [(m.start(), 20) for m in re.finditer(rb"PK\x01\x02", data)]
    if not headers:
        return data
    at, field = rng.choice(headers)
    field += rng.choice([0, 4])  # compressed or uncompressed size
    value = struct.pack("<I", rng.choice(HUGE) & 0xFFFFFFFF)
    return data[: at + field] + value + data[at + field + 4 :]


def docx_bad_xml(data: bytes, rng: random.Random) -> bytes:
    """One XML part rewritten broken: cut short, its tags nested deep, an entity that
    expands a billion times, a DOCTYPE pointing outside, or bytes that are not UTF-8."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = {i.filename: zf.read(i) for i in zf.infolist()}
    except Exception:  # not a zip any more: nothing to rewrite
        return data
    xml = [name for name in parts if name.endswith(".xml")]
    if not xml:
        return data
    name = "word/document.xml" if "word/document.xml" in xml and rng.random() < 0.7 else None
    name = name or rng.choice(xml)
    body = parts[name]
    depth = rng.choice([255, 256, 257, 10_000])
    parts[name] = rng.choice(
        [
            body[: rng.randrange(max(1, len(body)))],
            body.replace(b"<w:body>", b"<w:body>" + b"<w:p>" * depth + b"</w:p>" * depth, 1),
            LAUGHS + body[body.find(b"?>") + 2 :].replace(b"<w:t>", b"<w:t>&lol9;", 1),
            b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "file:///etc/passwd">' + body,
            body.replace(b"<w:t>", b"<w:t>\xff\xfe\xc0\x80", 1),
        ]
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, content in parts.items():
            zf.writestr(member, content)
    return out.getvalue()


def _laughs() -> bytes:
    """A DOCTYPE whose entity ``lol9`` expands to 10**9 "lol"s (the billion laughs)."""
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10))
    return b'<?xml version="1.0"?>\n<!DOCTYPE w:document [' + b"".join(entities) + b"]>"


LAUGHS = _laughs()


GENERIC: list[Mutator] = [truncate, flip_bits, overwrite, swap_chunks, repeat_chunk]
BY_KIND: dict[str, list[Mutator]] = {
    "pdf": [*GENERIC, pdf_swap_objects, pdf_huge_numbers, pdf_loop, pdf_nest],
    "png": [*GENERIC, png_huge_size, png_drop_chunk],
    "jpeg": [*GENERIC, jpeg_huge_size],
    "tiff": [*GENERIC, tiff_huge_size],
    "mail": [*GENERIC, mail_drop_boundary, mail_bad_header, mail_nest],
    "docx": [truncate, flip_bits, overwrite, zip_huge_sizes, docx_bad_xml, docx_bad_xml],
}


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` with one to three mutations for a file of ``kind`` (see BY_KIND)."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        data = rng.choice(BY_KIND[kind])(data, rng)
    return data
