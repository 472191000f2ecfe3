"""Broken and hostile inputs, made by code (nothing here comes from outside).

The PDFs are written object by object with a correct cross-reference table, so PDFium
opens the document and fails only where the file means it to fail: the page tree. These
are the shapes of the files from public PDF test suites that stopped a batch with
``PdfiumError: Failed to load page.`` (issue 17): a page tree that is circular, one
whose ``/Count`` lies, a kid that is not a page.
"""

from __future__ import annotations

import io
from typing import Any

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A PDF holding ``objects`` as objects 1, 2, ... (object 1 the catalog), with a
    correct xref table; ``trailer`` adds entries to the trailer dictionary."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def circular_page_tree() -> bytes:
    """The page tree's only kid is the page tree itself."""
    return pdf(CATALOG, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>")


def circular_two_nodes() -> bytes:
    """Two /Pages nodes, each the other's kid."""
    return pdf(
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
    )


def count_lies() -> bytes:
    """A minimal PDF without annotations or content: /Count says 3 pages, there are none."""
    return pdf(CATALOG, b"<< /Type /Pages /Kids [] /Count 3 >>")


def kid_not_a_page() -> bytes:
    """The page tree's kid is a number."""
    return pdf(CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", b"42")


def huge_count() -> bytes:
    """A page tree that declares a billion pages."""
    return pdf(CATALOG, b"<< /Type /Pages /Kids [] /Count 1000000000 >>")


def deep_nesting(depth: int) -> bytes:
    """A page whose dictionary holds arrays nested ``depth`` deep."""
    return pdf(
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Junk "
        + b"[" * depth
        + b"]" * depth
        + b" >>",
    )


def huge_image_pdf(width: int, height: int) -> bytes:
    """One page drawing an image XObject that declares ``width`` × ``height`` pixels
    (its data is a few bytes)."""
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
    return pdf(
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length 3 >>\nstream\nabc\nendstream" % (width, height),
    )


def bad_encryption() -> bytes:
    """A PDF whose /Encrypt dictionary names a security handler nobody has."""
    return pdf(
        CATALOG,
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Filter /NoSuchHandler /V 9 /R 9 /O (x) /U (y) /P -4 >>",
        trailer=b"/Encrypt 3 0 R /ID [<00112233445566778899aabbccddeeff> "
        b"<00112233445566778899aabbccddeeff>] ",
    )


def encrypted(data: bytes, *, user: str, owner: str, algorithm: str = "AES-256") -> bytes:
    """``data`` (a sound PDF) encrypted with pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_declaring(width: int, height: int, color: int = 0) -> bytes:
    """A PNG header declaring ``width`` × ``height`` pixels (``color`` 0: grey, 2: RGB),
    with almost no data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def nested_mail(depth: int) -> bytes:
    """A message whose multipart parts nest ``depth`` deep, one inside the other."""
    head = (
        "From: مديرية التخطيط <planning@mop.gov.iq>\r\n"
        "To: archive@mop.gov.iq\r\n"
        "Subject: =?utf-8?b?2KrYudmF2YrZhSDZhdiq2K/Yp9iu2YQ=?=\r\n"
        f"Message-ID: <nested-{depth}@mop.gov.iq>\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode()
    out = bytearray(head)
    for level in range(depth):
        out += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    out += b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    out += "يرجى الاطلاع واتخاذ ما يلزم.\r\n".encode()
    for level in reversed(range(depth)):
        out += b"--b%d--\r\n" % level
    return bytes(out)


def assert_batch_accounted(archive: Any, result: Any, labels: list[str]) -> None:
    """What must hold after any batch of hostile inputs: every input archived, a duplicate
    or quarantined with a one-line reason naming it; the incoming register's numbers
    consecutive from 1 and all issued (a refusal takes no number); verify clean."""
    accounted = len(result.ingested) + len(result.duplicates) + len(result.quarantined)
    assert accounted == len(labels), (len(labels), result.to_dict())
    for entry in result.quarantined:
        assert entry["file"] in labels, entry
        assert entry["reason"].strip() and "\n" not in entry["reason"], entry
        assert "Traceback" not in entry["reason"]
        assert len(entry["reason"]) <= 300, entry
    register = archive.register("incoming")
    assert [e.seq for e in register] == list(range(1, len(register) + 1))
    assert [e.status for e in register] == ["issued"] * len(register), [
        (e.number, e.status, e.reason) for e in register if e.status != "issued"
    ]
    report = archive.verify()
    assert report.ok, report.to_dict()


# -- DOCX attachments: broken zips and hostile XML ------------------------------------------


def _docx_parts(valid: bytes) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(valid)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(parts: dict[str, bytes], method: int = 8) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return out.getvalue()


def docx_cases(valid: bytes, member_limit: int) -> dict[str, tuple[bytes, str]]:
    """Broken and hostile variants of ``valid`` (a sound .docx): name -> (bytes, what the
    reason must say, "" where the text may be read). ``member_limit`` is the
    docx_member_bytes limit in force: one bomb inflates past it, one to a quarter of it."""
    import struct

    parts = _docx_parts(valid)
    document = parts["word/document.xml"]
    body_at = document.index(b"<w:body>") + len(b"<w:body>")

    def with_document(new: bytes) -> bytes:
        return _zip({**parts, "word/document.xml": new})

    declared = bytearray(valid)  # every size in the central directory: 4 GiB - 1
    at = declared.find(b"PK\x01\x02")
    while at != -1:
        declared[at + 20 : at + 28] = struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF)
        at = declared.find(b"PK\x01\x02", at + 4)
    paragraph = b"<w:p><w:r><w:t>" + b"x" * 1000 + b"</w:t></w:r></w:p>"
    body_end = document.rindex(b"</w:body>")  # the document's own text first, then the bulk
    big = document[:body_end] + paragraph * (member_limit // 4 // len(paragraph))
    big += document[body_end:]
    entities = [
        f'<!ENTITY {n} "{f"&{p};" * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    laughs = (
        (  # &i; is 10**8 times &a;, 1000 bytes each
            '<?xml version="1.0"?>\n<!DOCTYPE w:document [<!ENTITY a "' + "A" * 1000 + '">'
        ).encode()
        + "".join(entities).encode()
        + b"]>"
    )
    stored_method = bytearray(valid)  # the first member's method: 99 (AES, unsupported)
    stored_method[8:10] = struct.pack("<H", 99)
    central = stored_method.find(b"PK\x01\x02")
    stored_method[central + 10 : central + 12] = struct.pack("<H", 99)
    return {
        "names-differ.docx": (names_differ(valid), "broken .docx file: File name in directory"),
        "truncated.docx": (valid[: len(valid) // 2], "broken .docx file"),
        "declares-4gib.docx": (bytes(declared), ""),  # sizes are not trusted: read
        "unknown-method.docx": (bytes(stored_method), "broken .docx file"),
        "cut-xml.docx": (with_document(document[: len(document) // 2]), "broken .docx file"),
        "billion-laughs.docx": (
            with_document(
                laughs
                + document[document.index(b"?>") + 2 :].replace(
                    b"<w:body>", b"<w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p>", 1
                )
            ),
            "broken .docx file",
        ),
        "deep-xml.docx": (
            with_document(
                document[:body_at] + b"<w:p>" * 100_000 + b"</w:p>" * 100_000 + document[body_at:]
            ),
            "broken .docx file",
        ),
        "too-many-members.docx": (
            _zip({**parts, **{f"word/media/{n}.bin": b"" for n in range(2001)}}),
            "docx_members",
        ),
        "bomb-over-limit.docx": (
            with_document(document[:body_at] + b" " * (member_limit + 1) + document[body_at:]),
            "docx_member_bytes",
        ),
        "bomb-within-limit.docx": (with_document(big), ""),
    }


def names_differ(valid: bytes) -> bytes:
    """``valid`` (a .docx) with a member whose name is 2,000 characters long and differs
    between its local header and the central directory: zipfile's error quotes both (the
    shape the fuzzer found: a reason of 756 characters)."""
    import zipfile

    parts = _docx_parts(valid)
    name = "word/" + "n" * 2000 + ".xml"
    data = bytearray(_zip({**parts, name: b"<x/>"}))
    at = data.index(name.encode())  # the first: the local header's copy
    data[at + 100 : at + 101] = b"m"
    assert zipfile.is_zipfile(io.BytesIO(bytes(data)))
    return bytes(data)
