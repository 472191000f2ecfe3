"""Real operating-system accounts for the permission tests: another account that must read
nothing of an archive, and a group with a member that may read (or write) what the
settings say.

The accounts are created with ``useradd``/``groupadd`` (the tests run as root, here and
on CI), once per session, named after the test process so that test runs side by side do
not meet, and removed afterwards. What an account can do is tried for real, in a shell run
as that account (``runuser -u NAME --``): ``cat`` to read a file, ``ls`` to list a folder,
``: >>`` to open a file for writing (it writes nothing), ``touch`` then ``rm`` of a new
name to write in a folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Access", "account", "can_manage_accounts", "group", "shared_folder", "try_as"]

#: Each path: does reading it (a file: cat; a folder: ls) work, and does writing (a file:
#: open for appending; a folder: make and remove a file in it) work? One line per path:
#: ``path<TAB>read-status<TAB>read-error<TAB>write-status<TAB>write-error``.
_PROBE = r"""
for p do
  if [ -d "$p" ]; then
    if out=$(ls -- "$p" 2>&1 >/dev/null); then r=ok; else r=denied; fi
    name="$p/.probe.$$"
    if wout=$(touch -- "$name" 2>&1); then w=ok; rm -f -- "$name"; else w=denied; fi
  else
    if out=$(cat -- "$p" 2>&1 >/dev/null); then r=ok; else r=denied; fi
    if wout=$( (: >> "$p") 2>&1); then w=ok; else w=denied; fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$r" "$(echo $out)" "$w" "$(echo $wout)"
done
"""


@dataclass(frozen=True)
class Access:
    """What an account could do with one path, and what the system said when it could not."""

    read: bool
    read_error: str
    write: bool
    write_error: str


def can_manage_accounts() -> bool:
    return os.geteuid() == 0 and all(
        shutil.which(tool) for tool in ("useradd", "userdel", "groupadd", "groupdel", "runuser")
    )


def _run(*command: str) -> None:
    """Run an account tool, again while another one holds /etc/passwd's lock."""
    for attempt in range(40):
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if proc.returncode == 0:
            return
        if "lock" not in proc.stderr.lower() or attempt == 39:
            raise RuntimeError(f"{' '.join(command)}: {proc.stderr.strip()}")
        time.sleep(0.25)


@contextmanager
def group(name: str) -> Iterator[str]:
    """A new group, removed afterwards."""
    _run("groupadd", name)
    try:
        yield name
    finally:
        _run("groupdel", name)


@contextmanager
def account(name: str, *, groups: Iterable[str] = ()) -> Iterator[str]:
    """A new account without a home or a login shell (and its own group), member of
    ``groups``; removed afterwards."""
    extra = ",".join(groups)
    _run(
        "useradd",
        "--no-create-home",
        "--user-group",
        "--shell",
        "/usr/sbin/nologin",
        *(["--groups", extra] if extra else []),
        name,
    )
    try:
        yield name
    finally:
        _run("userdel", name)


def try_as(user: str, paths: Iterable[Path]) -> dict[Path, Access]:
    """What ``user`` can do with each of ``paths``, tried for real as that account."""
    wanted = [str(p) for p in paths]
    proc = subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", _PROBE, "sh", *wanted],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe as {user} failed: {proc.stderr}")
    found: dict[Path, Access] = {}
    for line in proc.stdout.splitlines():
        path, read, read_error, write, write_error = line.split("\t")
        found[Path(path)] = Access(read == "ok", read_error, write == "ok", write_error)
    assert sorted(map(str, found)) == sorted(wanted), proc.stdout
    return found


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A new folder any account may enter (pytest's own temporary folders are private to
    root, which would make every test about other accounts pass without the archive doing
    anything)."""
    folder = Path(tempfile.mkdtemp(prefix="docarchive-accounts-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
