"""The archive folder is private (issue 19): folders 0700, files 0600, blobs 0400 whatever
the umask; a group named in ``[security]`` gets exactly its modes; another account reads
nothing; ``verify`` names what is open beyond the policy.

Other accounts are real (``useradd``, see tests/accounts.py) and what they can do is
tried for real, as them. Their archives live in a folder any account may enter: pytest's
own temporary folders are private to root, which would make these tests pass whatever
the archive did."""

from __future__ import annotations

import errno
import grp
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from accounts import try_as

from docarchive import Archive, ConfigurationError, Settings
from docarchive.permissions import Policy

CLI = subprocess.CompletedProcess[str]


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")


def _mail(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "مديرية التخطيط <planning@mop.gov.iq>"
    msg["To"] = "أرشيف مكتب الوزير <archive@mop.gov.iq>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash(subject))}@mop.gov.iq>"
    msg["Date"] = "Tue, 10 Mar 2026 09:30:00 +0300"
    msg.set_content("يرجى الاطلاع على الكتاب المرفق واتخاذ ما يلزم.")
    return msg.as_bytes()


def _inputs(folder: Path, make_pdf: Callable[..., Path]) -> tuple[Path, Path]:
    """A drop folder (a readable scan, a file that is not a PDF) and a mail folder (a
    message, and something that is not mail): each archive here gets records, blobs, index
    files and quarantined inputs."""
    scans = folder / "scans"
    scans.mkdir()
    make_pdf("report.pdf", ["Monthly report of the planning directorate"]).rename(
        scans / "report.pdf"
    )
    (scans / "broken.pdf").write_bytes(b"this is not a PDF at all")
    mails = folder / "mails"
    mails.mkdir()
    (mails / "a.eml").write_bytes(_mail("طلب تزويدنا بنسخة من قرار تشكيل اللجنة"))
    (mails / "b.eml").write_bytes(b"\x00\x01 not mail \xff\xfe")
    return scans, mails


def _fill(archive: Archive, scans: Path, mails: Path, circular: dict[str, Any]) -> None:
    archive.issue("circular", circular)
    assert len(archive.ingest_scans([scans]).quarantined) == 1
    assert len(archive.ingest_mails([mails]).quarantined) == 1


def _everything(root: Path) -> list[Path]:
    """The archive folder and every file and folder below it (links not followed)."""
    found = [root]
    for folder, dirs, files in os.walk(root):
        found += [Path(folder) / name for name in sorted(dirs + files)]
    return found


def _modes(root: Path) -> dict[str, set[str]]:
    """Every mode found below ``root``, by what it is (folder, blob, file)."""
    blobs = root / "blobs"
    found: dict[str, set[str]] = {"folder": set(), "blob": set(), "file": set()}
    for path in _everything(root):
        st = path.lstat()
        what = "folder" if stat.S_ISDIR(st.st_mode) else "blob" if blobs in path.parents else "file"
        found[what].add(f"{stat.S_IMODE(st.st_mode):04o}")
    return found


def _cli_with_umask(umask: str, *args: str, root: Path) -> CLI:
    """The command line in a process whose umask is ``umask``."""
    env = {**os.environ, "DOCARCHIVE_ROOT": str(root), "DOCARCHIVE_ISSUE_PDF": "0"}
    return subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" "$@"', sys.executable, "-m", "docarchive", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


# -- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("access", "folder", "file", "blob"),
    [(None, 0o700, 0o600, 0o400), ("read", 0o2750, 0o640, 0o440), ("write", 0o2770, 0o660, 0o440)],
    ids=["owner-only", "group-read", "group-write"],
)
def test_the_modes_of_each_policy(
    accounts: Any, access: str | None, folder: int, file: int, blob: int
) -> None:
    policy = Policy.of(accounts.group if access else None, access or "read")
    assert (policy.mode("folder"), policy.mode("file"), policy.mode("blob")) == (folder, file, blob)


