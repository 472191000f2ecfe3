"""Reservation leases with real processes, on both catalogs: a slow issuer keeps its
number however long it takes; a SIGKILLed issuer's number is voided on the next open — at
once on the same host, after the timeout from another host (simulated with
``DOCARCHIVE_HOST``); an issuer whose reservation was voided stops with one message.

Each issuer is a real process whose renderer is made slow (it sleeps after the number is
reserved and says so with a file), standing for a hung converter or a paused machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from docarchive import Archive
from docarchive.leases import Owner, process_start

CIRCULAR = Path(__file__).resolve().parent.parent / "examples" / "data" / "circular.json"
TIMEOUT_S = 2

#: the renderer of the issuing process sleeps ``SLOW_SECONDS`` once the number is reserved,
#: after touching ``SLOW_SIGNAL``
SLOW = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    import docarchive.issuing as issuing
    _real = issuing.render_docx
    def _slow(*args, **kwargs):
        Path(os.environ["SLOW_SIGNAL"]).touch()
        time.sleep(float(os.environ["SLOW_SECONDS"]))
        return _real(*args, **kwargs)
    issuing.render_docx = _slow
    """
)

ISSUER = SLOW + textwrap.dedent(
    """
    import json, sys
    from docarchive import Archive
    root, url, data = sys.argv[1], sys.argv[2], json.loads(Path(sys.argv[3]).read_text("utf-8"))
    with Archive.open(root, catalog=url) as archive:
        record = archive.issue("circular", data, actor="slow-issuer")
    print(json.dumps({"number": record.number, "id": record.id}))
    """
)

CLI = SLOW + textwrap.dedent(
    """
    from docarchive.cli import main
    main()
    """
)


@pytest.fixture
def root(tmp_path: Path, catalog_url: str) -> Path:
    root = tmp_path / "archive"
    Archive.open(root, catalog=catalog_url).close()
    settings = root / "docarchive.toml"
    text = settings.read_text("utf-8")
    settings.write_text(f"{text}\n[issue]\nreservation_timeout_seconds = {TIMEOUT_S}\n", "utf-8")
    return root


