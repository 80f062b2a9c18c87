"""Which session server to try: the clinic's primary or its backup (Qt-free, no I/O).

The rules (docs/continuity.md, "Backup server") land every participant of a room on the same
server without them talking to each other:
- at join, the primary; if it cannot be reached, the backup, then each in turn;
- after the socket is lost, the primary for the first seconds (most drops are the path, not the
  server), then each in turn starting with the backup;
- once welcomed on the backup, the backup for the rest of the call: a client that flapped back
  could leave its partner behind;
- on the primary, alone while the room had others before (or when the last of them timed out):
  look for them on the backup, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PRIMARY_FIRST_S = 3.0
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def display_url(url: str) -> str:
    """A server as events and logs may show it: scheme://host:port, never credentials, a path
    or a query (a clinic may put a key there). Default ports are spelled out so that one server
    always reads the same."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "invalid"
    scheme = parts.scheme.lower()
    if not scheme or not host:
        return "invalid"
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class Welcome:
    """What a welcome means for the choice of server."""

    switched_from: str | None  # the server we were on before, when this one is another
    look_on: str | None  # the couple rule: leave and try this server now


class ServerChooser:
    """Call `next_server(now)` before every attempt (join or reconnect) and tell it what
    happened: `join_failed`, `welcomed`, `lost`, `peer_joined`, `peer_left`."""

    def __init__(
        self, primary: str, backup: str | None = None, *, primary_first_s: float = PRIMARY_FIRST_S
    ) -> None:
        self.primary = primary
        self.backup = backup if backup and backup != primary else None
        self.primary_first_s = primary_first_s
        self.current: str | None = None  # the server we were last welcomed on
        self._failed: str | None = None  # the server the last attempt failed on
        self._lost_at: float | None = None
        self._look_on: str | None = None
        self._looked = False  # the couple rule has moved us once: never again
        self._had_others = False

    @property
    def on_backup(self) -> bool:
        """Welcomed on the backup: it stays the server for the rest of the call."""
        return self.backup is not None and self.current == self.backup

    def next_server(self, now: float) -> str:
        """The server for this attempt."""
        if self.backup is None:
            return self.primary
        if self.on_backup:
            return self.backup
        if self._look_on is not None:
            return self._look_on
        if self._lost_at is not None and now - self._lost_at < self.primary_first_s:
            return self.primary
        if self._failed is None:
            return self.primary
        return self._other(self._failed)

    def join_failed(self, server: str) -> None:
        """An attempt on `server` got no welcome (unreachable, refused, closed)."""
        self._failed = server
        self._look_on = None

    def lost(self, now: float) -> None:
        """The signaling socket was lost mid-call (repeats keep the first time)."""
        if self._lost_at is None:
            self._lost_at = now

    def welcomed(self, server: str, peers_count: int) -> Welcome:
        """In the room on `server`, with `peers_count` others there."""
        previous, self.current = self.current, server
        self._failed = self._lost_at = self._look_on = None
        switched = previous if previous is not None and previous != server else None
        if switched is not None:
            log.info("server %s -> %s", display_url(switched), display_url(server))
        if peers_count > 0:
            self._had_others = True
            return Welcome(switched, None)
        return Welcome(switched, self._alone() if self._had_others else None)

    def peer_joined(self) -> None:
        self._had_others = True

    def peer_left(self, reason: str, remaining: int) -> str | None:
        """Someone left; `remaining` others are still here. Returns a server to look on when the
        last of them timed out (their socket died: they may be on the other server now)."""
        if remaining > 0:
            return None
        if reason == "left":
            self._had_others = False  # everyone left on purpose: nobody to look for
            return None
        return self._alone() if reason == "timeout" else None

    def _alone(self) -> str | None:
        if self.backup is None or self.on_backup or self._looked or self.current is None:
            return None
        self._looked = True
        self._look_on = self.backup  # not on the backup, so on the primary
        log.info("alone on %s: looking on %s", display_url(self.current), display_url(self.backup))
        return self._look_on

    def _other(self, server: str) -> str:
        assert self.backup is not None
        return self.backup if server == self.primary else self.primary
