"""Data never names a file on the server: images in document data (issue 21).

An image named in data (a string) is only the plain name of a file in the office's
templates folder (and, for a draft, the folder given as ``image_dir``); a path, ``..``,
a link leading out, a device or a FIFO is refused with the same line as a missing
file, and for ``issue`` before a number is reserved. Images may also come as bytes.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from tplhelpers import png, user_template

from docarchive import Archive, Limits, TemplateError
from docarchive.templates import render_docx

NAMED = "an image must be the name of a file in the templates folder, or its bytes"
SEAL = png(30, 10, (200, 10, 10))
LOGO = png(20, 20)


def media(docx: bytes) -> list[bytes]:
    """The pictures embedded in a rendered DOCX."""
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        return [zf.read(n) for n in sorted(zf.namelist()) if n.startswith("word/media/")]


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def b64(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {"data": base64.b64encode(data).decode("ascii"), "media_type": media_type}


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """An archive with a templates folder holding the office's logo and a seal, and
    around it the files an attacker would name: a secret beside it, links leading out,
    a FIFO and (when the system allows) a character device."""
    root = tmp_path / "archive"
    Archive.open(root).close()
    settings = root / "docarchive.toml"
    settings.write_text(
        settings.read_text("utf-8") + '\n[templates]\nfolder = "templates"\n', encoding="utf-8"
    )
    folder = root / "templates"
    folder.mkdir()
    (folder / "logo.png").write_bytes(LOGO)
    (folder / "seal.png").write_bytes(SEAL)
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.png").write_bytes(SEAL)
    secret = tmp_path / "secret.png"  # another office's seal, readable by the account
    secret.write_bytes(png(9, 9, (1, 2, 3)))
    (folder / "link.png").symlink_to(secret)
    (folder / "rel-link.png").symlink_to(Path("..") / ".." / "secret.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "dir-link").symlink_to(tmp_path)
    os.mkfifo(folder / "fifo.png")
    with contextlib.suppress(OSError):  # no CAP_MKNOD: dev.png is then just missing
        os.mknod(folder / "dev.png", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    return root


#: Sources that must be refused, each with the same one line as a missing file.
REFUSED = [
    "/etc/passwd",  # an absolute path that exists
    "/no/such/file.png",  # one that does not
    "/dev/zero",
    "../secret.png",  # exists, one folder up
    "../../archive/templates/seal.png",  # even back into the folder
    "sub/inner.png",  # a separator, even inside the folder
    "sub\\inner.png",
    "./seal.png",
    "link.png",  # a link out of the folder
    "rel-link.png",
    "zero.png",  # a link to a device
    "dir-link",
    "fifo.png",  # a FIFO: refused, and must not hang
    "dev.png",  # a character device (/dev/zero's numbers), or missing
    "sub",  # a folder
    "nowhere.png",  # missing
    ".",
    "..",
    "seal.png\x00.txt",
]


def _expected(where: str = "logo") -> str:
    return f"circular.docx: {where}: {NAMED}"


@pytest.mark.parametrize("source", REFUSED)
def test_issue_refuses_a_path_in_data_and_takes_no_number(
    office: Path, circular_data: dict[str, Any], source: str
) -> None:
    with Archive.open(office) as archive:
        for data, where in (
            ({**circular_data, "logo": source}, "logo"),
            ({**circular_data, "signature": {"image": source}}, "signature"),
            ({**circular_data, "copies": [{"image": source, "width_mm": 20}]}, "copies[0]"),
        ):
            with pytest.raises(TemplateError) as caught:
                archive.issue("circular", data)
            assert str(caught.value) == _expected(where)
        assert archive.register("circular") == []


@pytest.mark.parametrize("source", REFUSED)
def test_render_refuses_a_path_in_data(
    office: Path, circular_data: dict[str, Any], source: str, tmp_path: Path
) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    with Archive.open(office) as archive:
        for image_dir in (None, drafts, office / "templates"):
            with pytest.raises(TemplateError) as caught:
                archive.render("circular", {**circular_data, "logo": source}, image_dir=image_dir)
            assert str(caught.value) == _expected()


def test_missing_and_forbidden_read_the_same(office: Path, circular_data: dict[str, Any]) -> None:
    with Archive.open(office) as archive:
        answers = set()
        for source in ("/etc/passwd", "/etc/no-such-file", "../secret.png", "../nothing.png"):
            with pytest.raises(TemplateError) as caught:
                archive.issue("circular", {**circular_data, "logo": source})
            answers.add(str(caught.value))
        assert answers == {_expected()}
        with pytest.raises(TemplateError, match=f"signature: {NAMED}"):
            archive.issue("circular", {**circular_data, "signature": {"image": ""}})
        # an empty logo is no logo (not the folder itself)
        record = archive.issue("circular", {**circular_data, "logo": ""})
        original = next(f for f in record.files if f.role == "original")
        assert media(archive.blob(original.sha256)) == []
        assert [e.number for e in archive.register("circular")] == [record.number]
        assert "\n" not in _expected()


def test_a_name_in_the_templates_folder_is_embedded(
    office: Path, circular_data: dict[str, Any]
) -> None:
    with Archive.open(office) as archive:
        record = archive.issue("circular", {**circular_data, "logo": "seal.png"})
        original = next(f for f in record.files if f.role == "original")
        assert media(archive.blob(original.sha256)) == [SEAL]
        # the office's own logo (a Path the archive injects) keeps working
        record = archive.issue("circular", circular_data)
        original = next(f for f in record.files if f.role == "original")
        assert media(archive.blob(original.sha256)) == [LOGO]
        draft = archive.render("circular", {**circular_data, "signature": {"image": "seal.png"}})
        assert sorted(media(draft)) == sorted([LOGO, SEAL])
        assert len(archive.register("circular")) == 2


def test_render_also_reads_names_from_the_image_dir(
    office: Path, circular_data: dict[str, Any], tmp_path: Path
) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    own = png(16, 16, (0, 0, 200))
    (drafts / "mine.png").write_bytes(own)
    with Archive.open(office) as archive:
        draft = archive.render("circular", {**circular_data, "logo": "mine.png"}, image_dir=drafts)
        assert media(draft) == [own]
        # the templates folder is searched after the image_dir
        draft = archive.render("circular", {**circular_data, "logo": "seal.png"}, image_dir=drafts)
        assert media(draft) == [SEAL]
        # but a draft's folder is no way into issue
        with pytest.raises(TemplateError, match=NAMED):
            archive.issue("circular", {**circular_data, "logo": "mine.png"})
        assert archive.register("circular") == []


def test_image_bytes_base64_and_raw(office: Path, circular_data: dict[str, Any]) -> None:
    with Archive.open(office) as archive:
        record = archive.issue("circular", {**circular_data, "logo": {"image": b64(SEAL)}})
        original = next(f for f in record.files if f.role == "original")
        assert media(archive.blob(original.sha256)) == [SEAL]
        record = archive.issue("circular", {**circular_data, "logo": b64(SEAL)})
        original = next(f for f in record.files if f.role == "original")
        assert media(archive.blob(original.sha256)) == [SEAL]
        draft = archive.render(
            "circular", {**circular_data, "logo": SEAL, "signature": {"image": bytearray(SEAL)}}
        )
        assert media(draft) == [SEAL]  # the same picture, stored once
        assert len(archive.register("circular")) == 2


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ({"data": "not base64 at all!", "media_type": "image/png"}, "not valid base64"),
        ({"data": "QUJD=QUJD", "media_type": "image/png"}, "not valid base64"),
        (b64(SEAL, "text/html"), "media_type must be one of image/bmp, image/gif"),
        (b64(SEAL, "image/svg+xml"), "media_type must be one of"),
        ({"data": base64.b64encode(SEAL).decode()}, "media_type must be one of"),
        ({"data": 12, "media_type": "image/png"}, "image bytes must be"),
        ({**b64(SEAL), "path": "/etc/passwd"}, r"image: must be the name|image bytes must be"),
        (b64(b"<svg/>"), "not an image Word can show"),
        (b64(SEAL, "image/jpeg"), "media_type is image/jpeg but the data is image/png"),
        (b64(huge_png(100_000, 100_000)), r"refused: scan_pixels is 10000000000, over the limit"),
        (12, NAMED),
    ],
)
def test_bad_image_bytes_are_refused_in_one_line(
    office: Path, circular_data: dict[str, Any], image: Any, message: str
) -> None:
    with Archive.open(office) as archive:
        for run in (archive.issue, archive.render):
            with pytest.raises(TemplateError, match=message) as caught:
                run("circular", {**circular_data, "signature": {"image": image}})
            assert str(caught.value).startswith("circular.docx: signature")
            assert "\n" not in str(caught.value)
        assert archive.register("circular") == []


def test_a_huge_image_by_name_is_refused(
    office: Path, circular_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = office / "templates"
    (folder / "bomb.png").write_bytes(huge_png(100_000, 100_000))
    (folder / "big.png").write_bytes(png() + b"\x00" * 300_000)  # bytes after IEND
    with Archive.open(office) as archive:
        with pytest.raises(
            TemplateError, match=r"logo: refused: scan_pixels is 10000000000, over the limit"
        ):
            archive.issue("circular", {**circular_data, "logo": "bomb.png"})
        assert archive.register("circular") == []
    monkeypatch.setenv("DOCARCHIVE_LIMIT_INPUT_BYTES", "200000")
    with Archive.open(office) as archive:
        for image in ("big.png", b64(png() + b"\x00" * 300_000), png() + b"\x00" * 300_000):
            with pytest.raises(TemplateError, match=r"logo: refused: input_bytes"):
                archive.issue("circular", {**circular_data, "logo": image})
            with pytest.raises(TemplateError, match=r"logo: refused: input_bytes"):
                archive.render("circular", {**circular_data, "logo": image})
        assert archive.register("circular") == []


def test_reading_stops_at_the_limit(tmp_path: Path) -> None:
    """A named image over the size limit is refused, not read whole."""
    template = user_template(tmp_path, "{{ logo }}")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "big.png").write_bytes(png() + b"\x00" * 50_000)
    limits = Limits(input_bytes=40_000)
    with pytest.raises(
        TemplateError,
        match=r"user.docx: logo: refused: input_bytes is 50074, over the limit of 40000",
    ):
        render_docx(template, {"logo": "big.png"}, limits, image_dir=folder)
    out = render_docx(template, {"logo": "big.png"}, Limits(), image_dir=folder)
    assert media(out) == [png() + b"\x00" * 50_000]


@pytest.fixture
def data_file(tmp_path: Path, circular_data: dict[str, Any]) -> Iterator[Any]:
    def write(extra: dict[str, Any], folder: Path | None = None) -> str:
        where = folder or tmp_path
        path = where / "DATA.json"
        path.write_text(json.dumps({**circular_data, **extra}, ensure_ascii=False), "utf-8")
        return str(path)

    yield write


@pytest.mark.parametrize("source", ["/etc/passwd", "../secret.png", "link.png", "fifo.png"])
def test_cli_issue_refuses_a_path_and_takes_no_number(
    office: Path, data_file: Any, source: str
) -> None:
    proc = run_cli("issue", "circular", data_file({"logo": source}), root=office, isolated=True)
    assert proc.returncode != 0
    assert _expected() in proc.stderr
    assert "Traceback" not in proc.stderr
    with Archive.open(office) as archive:
        assert archive.register("circular") == []


def test_cli_issue_and_render_with_names_and_bytes(
    office: Path, data_file: Any, tmp_path: Path
) -> None:
    proc = run_cli(
        "issue",
        "circular",
        data_file({"logo": "seal.png", "signature": {"image": b64(LOGO), "width_mm": 30}}),
        "--json",
        root=office,
        isolated=True,
        check=True,
    )
    number = json.loads(proc.stdout)["number"]
    with Archive.open(office) as archive:
        assert [e.number for e in archive.register("circular")] == [number]
    # render reads names from DATA.json's folder, as before
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    own = png(16, 16, (0, 0, 200))
    (drafts / "mine.png").write_bytes(own)
    out = tmp_path / "draft.docx"
    run_cli(
        "render",
        "circular",
        data_file({"logo": "mine.png"}, drafts),
        "-o",
        str(out),
        root=office,
        isolated=True,
        check=True,
    )
    assert media(out.read_bytes()) == [own]