class Issuer:
    """A real issuing process with a slow renderer, started and waited for by the test."""

    def __init__(self, tmp_path: Path, script: str, args: list[str], sleep_s: float, **env: str):
        self.signal = tmp_path / f"reserved-{time.monotonic_ns()}"
        environ = {
            **os.environ,
            "SLOW_SIGNAL": str(self.signal),
            "SLOW_SECONDS": str(sleep_s),
            "DOCARCHIVE_ISSUE_PDF": "0",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_reserved(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.signal.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the issuer ended early: {self.proc.communicate()}")
            assert time.monotonic() < deadline, "the issuer never reserved a number"
            time.sleep(0.02)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)  # reaped: the process no longer exists


@pytest.fixture
def issuers() -> Iterator[list[Issuer]]:
    started: list[Issuer] = []
    yield started
    for issuer in started:
        if issuer.proc.poll() is None:
            issuer.kill()


def _issuer(tmp_path: Path, root: Path, url: str, sleep_s: float, **env: str) -> Issuer:
    return Issuer(tmp_path, ISSUER, [str(root), url, str(CIRCULAR)], sleep_s, **env)


def _open_elsewhere(root: Path, url: str, host: str) -> None:
    """Open the archive from a process that believes it runs on ``host`` (every open
    voids the reservations of issuers it finds gone)."""
    script = (
        "import sys; from docarchive import Archive; "
        "Archive.open(sys.argv[1], catalog=sys.argv[2]).close()"
    )
    env = {**os.environ, "DOCARCHIVE_HOST": host}
    subprocess.run([sys.executable, "-c", script, str(root), url], env=env, check=True)


def _statuses(root: Path, url: str) -> list[tuple[str, str, str]]:
    with Archive.open(root, catalog=url) as archive:
        return [(e.number, e.status, e.reason) for e in archive.register("circular")]


@pytest.mark.parametrize("issuer_host", ["", "host-b"], ids=["same-host", "other-host"])
def test_a_slow_issuer_keeps_its_number(
    root: Path, catalog_url: str, tmp_path: Path, issuers: list[Issuer], issuer_host: str
) -> None:
    env = {"DOCARCHIVE_HOST": issuer_host} if issuer_host else {}
    issuer = _issuer(tmp_path, root, catalog_url, sleep_s=3 * TIMEOUT_S, **env)
    issuers.append(issuer)
    issuer.wait_reserved()
    # past the timeout, opened again and again, here and from another host
    until = time.monotonic() + 2 * TIMEOUT_S
    while time.monotonic() < until:
        with Archive.open(root, catalog=catalog_url) as archive:
            assert [e.status for e in archive.register("circular")] == ["reserved"]
        _open_elsewhere(root, catalog_url, "host-c")
        time.sleep(0.3)
    code, out, err = issuer.finish()
    assert code == 0, err
    done = json.loads(out)
    assert _statuses(root, catalog_url) == [(done["number"], "issued", "")]
    with Archive.open(root, catalog=catalog_url) as archive:
        assert archive.get(done["id"]) is not None
        assert archive.verify().ok
        # the lease is gone with its last reservation
        assert archive.catalog.held_reservations() == []


def test_a_killed_issuer_on_this_host_is_voided_at_the_next_open(
    root: Path, catalog_url: str, tmp_path: Path, issuers: list[Issuer]
) -> None:
    issuer = _issuer(tmp_path, root, catalog_url, sleep_s=600)
    issuers.append(issuer)
    issuer.wait_reserved()
    pid = issuer.proc.pid
    issuer.kill()
    # an hour's timeout: voided now can only be because its process is gone, not its age
    settings = root / "docarchive.toml"
    text = settings.read_text("utf-8").replace(
        f"reservation_timeout_seconds = {TIMEOUT_S}", "reservation_timeout_seconds = 3600"
    )
    settings.write_text(text, "utf-8")
    ((number, status, reason),) = _statuses(root, catalog_url)
    assert status == "void", reason
    assert reason.startswith(f"interrupted: the issuing process {pid} on ")
    assert "stopped before the document was stored" in reason
    with Archive.open(root, catalog=catalog_url) as archive:
        assert list(archive.catalog.records()) == []
        assert archive.verify().ok
        # the register goes on with the next number: no gap, no reuse
        data = json.loads(CIRCULAR.read_text("utf-8"))
        os.environ["DOCARCHIVE_ISSUE_PDF"] = "0"
        try:
            nxt = archive.issue("circular", data).number
        finally:
            del os.environ["DOCARCHIVE_ISSUE_PDF"]
        assert [e.status for e in archive.register("circular")] == ["void", "issued"]
        assert nxt is not None and nxt != number


def test_a_killed_issuer_on_another_host_is_voided_after_the_timeout(
    root: Path, catalog_url: str, tmp_path: Path, issuers: list[Issuer]
) -> None:
    issuer = _issuer(tmp_path, root, catalog_url, sleep_s=600, DOCARCHIVE_HOST="host-b")
    issuers.append(issuer)
    issuer.wait_reserved()
    issuer.kill()
    # within the timeout its lease says it may be alive over there, dead here or not: with
    # an hour's timeout the open must leave it (no race with the clock on a busy machine)
    settings = root / "docarchive.toml"
    short = settings.read_text("utf-8")
    settings.write_text(
        short.replace(
            f"reservation_timeout_seconds = {TIMEOUT_S}", "reservation_timeout_seconds = 3600"
        ),
        "utf-8",
    )
    ((_, status, _),) = _statuses(root, catalog_url)
    assert status == "reserved"
    settings.write_text(short, "utf-8")  # back to the short timeout, and past it
    time.sleep(TIMEOUT_S + 0.5)
    ((_, status, reason),) = _statuses(root, catalog_url)
    assert status == "void", reason
    assert reason.startswith("interrupted: the issuing process ")
    assert " on host-b has not renewed its lease since " in reason
    with Archive.open(root, catalog=catalog_url) as archive:
        assert archive.catalog.held_reservations() == []
        assert archive.verify().ok


def test_an_issuer_whose_number_was_voided_stops_with_one_message(
    root: Path, catalog_url: str, tmp_path: Path, issuers: list[Issuer]
) -> None:
    args = ["--root", str(root), "issue", "circular", str(CIRCULAR)]
    issuer = Issuer(
        tmp_path, CLI, args, sleep_s=2, DOCARCHIVE_CATALOG=catalog_url, DOCARCHIVE_USER="clerk"
    )
    issuers.append(issuer)
    issuer.wait_reserved()
    with Archive.open(root, catalog=catalog_url) as archive:
        ((entry, _lease_id, lease),) = (
            (h.entry, h.lease_id, h.lease) for h in archive.catalog.held_reservations()
        )
        assert lease is not None and lease.owner.pid == issuer.proc.pid
        archive.void(entry.number, "خطأ في الترقيم: أُلغي الرقم بقرار من مدير المكتب")
    code, _out, err = issuer.finish()
    assert code != 0
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert f"number {entry.number} was voided while its document was being made" in lines[0]
    assert "the document was not stored" in lines[0]
    ((_, status, reason),) = _statuses(root, catalog_url)
    assert status == "void" and reason.startswith("خطأ في الترقيم")
    with Archive.open(root, catalog=catalog_url) as archive:
        assert list(archive.catalog.records()) == []
        assert archive.search("الأرشفة").total == 0
        assert archive.verify().ok


def test_owner_of_this_process_is_alive_and_a_reused_pid_is_not() -> None:
    me = Owner.this_process()
    assert me.local() and not me.gone()
    assert me.started == process_start(os.getpid()) != ""
    # the same process id with another start time is a later process: the owner is gone
    assert Owner(me.host, me.boot, me.pid, str(int(me.started) + 1)).gone()
    # another host, or another boot of this one, can only be judged by its lease's age
    assert not Owner("host-b", me.boot, 1, "1").gone()
    assert not Owner(me.host, "another-boot", 999_999_999, "1").gone()
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Owner(me.host, me.boot, int(done.stdout), "1").gone()


def test_heartbeat_renews_while_reserved_and_ends_with_the_last(tmp_path: Path) -> None:
    root = tmp_path / "a"
    Archive.open(root).close()
    settings = root / "docarchive.toml"
    settings.write_text(
        settings.read_text("utf-8") + "\n[issue]\nreservation_timeout_seconds = 0.4\n", "utf-8"
    )
    with Archive.open(root) as archive:
        numbers = archive._numbers
        when = archive.core.now()
        number, _ = numbers.reserve("circular", "circ-1", "clerk", when)
        heartbeat = numbers.heartbeat
        assert heartbeat.interval == pytest.approx(0.1)
        seen = set()
        for _ in range(6):
            time.sleep(0.12)
            (held,) = archive.catalog.held_reservations()
            assert held.lease is not None
            seen.add(held.lease.renewed_at)
        assert len(seen) >= 4, "renewed about every interval"
        # a reservation older than the timeout, of a live process here: kept
        assert archive.void_interrupted() == []
        with archive.catalog.transaction("clerk") as tx:
            tx.void_reserved(number, "test: done")
        deadline = time.monotonic() + 5
        while heartbeat._thread is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heartbeat._thread is None, "the heartbeat ends with the last reservation"
        rows = archive.catalog._rows("SELECT count(*) FROM leases", (), "counting leases")  # type: ignore[attr-defined]
        assert rows[0][0] == 0, "and its lease row is gone"
