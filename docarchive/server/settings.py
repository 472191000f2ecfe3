"""``[server]``: where ``docarchive serve`` listens and how it guards the door."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["ServerSettings"]


@dataclass(frozen=True)
class ServerSettings:
    """``[server]`` of ``docarchive.toml``.

    ``host``/``port``/``workers`` are the defaults of ``docarchive serve``;
    ``public_url`` is where the server is reached from outside (behind nginx), used for
    links; ``login_attempts`` failed logins per ``login_window_seconds`` and per user name
    and per client address are allowed, then logins are refused until the window
    passes; ``session_hours`` is how long a login's token lasts; ``cors_origins`` lists
    the web origins allowed to call the API from a browser (none by default).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    public_url: str = ""
    login_attempts: int = 5
    login_window_seconds: float = 300.0
    session_hours: float = 8.0
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, table: Mapping[str, Any]) -> ServerSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(table) - known
        if unknown:
            raise ConfigurationError(
                f"unknown setting {sorted(unknown)[0]!r} in [server] "
                f"(known: {', '.join(sorted(known))})"
            )
        try:
            made = cls(
                host=str(table.get("host", cls.host)),
                port=int(table.get("port", cls.port)),
                workers=int(table.get("workers", cls.workers)),
                public_url=str(table.get("public_url", "")).rstrip("/"),
                login_attempts=int(table.get("login_attempts", cls.login_attempts)),
                login_window_seconds=float(
                    table.get("login_window_seconds", cls.login_window_seconds)
                ),
                session_hours=float(table.get("session_hours", cls.session_hours)),
                cors_origins=tuple(str(o) for o in table.get("cors_origins", ())),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"[server]: {exc}") from None
        if not 0 < made.port < 65536 or made.workers < 1 or made.login_attempts < 1:
            raise ConfigurationError("[server]: port 1-65535, workers and login_attempts ≥ 1")
        return made
