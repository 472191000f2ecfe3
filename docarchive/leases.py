"""Who holds a reserved number, and whether they are still alive.

A number is *reserved* while its document is being made: rendered, converted, stamped,
stored. It must not be voided while its issuer is at work, however long that takes (a
slow converter, a large batch, a paused machine), and it must be voided soon after the
issuer died, or the register shows a number forever "reserved".

So each process that reserves numbers holds a **lease** in the catalog: one row with its
host, the machine's boot id, its process id and the process's start time, renewed by a
heartbeat thread while it has reservations (one small write per interval, whatever the
number of reservations). Another process decides from the lease alone:

- on the same host (same host name and boot id), the owner is alive while its process
  exists with the same start time (a reused process id is told apart); a process that
  is gone, or a zombie, has provably stopped: its reservations are voided at once;
- elsewhere, the owner is gone when its lease has not been renewed for ``[issue]
  reservation_timeout_seconds`` (the hosts' clocks must agree to well within that);
- a reservation without a lease (written by an older docarchive) is voided when it is
  older than the timeout, as before.

``DOCARCHIVE_HOST`` overrides the host name (containers that share a host name, and the
tests, which simulate a second host with it).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Catalog

__all__ = ["Heartbeat", "Lease", "Owner", "boot_id", "host_name", "process_start"]

log = logging.getLogger(__name__)

#: The heartbeat renews a lease this many times per timeout, so that a missed beat or
#: two (a busy machine, a catalog briefly locked) does not make a live issuer look gone.
BEATS_PER_TIMEOUT = 4


def host_name() -> str:
    """This machine's name as leases record it (``DOCARCHIVE_HOST`` overrides it)."""
    return os.environ.get("DOCARCHIVE_HOST") or socket.gethostname()


@cache
def boot_id() -> str:
    """The kernel's id of this boot (Linux); ``""`` where the system has none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text("ascii").strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of a process, from /proc; None if
    no such process. Raises OSError where /proc is not there at all."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
    except FileNotFoundError:
        if not Path("/proc/self/stat").exists():
            raise
        return None
    except ProcessLookupError:
        return None
    # the name (field 2) is in parentheses and may hold spaces or ')': split after the last
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], fields[19]  # field 3 (state) and field 22 (starttime)


def process_start(pid: int) -> str:
    """The start time of a process as /proc gives it (``""`` if it cannot be read)."""
    try:
        found = _stat(pid)
    except OSError:
        return ""
    return found[1] if found else ""


@dataclass(frozen=True)
class Owner:
    """The process that holds a lease: where it runs and which process it is."""

    host: str
    boot: str
    pid: int
    started: str

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        return cls(host_name(), boot_id(), pid, process_start(pid))

    def local(self) -> bool:
        """Whether this owner runs on this machine, in this boot, so its process can be
        looked at directly."""
        return self.host == host_name() and self.boot == boot_id()

    def gone(self) -> bool:
        """Whether the owner provably stopped: on this machine, its process no longer
        exists (or is a zombie, or the id now belongs to a later process). Always False
        for an owner elsewhere: only its lease's age can tell."""
        if not self.local():
            return False
        try:
            found = _stat(self.pid)
        except OSError:  # no /proc: ask the kernel whether the id exists
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            return False
        if found is None:
            return True
        state, started = found
        return state in ("Z", "X") or (bool(self.started) and started != self.started)

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


@dataclass(frozen=True)
class Lease:
    """A lease row of the catalog: its id, its owner, and when it was last renewed."""

    id: str
    owner: Owner
    renewed_at: str


class Heartbeat:
    """This process's lease on one catalog, renewed by a thread while it holds reservations.

    :meth:`lease` gives the lease to record with a new reservation (a new one after a
    ``fork``: a child is another owner); :meth:`beat` is called after the reservation is
    committed and keeps the thread going until the catalog shows no reservation of this
    lease left, then the lease row is deleted and the thread ends.
    """

    def __init__(self, catalog: Catalog, timeout_s: float) -> None:
        self.catalog = catalog
        self.interval = min(max(timeout_s / BEATS_PER_TIMEOUT, 0.05), 60.0)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = -1
        self._lease: Lease | None = None
        self._generation = 0
        self._closed = False

    def lease(self) -> Lease:
        """The lease of this process (made on first use). Its renewal time is the
        catalog's to keep (:meth:`Transaction.hold_lease` and the heartbeat write it)."""
        with self._lock:
            if self._lease is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = None  # a forked child has no heartbeat thread of its own
                self._lease = Lease(uuid.uuid4().hex, Owner.this_process(), "")
            return self._lease

    def beat(self) -> None:
        """A reservation of this lease was committed: keep the lease renewed while any is left."""
        with self._lock:
            self._generation += 1
            if self._closed:
                return
            if self._thread is None or not self._thread.is_alive():
                self._wake.clear()
                self._thread = threading.Thread(
                    target=self._run, name="docarchive-lease", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            self._renew()
        finally:
            self.catalog.close_thread()

    def _renew(self) -> None:
        lease = self._lease
        assert lease is not None
        while not self._wake.wait(self.interval):
            with self._lock:
                generation = self._generation
            try:
                held = self.catalog.renew_lease(lease.id)
            except Exception:  # the catalog is briefly out of reach: try at the next beat
                log.warning("could not renew the reservation lease %s", lease.id, exc_info=True)
                continue
            if held:
                continue
            with self._lock:
                if generation != self._generation:  # a reservation came meanwhile: go on
                    continue
                self._thread = None
            try:
                self.catalog.drop_lease(lease.id)
            except Exception:
                log.warning("could not drop the reservation lease %s", lease.id, exc_info=True)
            return

    def close(self) -> None:
        """Stop renewing (the archive is being closed)."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(self.interval, 5.0))
