"""Fault injection for the parser worker (DOCARCHIVE_PARSER_HOOK=<this file>:hook).

The worker calls :func:`hook` before each task; a file whose name says so makes the
worker crash, hang or run out of memory right there, inside the real worker process,
as a native parser would. Every call is logged (task, file name, worker pid) to the file
named by DOCARCHIVE_TEST_HOOK_LOG, so a test can see which worker ran what."""

from __future__ import annotations

import ctypes
import os
import signal
import time


def hook(task: str, label: str) -> None:
    name = os.path.basename(label)
    log = os.environ.get("DOCARCHIVE_TEST_HOOK_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{task} {name} {os.getpid()}\n")
    wanted = os.environ.get("DOCARCHIVE_TEST_HOOK_TASK", "scan extract")
    if task not in wanted.split():
        return
    if "segfault" in name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "nullptr" in name:
        ctypes.string_at(0)  # a real read of address 0: SIGSEGV from native code
    if "abort" in name:
        os.abort()
    if "hang" in name:
        time.sleep(3600)
    if "oom" in name:
        hog = bytearray(64 * 1024**3)  # far over RLIMIT_AS: MemoryError
        del hog
