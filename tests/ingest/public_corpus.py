"""Malformed and unusual files from the public test suites of PDF, image and mail libraries,
for the fuzz tests (tests/ingest/test_public_corpus.py).

Two parts:

* fetched at test time: the source distributions (sdists) of Pillow, pypdf, pikepdf and
  talon on PyPI, pinned by version and by the SHA-256 of the archive, downloaded with pip
  into a cache folder (``FUZZ_CORPUS_CACHE``, default ``~/.cache/docarchive/fuzz-corpus``);
  of each, the files of its test suite that are PDFs, PNG, JPEG or TIFF images (by their
  first bytes, as the archive tells them), or for talon its .eml files, are kept.
  Pillow's ``Tests/images`` holds the crash, OOM and timeout files of OSS-Fuzz and the
  images of its bug reports; pypdf's ``resources`` and pikepdf's ``tests/resources`` the
  PDFs of theirs; talon's ``tests/fixtures`` replies as real mail clients (Outlook, Gmail,
  Yahoo, AOL, iPhone...) write them. Nothing of them is in the repository.
* kept in the repository: ``tests/data/public-corpus/`` (CPython's email test messages,
  and the files that once broke a batch here); its README names each file's origin and
  licence.

``python tests/ingest/public_corpus.py`` fetches the corpus and prints what it holds.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "public-corpus"
MAGIC = {
    b"%PDF-": "pdf",
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
}
# Names the libraries give to the files of their bug reports and fuzzers.
NOTABLE = re.compile(
    r"crash|oom|timeout|fuzz|broken|trunc|bad|invalid|corrupt|error|overflow|segfault|dos"
    r"|leak|oob|sequence|syntax|missing|unknown|malformed|damaged|issue|encrypt|password",
    re.I,
)


@dataclass(frozen=True)
class Source:
    """One sdist on PyPI and the folder of its test suite that is kept."""

    name: str
    version: str
    sha256: str
    folder: str  # inside the sdist, below its top folder
    licence: str
    mail: bool = False  # its .eml files are kept (else its PDFs and images)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


SOURCES = (
    Source(
        "pillow",
        "11.1.0",
        "368da70808b36d73b4b390a8ffac11069f8a5c85f29eff1f1b01bcf3ef5b2a20",
        "Tests/images",
        "MIT-CMU (Pillow's licence; its test images come with the sdist under it)",
    ),
    Source(
        "pypdf",
        "5.1.0",
        "425a129abb1614183fd1aca6982f650b47f8026867c0ce7c4b9f281c443d2740",
        "resources",
        "BSD-3-Clause",
    ),
    Source(
        "pikepdf",
        "9.4.2",
        "0108c063bc56dc2dbfc87f20533a728342a938f4c85e39773866b71255aa8388",
        "tests/resources",
        "MPL-2.0",
    ),
    Source(
        "talon",
        "1.4.4",
        "263d122609747691e9f75726ea565f5da8a40146a7a81eb5883e51b8224b0e5c",
        "tests/fixtures",
        "Apache-2.0",
        mail=True,
    ),
)


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    kind: str  # pdf, png, jpeg, tiff, mail
    origin: str  # the source's key, or the folder in tests/data/public-corpus

    @property
    def notable(self) -> bool:
        return bool(NOTABLE.search(self.path.name))


class CorpusUnavailable(Exception):
    """The fetched part of the corpus could not be had (no registry, a changed archive)."""


def cache_root() -> Path:
    default = Path.home() / ".cache" / "docarchive" / "fuzz-corpus"
    return Path(os.environ.get("FUZZ_CORPUS_CACHE", default))


def kind_of(head: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def fetch(source: Source, cache: Path | None = None) -> Path:
    """The folder holding ``source``'s kept files, downloaded and unpacked once."""
    folder = (cache or cache_root()) / source.key
    if (folder / ".complete").exists():
        return folder
    with tempfile.TemporaryDirectory(prefix="fuzz-corpus-") as tmp:
        requirement = Path(tmp) / "requirements.txt"
        requirement.write_text(f"{source.name}=={source.version} --hash=sha256:{source.sha256}\n")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--require-hashes", "-r", str(requirement),
             "--dest", tmp],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        archives = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or len(archives) != 1:
            tail = " ".join(done.stderr.strip().splitlines()[-3:])
            raise CorpusUnavailable(f"pip download {source.key} failed: {tail}")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != source.sha256:  # pip checks it too; this says which file
            raise CorpusUnavailable(f"{archives[0].name}: sha256 {digest}, not {source.sha256}")
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _unpack(archives[0], source, partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    (folder / ".complete").write_text(f"{source.name}=={source.version} {source.sha256}\n")
    return folder


def _unpack(archive: Path, source: Source, into: Path) -> None:
    """The regular files below the source's folder in the sdist that are PDFs or images we
    ingest (or, for a mail source, .eml files), at their relative paths (member names are
    checked: no absolute path, no ``..``)."""
    folder = source.folder
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            _, _, rest = member.name.partition("/")
            if not member.isfile() or not rest.startswith(folder + "/"):
                continue
            relative = Path(rest[len(folder) + 1 :])
            if relative.is_absolute() or ".." in relative.parts:
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            data = handle.read()
            wanted = relative.suffix == ".eml" if source.mail else kind_of(data[:8]) is not None
            if not wanted:
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def fetched_files(cache: Path | None = None) -> list[CorpusFile]:
    """Every kept file of every source (fetching what is not in the cache yet)."""
    files = []
    for source in SOURCES:
        folder = fetch(source, cache)
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != ".complete":
                with path.open("rb") as fh:
                    kind = "mail" if source.mail else kind_of(fh.read(8))
                if kind:
                    files.append(CorpusFile(path, kind, source.key))
    return files


def kept_files() -> list[CorpusFile]:
    """The files kept in tests/data/public-corpus: mail messages and regression cases."""
    files = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or path.name in ("README.md", "LICENSES.md"):
            continue
        origin = path.relative_to(DATA).parts[0]
        with path.open("rb") as fh:
            kind = kind_of(fh.read(8))
        files.append(CorpusFile(path, kind or "mail", origin))
    return files


def select(files: list[CorpusFile], count: int, seed: str = "public") -> list[CorpusFile]:
    """At most ``count`` files (0: all): the notable ones first (named for a crash, a
    fuzzer's find, a bug report), then a seeded sample of the rest; in path order."""
    if count <= 0 or len(files) <= count:
        return list(files)
    notable = [f for f in files if f.notable]
    rest = [f for f in files if not f.notable]
    rng = random.Random(seed)
    chosen = rng.sample(notable, min(count, len(notable)))
    chosen += rng.sample(rest, max(0, count - len(chosen)))
    return sorted(chosen, key=lambda f: (f.origin, str(f.path)))


def main() -> None:
    files = fetched_files() + kept_files()
    by: dict[tuple[str, str], int] = {}
    for f in files:
        by[f.origin, f.kind] = by.get((f.origin, f.kind), 0) + 1
    for (origin, kind), number in sorted(by.items()):
        print(f"{origin:24} {kind:5} {number}")
    print(f"{len(files)} files, cache {cache_root()}")


if __name__ == "__main__":
    main()
