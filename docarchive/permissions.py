"""Who may read what the archive writes: the permission policy, and the helpers every
writer calls.

Everything an archive creates on local disk is private to the account that runs it:

========  ==========  ==========================  ===========================
what      owner only  ``group_access = "read"``   ``group_access = "write"``
========  ==========  ==========================  ===========================
folders   0700        2750 (setgid)               2770 (setgid)
files     0600        0640                        0660
blobs     0400        0440                        0440 (never writable)
========  ==========  ==========================  ===========================

``[security] group = "docarchive"`` in ``docarchive.toml`` names the one group that may
read (or read and write) besides the owner; nothing is ever open to other accounts. A
group's folders carry the setgid bit, so what anyone writes inside (a library's own files
too) belongs to that group, as git's ``core.sharedRepository = group`` does.

Modes are set explicitly on every folder made (``mkdir``, then ``chmod``) and on every
file written (``fchmod`` on its open descriptor, before its first byte), so the process
umask never matters. Files that libraries write themselves — SQLite's catalog (created
here first, 0600, so SQLite gives its ``-wal`` and ``-shm`` the same mode), a search
engine's segments — are brought to the policy by :meth:`Policy.fix_tree` after they
write (:class:`LocalFiles` does it when an archive is made, on open and after each index
write); they are written
inside folders that are already private, the archive root (0700) being the first defence.
:meth:`LocalFiles.exposed` lists whatever is open beyond the policy, for ``verify``.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigurationError

__all__ = ["GROUP_ACCESS", "Kind", "LocalFiles", "Policy", "adopt", "local_path"]

log = logging.getLogger(__name__)

Kind = Literal["folder", "file", "blob"]
GROUP_ACCESS = ("read", "write")

_OWNER: dict[str, int] = {"folder": 0o700, "file": 0o600, "blob": 0o400}
_GROUP_READ: dict[str, int] = {"folder": 0o2050, "file": 0o040, "blob": 0o040}
_GROUP_WRITE: dict[str, int] = {"folder": 0o2070, "file": 0o060, "blob": 0o040}
_PERMISSIONS = 0o7777  # what chmod sets: permission bits, setuid, setgid, sticky


@dataclass(frozen=True)
class Policy:
    """The modes (and group) of what the archive writes; the default is owner only."""

    group: str | None = None
    gid: int | None = None
    group_write: bool = False

    @classmethod
    def of(cls, group: str | None, access: str = "read") -> Policy:
        """The policy for ``[security] group`` and ``group_access``: ConfigurationError
        when the group does not exist, or when this account, not being root, is not a
        member of it (it could not give its files to that group)."""
        if access not in GROUP_ACCESS:
            raise ConfigurationError(
                f"[security] group_access must be 'read' or 'write', not {access!r}"
            )
        if not group:
            return cls()
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ConfigurationError(f"[security] group {group!r}: no such group") from None
        if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
            raise ConfigurationError(
                f"[security] group {group!r}: this account (uid {os.geteuid()}) is not a "
                "member of it, so it cannot give the archive's files to it"
            )
        return cls(group, gid, access == "write")

    @property
    def access(self) -> str:
        """``owner``, ``group-read`` or ``group-write``: for messages and the README."""
        if self.gid is None:
            return "owner"
        return "group-write" if self.group_write else "group-read"

    def mode(self, kind: Kind) -> int:
        """The exact mode of a folder, a file or a blob under this policy."""
        mode = _OWNER[kind]
        if self.gid is not None:
            mode |= (_GROUP_WRITE if self.group_write else _GROUP_READ)[kind]
        return mode

    # -- writing --------------------------------------------------------------------------

    def folder(self, path: str | os.PathLike[str]) -> Path:
        """Make ``path`` and any missing parents, each with the folder mode (existing
        folders are left as they are); returns ``path``."""
        path = Path(path)
        missing: list[Path] = []
        here = path
        while not here.is_dir():
            missing.append(here)
            if here.parent == here:
                break
            here = here.parent
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                if not folder.is_dir():
                    raise
                continue  # made meanwhile by another process: its maker sets its mode
            self.apply(folder, "folder")
        return path

    def apply_fd(self, fd: int, kind: Kind = "file") -> None:
        """Give an open file (or folder) the policy's group and mode."""
        if self.gid is not None:
            os.fchown(fd, -1, self.gid)
        os.fchmod(fd, self.mode(kind))

    def apply(self, path: str | os.PathLike[str], kind: Kind) -> None:
        """Give ``path`` the policy's group and mode (a symbolic link is left alone)."""
        if os.path.islink(path):
            return
        if self.gid is not None:
            os.chown(path, -1, self.gid, follow_symlinks=False)
        os.chmod(path, self.mode(kind))

    def write_file(
        self,
        path: str | os.PathLike[str],
        data: bytes,
        *,
        kind: Kind = "file",
        exclusive: bool = False,
        sync: bool = False,
    ) -> None:
        """Write ``data`` to ``path`` with the policy's mode, set before the first byte is
        written (an existing file is truncated and given the mode; a link is refused)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags | (os.O_EXCL if exclusive else 0), 0o600)
        try:
            self.apply_fd(fd, kind)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def create_file(self, path: str | os.PathLike[str], kind: Kind = "file") -> bool:
        """Create ``path`` empty with the policy's mode unless it exists (for a library
        that then opens it, such as SQLite); returns whether it was created."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            return False
        try:
            self.apply_fd(fd, kind)
        finally:
            os.close(fd)
        return True

    # -- checking and fixing --------------------------------------------------------------

    def wrong(self, st: os.stat_result, kind: Kind) -> bool:
        """Whether a file or folder differs from the policy (mode or group)."""
        if stat.S_IMODE(st.st_mode) != self.mode(kind):
            return True
        return self.gid is not None and st.st_gid != self.gid

    def beyond(self, st: os.stat_result, kind: Kind) -> str:
        """What a file or folder allows beyond the policy ("" when nothing): access for
        other accounts, for its group when the policy names none or another one, or
        write access where the policy gives the group only read."""
        mode = stat.S_IMODE(st.st_mode)
        allowed = self.mode(kind)
        noun = {"r": "read", "w": "write", "x": "enter" if kind == "folder" else "run"}

        def words(bits: int) -> str:
            return "/".join(noun[c] for c, bit in zip("rwx", (4, 2, 1), strict=True) if bits & bit)

        found: list[str] = []
        if mode & 0o007:
            found.append(f"others may {words(mode & 0o007)}")
        group_bits = (mode >> 3) & 7
        if self.gid is None or st.st_gid != self.gid:
            extra = group_bits
        else:
            extra = group_bits & ~(allowed >> 3) & 7
        if extra:
            found.append(f"group {_group_name(st.st_gid)} may {words(extra)}")
        if not found:
            return ""
        policy = "owner only" if self.gid is None else f"group {self.group} {self.access[6:]}"
        return (
            f"{', '.join(found)} (mode {mode:04o}; the policy, {policy}, allows "
            f"{allowed & 0o777:04o})"
        )

    def fix_tree(self, top: str | os.PathLike[str], kind: Kind = "file") -> int:
        """Bring ``top`` and everything below it to the policy (files as ``kind``),
        without following links; returns how many were changed. What this account may
        not change (another service account's files) is left for its owner to fix."""
        changed = 0
        for path, st, what in _tree(Path(top), kind):
            if self.wrong(st, what):
                changed += self._apply_quietly(path, what)
        return changed

    def _apply_quietly(self, path: Path, kind: Kind) -> int:
        """:meth:`apply`, 1 when done; 0 (logged) when not allowed or gone meanwhile."""
        try:
            self.apply(path, kind)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOENT, errno.EACCES):
                raise
            log.debug("cannot bring %s to the permission policy: %s", path, exc)
            return 0
        return 1


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _tree(
    top: Path, kind: Kind, skip: frozenset[Path] = frozenset()
) -> Iterator[tuple[Path, os.stat_result, Kind]]:
    """``top`` and everything below it (but the trees in ``skip``), with its lstat and
    what it is under the policy; links are skipped (never followed), sockets and the like
    count as files, and a folder that cannot be listed is not entered."""
    if top in skip:
        return
    try:
        st = top.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return
    if not stat.S_ISDIR(st.st_mode):
        yield top, st, kind
        return
    yield top, st, "folder"
    try:
        with os.scandir(top) as listing:
            names = sorted(entry.name for entry in listing)
    except OSError:
        return
    for name in names:
        yield from _tree(top / name, kind, skip)


