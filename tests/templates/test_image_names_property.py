"""Property: a string in the data names an image only if it is the plain name of a regular
file inside an allowed folder; every other string gets the one refusal line (issue 21)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tplhelpers import png

from docarchive import Limits, TemplateError
from docarchive.templates.render import check_images

REFUSAL = (
    "memo.docx: logo: an image must be the name of a file in the templates folder, or its bytes"
)
#: The names that must be accepted: regular image files inside the folder, and a link
#: that stays inside it.
ACCEPTED = {"seal.png", "ختم.png", "alias.png", "logo 2.PNG"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A templates folder with images, and around it what an attacker would name."""
    base = tmp_path_factory.mktemp("names")
    folder = base / "templates"
    folder.mkdir()
    for name in ("seal.png", "ختم.png", "logo 2.PNG"):
        (folder / name).write_bytes(png())
    (folder / "alias.png").symlink_to("seal.png")  # a link that stays inside: fine
    (base / "secret.png").write_bytes(png(9, 9))
    (folder / "out.png").symlink_to(base / "secret.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.png").write_bytes(png())
    os.mkfifo(folder / "fifo.png")
    return folder


PIECES = st.sampled_from(
    [
        "seal.png",
        "ختم.png",
        "alias.png",
        "logo 2.PNG",
        "out.png",
        "zero.png",
        "fifo.png",
        "sub",
        "inner.png",
        "secret.png",
        "templates",
        "..",
        ".",
        "/",
        "\\",
        "\x00",
        ":",
        " ",
        "~",
        "/dev/zero",
        "/etc/passwd",
        "%2e%2e",
    ]
)
NAMES = st.one_of(
    st.lists(PIECES, min_size=1, max_size=5).map("".join),
    st.lists(PIECES, min_size=1, max_size=4).map("/".join),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(name=NAMES)
@example(name="alias.png")
@example(name="ختم.png")
@example(name="out.png")
@example(name="../secret.png")
@example(name="sub/inner.png")
@example(name="./seal.png")
@example(name=" seal.png")
@example(name="seal.png\x00")
def test_a_name_is_accepted_only_inside_the_folder(folder: Path, name: str) -> None:
    try:
        check_images({"logo": name}, Limits(), name="memo.docx", image_dirs=[folder])
    except TemplateError as exc:
        assert str(exc) == REFUSAL, name
        assert name not in ACCEPTED, name
    else:
        assert name in ACCEPTED or name == "", name  # an empty logo is no logo
