"""How many connections the session server holds and for how long: the defaults and their reasons.

One place for every number that bounds what a stranger's sockets can cost the server (see
app/server/connection_guard.py for how they are enforced). Each can be set in the `[server]` table
of `--config` and most on the command line; the command line wins.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

# What a client may send on /ws before its join is admitted: the join itself (a token with a
# 128-character room and a 64-character name, every character JSON-escaped, is under 3 KiB)
# and a few pings. Not configurable: it is part of the protocol (docs/protocol.md).
PREJOIN_BYTES = 8 * 1024

# The [server] keys of this module, their command-line flags, and the kind of value each takes.
_SETTINGS: dict[str, tuple[str, str]] = {
    "max_connections": ("max_connections", "whole"),
    "max_connections_per_address": ("max_connections_per_address", "whole"),
    "max_pending_joins": ("max_pending_joins", "whole"),
    "header_timeout_s": ("header_timeout", "seconds"),
    "idle_timeout_s": ("idle_timeout", "seconds"),
}
FILE_KEYS = frozenset(_SETTINGS)


class LimitsError(ValueError):
    """A limit that cannot work; the message names the setting."""


@dataclass(frozen=True)
class ConnectionLimits:
    # A clinic's busiest hour is about a hundred sessions of up to four people: one signaling
    # WebSocket each plus a few short HTTP requests (console files, the speed test's four
    # streams). A few hundred connections; 1000 leaves room and stays far below the open-files
    # limit the server raises at start (app/server/fd_limit.py).
    max_connections: int = 1000
    # A household needs under 20 (two apps, the speed test); a clinic office where ten
    # clinicians share one NAT address, each browser opening up to six connections, about 70.
    # 0 turns the cap off: behind a reverse proxy every connection comes from the proxy.
    max_connections_per_address: int = 100
    # WebSockets that have not joined yet. A join takes one round trip, so even when a whole
    # clinic's sessions start on the hour few wait at once; the oldest waiting one makes room.
    max_pending_joins: int = 200
    # From accepting a connection (or finishing its TLS handshake, which has the same bound) to
    # the end of its request's headers. Real clients take milliseconds; 10 s covers a congested
    # mobile link and closes a socket that connects and says nothing, or trickles its headers.
    header_timeout_s: float = 10.0
    # A connection that sends nothing for this long is closed (aiohttp's own default is an
    # hour). Browsers and the apps reopen a closed keep-alive connection on their own; speed
    # test phases last a few seconds. Signaling WebSockets are exempt: their join timeout and
    # heartbeat (3 x heartbeat_s) already bound their silence.
    idle_timeout_s: float = 30.0

    def validate(self) -> None:
        """Raise LimitsError naming the setting if a limit cannot work."""
        if self.max_connections < 1:
            raise LimitsError(_named("max_connections", "must be at least 1"))
        if self.max_connections_per_address < 0:
            raise LimitsError(_named("max_connections_per_address", "must be 0 (no cap) or more"))
        if self.max_pending_joins < 1:
            raise LimitsError(_named("max_pending_joins", "must be at least 1"))
        for key in ("header_timeout_s", "idle_timeout_s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise LimitsError(_named(key, f"must be a positive number of seconds, not {value}"))

    def per_address_cap(self) -> int | None:
        return self.max_connections_per_address or None

    @classmethod
    def from_settings(cls, table: dict[str, Any], args: argparse.Namespace) -> ConnectionLimits:
        """The command line's values, else the config file's `[server]` table, else defaults."""
        values: dict[str, Any] = {}
        for key, (flag, kind) in _SETTINGS.items():
            given = getattr(args, flag, None)
            if given is not None:
                values[key] = given
            elif key in table:
                values[key] = _read(table, key, kind)
        return cls(**values)


def _read(table: dict[str, Any], key: str, kind: str) -> int | float:
    value = table[key]
    if kind == "whole":
        if isinstance(value, bool) or not isinstance(value, int):
            raise LimitsError(f"[server] {key} must be a whole number, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LimitsError(f"[server] {key} must be a number of seconds, not {value!r}")
    return float(value)


def _named(key: str, problem: str) -> str:
    flag = _SETTINGS[key][0].replace("_", "-")
    what = key.removesuffix("_s").replace("_", " ")
    return f"the {what} (--{flag} or [server] {key}) {problem}"