def test_a_group_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    (tmp_path / "docarchive.toml").write_text(
        '[security]\ngroup = "no-such-group-here"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="group 'no-such-group-here': no such group"):
        Archive.open(tmp_path)
    with pytest.raises(ConfigurationError, match="group_access must be 'read' or 'write'"):
        Settings.load(tmp_path, environ={}, group="root", group_access="everyone")
    (tmp_path / "docarchive.toml").write_text('[security]\ngrup = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"unknown setting 'grup' in \[security\]"):
        Settings.load(tmp_path, environ={})


def test_writing_never_follows_a_link_and_folders_are_made_private(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("ملف خارج الأرشيف", encoding="utf-8")
    planted = tmp_path / "docarchive.toml"
    planted.symlink_to(elsewhere)
    with pytest.raises(OSError) as info:
        Policy().write_file(planted, b"[office]\n")
    assert info.value.errno == errno.ELOOP
    assert elsewhere.read_text("utf-8") == "ملف خارج الأرشيف"
    old = os.umask(0)
    try:
        made = Policy().folder(tmp_path / "a" / "b" / "c")
        Policy().write_file(made / "reason.txt", "سبب الحجز\n".encode())
    finally:
        os.umask(old)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "a", made.parent, made)]
    assert modes == [0o700, 0o700, 0o700]
    assert stat.S_IMODE((made / "reason.txt").stat().st_mode) == 0o600


# -- whatever the umask -------------------------------------------------------------------------


def test_everything_is_owner_only_even_with_umask_000(
    tmp_path: Path, make_pdf: Callable[..., Path], example_data: Path
) -> None:
    root = tmp_path / "archive"
    scans, mails = _inputs(tmp_path, make_pdf)
    for args in (
        ["init", str(root)],
        ["issue", "circular", str(example_data / "circular.json")],
        ["ingest", "scan", str(scans)],
        ["ingest", "mail", str(mails)],
        ["reindex"],
        ["export", "--query", "Monthly", "-o", str(tmp_path / "bag")],
    ):
        proc = _cli_with_umask("000", *args, root=root)
        assert proc.returncode == 0, proc.stderr
    assert (root / "stamp.key").is_file() and any((root / "quarantine").iterdir())
    assert any((root / "index").iterdir())
    assert _modes(root) == {"folder": {"0700"}, "blob": {"0400"}, "file": {"0600"}}
    # the bag holds the records' files: as private as the archive
    assert _modes(tmp_path / "bag") == {"folder": {"0700"}, "blob": set(), "file": {"0600"}}
    proc = _cli_with_umask("000", "verify", "--json", root=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["problems"] == []


def test_the_catalog_is_made_private_before_sqlite_opens_it(tmp_path: Path) -> None:
    """SQLite would make it 0644 less the umask; its -wal and -shm take the file's mode."""
    old = os.umask(0)
    try:
        with Archive.open(tmp_path / "archive") as archive:
            archive.catalog.last_change()
            catalog = tmp_path / "archive" / "catalog.sqlite"
            sides = [catalog.with_name(catalog.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in sides)  # open in WAL mode while the archive is
            assert {stat.S_IMODE(p.stat().st_mode) for p in [catalog, *sides]} == {0o600}
    finally:
        os.umask(old)


# -- another account ----------------------------------------------------------------------------


def test_another_account_reads_nothing_of_an_archive(
    accounts: Any,
    shared_folder: Path,
    make_pdf: Callable[..., Path],
    circular_data: dict[str, Any],
    cli: Callable[..., CLI],
) -> None:
    root = shared_folder / "archive"
    scans, mails = _inputs(shared_folder, make_pdf)
    with Archive.open(root) as archive:
        _fill(archive, scans, mails, circular_data)
    inside = _everything(root)[1:]
    names = {p.name for p in inside}
    assert {"catalog.sqlite", "docarchive.toml", "stamp.key", "reason.txt", "input"} <= names
    assert any("blobs" in p.parts and p.is_file() for p in inside)
    assert any("index" in p.parts and p.is_file() for p in inside)

    seen = try_as(accounts.other, [root, *inside])
    assert [p for p, a in seen.items() if a.read or a.write] == []
    assert "Permission denied" in seen[root].read_error

    # an administrator opens the folder by mistake: what is inside stays closed
    root.chmod(0o755)
    seen = try_as(accounts.other, inside)
    assert [p for p, a in seen.items() if a.read or a.write] == []
    assert all("Permission denied" in a.read_error for a in seen.values())
    proc = cli("verify", "--json", root=root)
    assert proc.returncode == 1
    (problem,) = json.loads(proc.stdout)["problems"]
    assert problem["code"] == "permissions-open" and problem["path"] == str(root)
    assert "others may read/enter" in problem["message"] and "allows 0700" in problem["message"]


# -- a group ------------------------------------------------------------------------------------


@pytest.mark.parametrize("access", ["read", "write"])
def test_a_group_gets_exactly_what_the_settings_say(
    accounts: Any,
    shared_folder: Path,
    make_pdf: Callable[..., Path],
    example_data: Path,
    cli: Callable[..., CLI],
    access: str,
) -> None:
    root = shared_folder / "archive"
    scans, mails = _inputs(shared_folder, make_pdf)
    init = cli("init", str(root), "--group", accounts.group, "--group-access", access, "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["group"] == accounts.group
    assert f'group = "{accounts.group}"' in (root / "docarchive.toml").read_text("utf-8")
    for args in (
        ["issue", "circular", str(example_data / "circular.json")],
        ["ingest", "scan", str(scans)],
        ["ingest", "mail", str(mails)],
    ):
        assert cli(*args, root=root).returncode == 0
    write = access == "write"
    assert _modes(root) == {
        "folder": {"2770" if write else "2750"},
        "blob": {"0440"},
        "file": {"0660" if write else "0640"},
    }
    gid = grp.getgrnam(accounts.group).gr_gid
    assert {p.lstat().st_gid for p in _everything(root)} == {gid}

    everything = _everything(root)
    member = try_as(accounts.member, everything)
    assert [p for p, a in member.items() if not a.read] == []
    blobs = root / "blobs"
    written = {p for p, a in member.items() if a.write}
    if write:  # everything but the blobs, which nobody may change
        assert written == {p for p in everything if not (blobs in p.parents and p.is_file())}
    else:
        assert written == set()
    other = try_as(accounts.other, everything)
    assert [p for p, a in other.items() if a.read or a.write] == []
    assert cli("verify", root=root).returncode == 0


def test_a_group_named_later_is_given_its_modes_by_fix_permissions(
    accounts: Any, shared_folder: Path, circular_data: dict[str, Any]
) -> None:
    root = shared_folder / "archive"
    with Archive.open(root) as archive:
        record = archive.issue("circular", circular_data)
    with (root / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[security]\ngroup = "{accounts.group}"\n')
    sha = record.files[0].sha256
    blob = root / "blobs" / sha[:2] / sha[2:4] / sha
    assert try_as(accounts.member, [blob])[blob].read is False
    with Archive.open(root) as archive:
        assert archive.verify().ok  # narrower than the policy is not a problem
        report = archive.verify(fix_permissions=True)
        assert report.ok and report.permissions_fixed and report.permissions_fixed > 5
        assert report.to_dict()["permissions_fixed"] == report.permissions_fixed
    assert stat.S_IMODE(blob.stat().st_mode) == 0o440
    assert try_as(accounts.member, [blob])[blob].read is True
    assert try_as(accounts.other, [blob])[blob].read is False


# -- verify -------------------------------------------------------------------------------------


def test_verify_names_each_file_open_beyond_the_policy(
    accounts: Any,
    tmp_path: Path,
    make_pdf: Callable[..., Path],
    circular_data: dict[str, Any],
    cli: Callable[..., CLI],
) -> None:
    root = tmp_path / "archive"
    scans, mails = _inputs(tmp_path, make_pdf)
    with Archive.open(root) as archive:
        _fill(archive, scans, mails, circular_data)
        assert archive.verify().ok
        record = archive.issue("circular", circular_data)
    sha = record.files[0].sha256
    blob = root / "blobs" / sha[:2] / sha[2:4] / sha
    blob.chmod(0o444)  # as blobs were written before this policy
    kept = next((root / "quarantine").iterdir()) / "reason.txt"
    kept.chmod(0o644)
    settings = root / "docarchive.toml"
    os.chown(settings, -1, grp.getgrnam(accounts.group).gr_gid)
    settings.chmod(0o660)  # a group the policy does not name
    index = root / "index"
    index.chmod(0o755)  # the index is the engine's: opening puts it right again

    proc = cli("verify", "--json", root=root)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    found = {p["path"]: p["message"] for p in report["problems"]}
    assert set(found) == {str(blob), str(kept), str(settings)}
    assert {p["code"] for p in report["problems"]} == {"permissions-open"}
    assert found[str(blob)] == (
        f"{blob}: others may read, group root may read "
        "(mode 0444; the policy, owner only, allows 0400)"
    )
    assert found[str(settings)].startswith(f"{settings}: group {accounts.group} may read/write")
    text = cli("verify", root=root)
    assert f"PROBLEM permissions-open: {kept}: others may read" in text.stdout

    fixed = cli("verify", "--fix-permissions", root=root)
    assert fixed.returncode == 0, fixed.stdout
    assert fixed.stdout.startswith("brought 3 files or folders to the policy\n")
    assert stat.S_IMODE(blob.stat().st_mode) == 0o400
    assert stat.S_IMODE(index.stat().st_mode) == 0o700
