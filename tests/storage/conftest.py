"""A bucket per test on the session's S3 server, and a proxy that can cut an endpoint.

``s3_server`` (tests/conftest.py) is moto's server (``moto[server]``), started once per
session in a thread on a free port; tests talk to it over HTTP with real boto3 clients —
boto3 is never patched in-process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import pytest
from services import S3Server, start_moto


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The byte counts of every ``os.sendfile`` call made during the test (which still
    copies): proof that a file went through the kernel copy, not through memory."""
    calls: list[int] = []
    real_sendfile = os.sendfile

    def counted(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        calls.append(count)
        return real_sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(os, "sendfile", counted)
    return calls


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket for one test."""
    return s3_server.new_bucket()


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of one endpoint, which a test can cut and restore.

    ``cut()`` closes the listening socket and every open connection, so clients see
    their connections die and new ones refused, exactly as when the endpoint goes down;
    ``restore()`` listens again on the same port. ``drop_connections()`` only breaks
    the open connections. ``sent`` counts bytes forwarded from clients to the endpoint,
    ``accepted`` the connections made.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.sent = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self.port = 0
        self._listen()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop = threading.Event()
        threading.Thread(target=self._accept, args=(listener, self._stop), daemon=True).start()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        listener.close()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if counted:
                    with self._lock:
                        self.sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def drop_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            self._close(sock)

    def cut(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.drop_connections()

    def restore(self) -> None:
        self._listen()


@pytest.fixture
def cuttable_s3(s3_environment: None) -> Iterator[tuple[S3Server, CuttableProxy]]:
    """A moto server of its own behind a proxy the test can cut (moto's data survives)."""
    server = start_moto()
    host, port = server.server.get_host_and_port()
    proxy = CuttableProxy(host, port)
    try:
        yield server, proxy
    finally:
        proxy.cut()
        server.client.close()
        server.server.stop()
