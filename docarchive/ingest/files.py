"""Files from outside, listed and read without following symbolic links.

An intake folder (a scanner's drop folder, a Maildir) is written by others, so it is not
a way into the rest of the machine:

- A symbolic link inside a folder given is not followed. It is listed as refused
  (:data:`LINK_REFUSED`, "a symbolic link, not followed"); nothing is read through it and
  nothing of it is kept, not even in quarantine.
- Folders are listed by descriptor: each one is opened below the one before with
  ``O_NOFOLLOW`` and checked to be the folder that was listed, so a folder swapped for a
  link while the walk goes on does not lead elsewhere.
- Each file is opened with ``O_NOFOLLOW`` and checked (``fstat`` against the ``lstat`` of
  the listing: same device and inode, a regular file), so a link, or another file, put
  in its place between the listing and the reading is refused (:data:`SWAPPED`).
- A path given by the caller (on the command line, to ``ingest_scan``) may itself be a
  link, as administrators use them: it is resolved once, when it is listed.

``follow_links=True`` gives the old behaviour back: links to files and folders are
followed (each folder once). Anyone who can write in the folder can then make the
archive read, archive and index any file the service account can read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import IngestError, LimitExceededError, UnsafeInputError

__all__ = [
    "LINK_REFUSED",
    "SWAPPED",
    "Entry",
    "Folder",
    "InputFile",
    "given_file",
    "open_folder",
    "walk",
]

LINK_REFUSED = "a symbolic link, not followed"
SWAPPED = "changed after it was listed: not the file that was listed"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO put in its place never blocks

Kind = Literal["file", "folder", "link", "other"]


@dataclass(frozen=True)
class InputFile:
    """A file to read, as it was listed.

    ``label`` is the path as the caller knows it (the path given, and the names below it);
    ``location`` is where it is opened (below the given path resolved once); ``ident`` is
    the (device, inode) the listing saw. ``refused`` is set for an entry that is not read
    at all (a link); :meth:`read` and :meth:`open` then raise :class:`UnsafeInputError`.
    ``problem`` is set for a path given that cannot be read (no such file...); they raise
    :class:`IngestError` with it.
    """

    label: Path
    location: Path
    ident: tuple[int, int] = (0, 0)
    size: int = 0
    follow: bool = False
    refused: str = ""
    problem: str = ""

    def __str__(self) -> str:
        return str(self.label)

    @property
    def name(self) -> str:
        return self.label.name

    def open(self) -> BinaryIO:
        """The file, open for reading, checked to be the file that was listed."""
        fd, _ = self._open()
        return open(fd, "rb", closefd=True)  # handed to the caller, who closes it

    def _open(self) -> tuple[int, os.stat_result]:
        label = str(self.label)
        if self.refused:
            raise UnsafeInputError(label, self.refused)
        if self.problem:
            raise IngestError(label, self.problem)
        flags = _FILE_FLAGS | (0 if self.follow else os.O_NOFOLLOW)
        try:
            fd = os.open(self.location, flags)
        except OSError as exc:
            raise _open_error(label, exc) from None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IngestError(label, "is a folder, not a file")
            if (st.st_dev, st.st_ino) != self.ident:
                raise UnsafeInputError(label, SWAPPED)
            if not stat.S_ISREG(st.st_mode):
                raise IngestError(label, "not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    def read(self, maximum: int | None = None, limit: str | None = None) -> bytes:
        """All its bytes. Over ``maximum``: IngestError, in the words of
        :class:`LimitExceededError` when ``limit`` names the limit of :mod:`docarchive.limits`."""
        fd, st = self._open()
        try:
            if maximum is not None and st.st_size > maximum:
                raise self._over(st.st_size, maximum, limit)
            want = st.st_size + 1 if maximum is None else min(st.st_size, maximum) + 1
            parts: list[bytes] = []
            have = 0
            while chunk := os.read(fd, max(want - have, 1 << 16)):
                parts.append(chunk)
                have += len(chunk)
                if maximum is not None and have > maximum:  # it grew while being read
                    raise self._over(have, maximum, limit)
        except OSError as exc:
            raise IngestError(str(self.label), f"cannot read: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _over(self, size: int, maximum: int, limit: str | None) -> IngestError:
        reason = str(LimitExceededError(limit, size, maximum)) if limit else f"over {maximum} bytes"
        return IngestError(str(self.label), reason)

    def sibling(self, name: str) -> InputFile | None:
        """The regular file ``name`` beside this one, as listed now; None when there is none.
        A link there is returned refused (unless links are followed)."""
        return _entry_file(self.label.with_name(name), self.location.with_name(name), self.follow)


def _open_error(label: str, exc: OSError) -> IngestError:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link where the listing saw a file
        return UnsafeInputError(label, LINK_REFUSED)
    if exc.errno == errno.ENOENT:
        return IngestError(label, "no such file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return IngestError(label, "permission denied")
    if exc.errno == errno.ENOTDIR:
        return UnsafeInputError(label, SWAPPED)
    if exc.errno == errno.ENXIO:  # a socket
        return IngestError(label, "not a regular file")
    return IngestError(label, f"cannot read: {exc.strerror or exc}")


def _entry_file(label: Path, location: Path, follow: bool) -> InputFile | None:
    try:
        st = os.stat(location, follow_symlinks=follow)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return InputFile(label, location, follow=follow, refused=LINK_REFUSED)
    if not stat.S_ISREG(st.st_mode):
        return None
    return InputFile(label, location, (st.st_dev, st.st_ino), st.st_size, follow)


def given_file(path: str | os.PathLike[str], *, follow_links: bool = False) -> InputFile:
    """A file the caller names: the path is resolved once (it may be a link); what is
    opened later must be the file it led to. IngestError when there is no such file or it
    is not a regular file."""
    label = Path(path)
    location = Path(os.path.realpath(label))
    try:
        st = os.stat(location, follow_symlinks=False)
    except FileNotFoundError:
        raise IngestError(str(label), "no such file") from None
    except PermissionError:
        raise IngestError(str(label), "permission denied") from None
    except OSError as exc:
        raise IngestError(str(label), f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IngestError(str(label), "is a folder, not a file")
    if stat.S_ISLNK(st.st_mode):  # a link that leads nowhere (a loop)
        raise IngestError(str(label), "no such file")
    if not stat.S_ISREG(st.st_mode):
        raise IngestError(str(label), "not a regular file")
    return InputFile(label, location, (st.st_dev, st.st_ino), st.st_size, follow_links)


@dataclass(frozen=True)
class Entry:
    """One name in a listed folder: what it is (a link is a link unless links are
    followed) and its status."""

    name: str
    kind: Kind
    st: os.stat_result | None = field(default=None, repr=False)


class Folder:
    """A folder being listed, open by descriptor; its sub-folders and files are reached
    from that descriptor, never through a link (unless ``follow``)."""

    def __init__(
        self, fd: int, label: Path, location: Path, follow: bool, seen: frozenset[tuple[int, int]]
    ) -> None:
        self.fd = fd
        self.label = label
        self.location = location
        self.follow = follow
        self._seen = seen
        self._entries: list[Entry] | None = None

    def entries(self) -> list[Entry]:
        """Every name in the folder, sorted, with what it is."""
        if self._entries is None:
            found: list[Entry] = []
            with os.scandir(self.fd) as listing:
                names = sorted(e.name for e in listing)
            for name in names:
                try:
                    st = os.stat(name, dir_fd=self.fd, follow_symlinks=self.follow)
                except OSError:  # gone meanwhile, or (links followed) a link leading nowhere
                    found.append(Entry(name, "other"))
                    continue
                kind: Kind
                if stat.S_ISLNK(st.st_mode):
                    kind = "link"
                elif stat.S_ISDIR(st.st_mode):
                    kind = "folder"
                elif stat.S_ISREG(st.st_mode):
                    kind = "file"
                else:
                    kind = "other"
                found.append(Entry(name, kind, st))
            self._entries = found
        return self._entries

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries() if e.name == name), None)

    def has_folder(self, name: str) -> bool:
        found = self.entry(name)
        return found is not None and found.kind == "folder"

    def file(self, entry: Entry) -> InputFile:
        """The file (or the refused link) ``entry`` of this folder."""
        label, location = self.label / entry.name, self.location / entry.name
        if entry.kind == "link":
            return InputFile(label, location, follow=self.follow, refused=LINK_REFUSED)
        assert entry.st is not None
        st = entry.st
        return InputFile(label, location, (st.st_dev, st.st_ino), st.st_size, self.follow)

    def sub(self, entry: Entry) -> Folder | None:
        """The sub-folder ``entry``, open (close it, or use it in a ``with``); None when
        links are followed and it is a folder already walked (a loop). UnsafeInputError
        when it is no longer the folder that was listed (a link put in its place)."""
        assert entry.st is not None
        ident = (entry.st.st_dev, entry.st.st_ino)
        if ident in self._seen:
            return None
        label = self.label / entry.name
        flags = _DIR_FLAGS | (0 if self.follow else os.O_NOFOLLOW)
        try:
            fd = os.open(entry.name, flags, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and self._now_a_link(entry.name):
                raise UnsafeInputError(str(label), LINK_REFUSED) from None
            raise _open_error(str(label), exc) from None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != ident:
            os.close(fd)
            raise UnsafeInputError(str(label), SWAPPED)
        return Folder(fd, label, self.location / entry.name, self.follow, self._seen | {ident})

    def _now_a_link(self, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_folder(path: str | os.PathLike[str], *, follow_links: bool = False) -> Folder:
    """A folder the caller names (resolved once: it may be a link), open for listing
    (close it, or use it in a ``with``); OSError when it cannot be opened."""
    label = Path(path)
    location = Path(os.path.realpath(label))
    fd = os.open(location, _DIR_FLAGS | os.O_NOFOLLOW)
    st = os.fstat(fd)
    return Folder(fd, label, location, follow_links, frozenset({(st.st_dev, st.st_ino)}))


def is_folder(path: str | os.PathLike[str]) -> bool:
    """Whether a path the caller names is a folder (following a link there: it is given)."""
    return os.path.isdir(path)


def walk(
    paths: Iterable[str | os.PathLike[str]], *, follow_links: bool = False
) -> Iterator[InputFile]:
    """The files given and, for each folder given, the files below it (hidden files left
    out), each as an :class:`InputFile`; links below a folder given come refused, unless
    ``follow_links``. A file given that cannot be read comes refused with the reason."""
    for item in paths:
        if is_folder(item):
            try:
                folder = open_folder(item, follow_links=follow_links)
            except OSError as exc:
                yield InputFile(Path(item), Path(item), problem=_open_error(str(item), exc).reason)
                continue
            with folder:
                yield from _files_below(folder)
        else:
            try:
                yield given_file(item, follow_links=follow_links)
            except IngestError as exc:
                yield InputFile(Path(item), Path(item), problem=exc.reason)


def _files_below(folder: Folder) -> Iterator[InputFile]:
    for entry in folder.entries():
        if entry.kind == "folder":
            try:
                sub = folder.sub(entry)
            except IngestError as exc:
                unsafe = isinstance(exc, UnsafeInputError)
                yield InputFile(
                    folder.label / entry.name,
                    folder.location / entry.name,
                    refused=exc.reason if unsafe else "",
                    problem="" if unsafe else exc.reason,
                )
                continue
            if sub is not None:
                with sub:
                    yield from _files_below(sub)
        elif entry.name.startswith("."):
            continue
        elif entry.kind in ("file", "link"):
            yield folder.file(entry)