def local_path(backend: Any) -> Path | None:
    """The local file or folder a backend writes in (its ``path``), None for one that
    keeps nothing on this machine (S3, PostgreSQL, memory)."""
    path = getattr(backend, "path", None)
    return path if isinstance(path, Path) and path.is_absolute() else None


def adopt(backend: Any, policy: Policy) -> None:
    """Hand ``policy`` to a backend that writes local files with it (one that has a
    ``permissions`` attribute, such as :class:`~docarchive.storage.local.LocalStorage`)."""
    if isinstance(getattr(backend, "permissions", None), Policy):
        backend.permissions = policy


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class LocalFiles:
    """The local files and folders of one open archive, under one policy: the root
    folder (settings, stamp key, quarantine, and whatever else is kept there), and each
    backend's own file or folder where it keeps one (blobs, the SQLite catalog with its
    ``-wal`` and ``-shm``, the index folder), inside the root or not."""

    policy: Policy
    root: Path
    blobs: Path | None = None
    catalog: Path | None = None
    index: Path | None = None

    @classmethod
    def of(cls, policy: Policy, root: Path, storage: Any, catalog: Any, index: Any) -> LocalFiles:
        return cls(policy, root, local_path(storage), local_path(catalog), local_path(index))

    def trees(self) -> list[tuple[Path, Kind]]:
        """Each tree to check, with what its files are; a tree inside another is listed
        on its own (and left out of the outer one's walk)."""
        found: list[tuple[Path, Kind]] = [(self.root, "file")]
        if self.blobs is not None:
            found.append((self.blobs, "blob"))
        if self.index is not None:
            found.append((self.index, "file"))
        if self.catalog is not None:
            found += [
                (self.catalog.with_name(self.catalog.name + side), "file")
                for side in ("", *_SQLITE_SIDE_FILES)
            ]
        return found

    def after_open(self) -> None:
        """On open: what libraries wrote on their own brought to the policy — the catalog's
        ``-wal``, ``-shm`` and ``-journal`` files and the index folder. What the archive
        writes itself already has its mode; anything else open beyond the policy is for
        ``verify`` to report, not to be changed behind the administrator's back."""
        if self.catalog is not None:
            for side in _SQLITE_SIDE_FILES:
                self._fix(self.catalog.with_name(self.catalog.name + side), "file")
        self.after_index_write()

    def fix_all(self) -> int:
        """Every local file and folder of the archive brought to the policy (for a new
        archive, for an archive made before the policy, or after ``[security] group``
        changed); returns how many were changed."""
        trees = self.trees()
        inner = frozenset(path for path, _ in trees[1:])
        changed = 0
        for top, kind in trees:
            for path, st, what in _tree(top, kind, inner - {top}):
                if self.policy.wrong(st, what):
                    changed += self._fix(path, what)
        return changed

    def after_index_write(self) -> None:
        """After the search engine wrote: its folder brought to the policy."""
        if self.index is not None:
            self.policy.fix_tree(self.index)

    def _fix(self, path: Path, kind: Kind) -> int:
        try:
            st = path.lstat()
        except FileNotFoundError:
            return 0
        if stat.S_ISLNK(st.st_mode) or not self.policy.wrong(st, kind):
            return 0
        return self.policy._apply_quietly(path, kind)

    def exposed(self) -> Iterator[tuple[Path, str]]:
        """Every local file or folder of the archive open beyond the policy."""
        trees = self.trees()
        inner = {path for path, _ in trees[1:]}
        seen: set[Path] = set()
        for top, kind in trees:
            for path, st, what in _tree(top, kind, frozenset(inner - {top})):
                found = self.policy.beyond(st, what)
                if found and path not in seen:
                    seen.add(path)
                    yield path, found
