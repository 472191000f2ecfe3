"""The far end of a long-running LibreOffice converter: run by a Python that has the ``uno``
module (Debian's ``python3-uno`` for ``/usr/bin/python3``), never imported by docarchive.

    python3 unobridge.py PROFILE_DIR PIPE_NAME

It starts ``soffice.bin`` headless with its own profile (``-env:UserInstallation``),
listening on a named local pipe only (``--accept=pipe,name=...``: no TCP port at all),
connects to it over UNO, says ``{"ready": true, ...}`` on stdout, then converts one
document per request line on stdin::

    {"id": 7, "src": "/work/00007.docx", "dst": "/work/00007.pdf"}
    -> {"id": 7, "ok": true}  |  {"id": 7, "error": "...", "dead": false}

``"dead": true`` says LibreOffice is gone (the bridge exits right after); ``"idle": true``
with it says it was gone before the document was given to it.

Nothing is left behind, whatever happens to the process that started it:

- that process started this one as the leader of a new process group, and LibreOffice
  runs in the same group;
- a thread reads stdin; when it ends (the parent closed it, exited, or was killed, even by
  SIGKILL: the kernel closes the pipe) the thread removes the profile folder and kills
  the whole group, LibreOffice with it, at once — even in the middle of a conversion;
- LibreOffice is started with ``PR_SET_PDEATHSIG`` = SIGKILL, so if this process itself is
  killed, the kernel kills LibreOffice too;
- the local sockets LibreOffice listens on (its ``/tmp/OSL_PIPE_*`` pipes, found through
  ``/proc``) are removed once it is dead; they are also sent in the ready message, so
  the parent removes them when it kills the group itself.

This file uses nothing but the standard library and ``uno``, so that it runs under the
system Python whatever environment docarchive is installed in.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from typing import Any

SOFFICE_BIN = "/usr/lib/libreoffice/program/soffice.bin"
START_SECONDS = 60.0
RESTART_CODE = 81  # soffice.bin asks to be restarted once a fresh profile is made
PR_SET_PDEATHSIG = 1


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_office: list[subprocess.Popen[bytes]] = []  # the LibreOffice running now
_sockets: list[str] = []  # the local sockets it listens on (its pipes), removed at the end
_ending = threading.Lock()


def sockets_of(pid: int) -> list[str]:
    """The paths of the LibreOffice pipes (``/tmp/OSL_PIPE_*`` sockets) process ``pid``
    listens on: a LibreOffice that is killed leaves them behind."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    paths = []
    try:
        with open("/proc/net/unix", encoding="utf-8") as table:
            next(table, None)
            for line in table:
                parts = line.split()
                if len(parts) >= 8 and parts[6] in inodes and "/OSL_PIPE_" in parts[7]:
                    paths.append(parts[7])
    except OSError:
        return []
    return sorted(set(paths))


def remove_sockets(paths: list[str]) -> None:
    for path in paths:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


def _end_everything(profile: str) -> None:
    """LibreOffice killed (and waited for, so it writes nothing more), its profile removed,
    then the whole group — this process too. Done by one thread; another that gets here
    meanwhile waits to be killed with the group."""
    if not _ending.acquire(blocking=False):
        while True:
            time.sleep(60)
    for office in _office:
        try:
            office.kill()
            office.wait(timeout=10)
        except Exception:
            pass
    remove_sockets(_sockets)
    shutil.rmtree(profile, ignore_errors=True)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _soffice_bin() -> str:
    given = os.environ.get("DOCARCHIVE_SOFFICE_BIN")
    if given:
        return given
    if os.path.exists(SOFFICE_BIN):
        return SOFFICE_BIN
    found = shutil.which("soffice")
    if found:
        real = os.path.join(os.path.dirname(os.path.realpath(found)), "soffice.bin")
        if os.path.exists(real):
            return real
    raise RuntimeError("soffice.bin (LibreOffice) not found")


def _start(profile: str, pipe: str) -> subprocess.Popen[bytes]:
    cmd = [
        _soffice_bin(),
        f"-env:UserInstallation=file://{os.path.join(profile, 'user')}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
        "--nofirststartwizard",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    env = dict(os.environ, SAL_USE_VCLPLUGIN="svp")
    office = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=profile,
        preexec_fn=_die_with_parent,
    )
    _office[:] = [office]
    return office


def main(profile: str, pipe: str) -> None:
    """Serve until stdin ends or LibreOffice dies; whatever way this ends (a reply that
    cannot be written because the parent is gone, any error), everything is ended."""
    try:
        _serve(profile, pipe)
    finally:
        _end_everything(profile)


def _serve(profile: str, pipe: str) -> None:
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read() -> None:
        try:
            for line in sys.stdin:
                if line.strip():
                    requests.put(json.loads(line))
        finally:  # the parent closed stdin, exited or was killed
            _end_everything(profile)

    threading.Thread(target=read, name="stdin", daemon=True).start()

    try:
        import uno
        from com.sun.star.beans import PropertyValue
    except ImportError as exc:
        _say({"ready": False, "error": f"{sys.executable} has no uno module ({exc})"})
        return

    def prop(name: str, value: Any) -> Any:
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    try:
        office = _start(profile, pipe)
    except (OSError, RuntimeError) as exc:
        _say({"ready": False, "error": f"cannot start LibreOffice: {exc}"})
        return
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + START_SECONDS
    context = None
    restarts = 0
    while context is None:
        code = office.poll()
        if code is not None:
            if code == RESTART_CODE and restarts < 3:
                restarts += 1
                office = _start(profile, pipe)
                continue
            _say({"ready": False, "error": f"LibreOffice exited with code {code} on start"})
            return
        if time.monotonic() > deadline:
            _say({"ready": False, "error": f"LibreOffice did not start in {START_SECONDS:g} s"})
            return
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # NoConnectException until it listens
            time.sleep(0.05)
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context
    )
    load = (
        prop("Hidden", True),
        prop("ReadOnly", True),
        prop("FilterName", "MS Word 2007 XML"),
        prop("MacroExecutionMode", 0),  # NEVER_EXECUTE
        prop("UpdateDocMode", 0),  # NO_UPDATE: no link is followed
    )
    store = (prop("FilterName", "writer_pdf_Export"),)
    _sockets[:] = sockets_of(office.pid)
    _say({"ready": True, "pid": os.getpid(), "soffice_pid": office.pid, "sockets": _sockets})

    while True:
        request = requests.get()
        if request is None:
            break
        ident = request.get("id")
        if office.poll() is not None:  # died between documents: this one is not lost
            _say({"id": ident, "error": "LibreOffice had stopped", "dead": True, "idle": True})
            return
        doc = None
        try:
            doc = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(request["src"]), "_blank", 0, load
            )
            if doc is None:
                raise RuntimeError("LibreOffice could not open the document")
            doc.storeToURL(uno.systemPathToFileUrl(request["dst"]), store)
            _say({"id": ident, "ok": True})
        except Exception as exc:
            dead = office.poll() is not None or "Disposed" in type(exc).__name__
            message = str(getattr(exc, "Message", "") or exc).strip().splitlines()[:1]
            _say(
                {
                    "id": ident,
                    "error": f"{type(exc).__name__}: {message[0] if message else ''}",
                    "dead": dead,
                }
            )
            if dead:
                return
        finally:
            if doc is not None:
                with contextlib.suppress(Exception):
                    doc.close(True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
