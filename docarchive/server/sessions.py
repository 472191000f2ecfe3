"""Logging in, for the API (a token in the answer) and the pages (a token in a cookie):
the password checked, a session token made for ``[server] session_hours``, and failed
attempts limited per user name and per client address (in this server process)."""

from __future__ import annotations

import threading
import time
from collections import deque

from ..accounts import IssuedToken, User
from ..archive import Archive
from ..errors import AccessDeniedError

__all__ = ["LoginLimiter", "TooManyAttempts", "start_session"]


class TooManyAttempts(Exception):
    """Logins from this name or address are refused for ``wait`` more seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many failed logins; try again in {int(wait) + 1} s")
        self.wait = wait


class LoginLimiter:
    """Failed logins per user name and per client address in a sliding window."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    def blocked(self, *keys: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                seen[0] + self.window - now
                for key in keys
                if len(seen := self._recent(key, now)) >= self.attempts
            ]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # forget the quiet ones
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]


def start_session(
    archive: Archive,
    lock: threading.RLock,
    limiter: LoginLimiter,
    name: str,
    password: str,
    client: str,
    *,
    label: str,
) -> tuple[User, IssuedToken]:
    """The user and a new session token, if ``password`` is theirs; AccessDeniedError
    (counted against the name and the address) or TooManyAttempts otherwise."""
    keys = (f"user:{name}", f"addr:{client}")
    wait = limiter.blocked(*keys)
    if wait > 0:
        raise TooManyAttempts(wait)
    try:
        with lock:
            user = archive.login(name, password)
            hours = archive.settings.server.session_hours
            made = archive.create_token(
                user.name, label=label, expires_days=hours / 24, actor=user.name
            )
    except AccessDeniedError:
        limiter.failed(*keys)
        raise
    return user, made
