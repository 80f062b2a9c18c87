"""Which connections the session server admits, and which it closes to make room.

The guard counts open connections in total and per address (an IPv6 /64 is one address: one
host usually has all of it) and refuses a new one over a cap, or over what the open-files limit
allows (app/server/fd_limit.py). Before refusing it closes, oldest first, a connection that has
not yet finished sending its request headers: a real client finishes them in milliseconds, so
at a cap those are the idle and slowloris sockets, and a valid client is still admitted. One
whose bytes have arrived but not been read yet (a client admitted a moment ago, in a flood of
new connections) is passed over.
WebSockets waiting for their join are capped the same way (the oldest waiting one is closed).

This module only keeps the books and decides; app/server/guarded_protocol.py applies it to each
socket. Logs never name an address: refusals are counted and summed up every REPORT_S.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
from collections import Counter
from collections.abc import Hashable
from typing import Any, Protocol

from aiohttp import web

from app.server.connection_limits import PREJOIN_BYTES, ConnectionLimits
from app.server.fd_limit import connection_ceiling

log = logging.getLogger(__name__)

REPORT_S = 30.0
# How many of the oldest waiting connections are looked at for one to close: bounded work per
# accept, even when many have unread bytes (then the oldest is closed all the same).
EVICTION_SCAN = 8

# What the summary says of each event, in this order.
EVENTS = {
    "refused_address": "refused over the per-address cap",
    "refused_full": "refused over the server's cap",
    "evicted_waiting": "closed without a request to make room",
    "header_timeout": "closed without a complete request within the header timeout",
    "idle_timeout": "closed when idle",
    "prejoin_too_big": "closed for sending too much before joining",
    "pending_join_evicted": "closed while waiting to join, to make room",
}
REFUSALS = ("refused_address", "refused_full")


def address_key(peername: Any) -> str:
    """Whose connection this is, for the per-address cap: an IPv4 address or an IPv6 /64."""
    if not isinstance(peername, tuple) or not peername or not isinstance(peername[0], str):
        return "local"  # a Unix socket or an unknown transport: one shared key
    try:
        ip = ipaddress.ip_address(peername[0].split("%", 1)[0])
    except ValueError:
        return peername[0]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Guarded(Protocol):
    """What the guard may do to a connection it admitted."""

    def evict(self, why: str) -> None:
        """Close the connection (the guard has already forgotten it)."""

    def has_unread(self) -> bool:
        """Whether bytes have arrived that the server has not read yet."""

    def limit_reads(self, budget: int | None) -> None:
        """Close the connection once it sends more than `budget` bytes (None: no limit); a
        WebSocket is exempt from the idle timeout (it has its own heartbeat)."""


class ConnectionGuard:
    """The books of one server's connections (one event loop: no locking)."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.ceiling = limits.max_connections
        self.events: Counter[str] = Counter()
        self._reported: Counter[str] = Counter()
        self._quiet = True  # no refusal since the last summary: the next one is logged at once
        # Each open connection's address and, once it has one, its transport.
        self._open: dict[Guarded, tuple[str, Hashable | None]] = {}
        self._per_address: Counter[str] = Counter()
        # Connections still sending their first request's headers, oldest first (dicts keep
        # insertion order): in total and per address.
        self._waiting: dict[Guarded, None] = {}
        self._waiting_at: dict[str, dict[Guarded, None]] = {}
        self._by_transport: dict[Hashable, Guarded] = {}
        self._pending_joins: dict[PendingJoin, None] = {}

    @property
    def open_count(self) -> int:
        return len(self._open)

    @property
    def pending_join_count(self) -> int:
        return len(self._pending_joins)

    def use_fd_limit(self, soft_limit: int | None) -> None:
        """Admit no more connections than the open-files limit has room for."""
        ceiling = connection_ceiling(soft_limit)
        self.ceiling = (
            self.limits.max_connections
            if ceiling is None
            else min(self.limits.max_connections, ceiling)
        )

    def admit(self, conn: Guarded, address: str, waiting: bool = True) -> bool:
        """Count a just accepted `conn` from `address` in (it holds a descriptor from now on),
        closing a waiting one to make room if need be; False: refuse it. `waiting`: it may be
        closed to make room from now on (not during a TLS handshake: closing it would not
        free its socket before the handshake ends; see attach)."""
        cap = self.limits.per_address_cap()
        if cap is not None and self._per_address[address] >= cap:
            if not self._evict_oldest(self._waiting_at.get(address, {})):
                self._refused("refused_address")
                return False
        if len(self._open) >= self.ceiling and not self._evict_oldest(self._waiting):
            self._refused("refused_full")
            return False
        self._open[conn] = (address, None)
        self._per_address[address] += 1
        if waiting:
            self._wait(conn, address)
        return True

    def attach(self, conn: Guarded, transport: Hashable) -> None:
        """`conn` has its transport (after the TLS handshake, if any): from now on it may be
        closed to make room until it has sent its request's headers."""
        entry = self._open.get(conn)
        if entry is None:
            return
        self._open[conn] = (entry[0], transport)
        self._by_transport[transport] = conn
        if conn not in self._waiting:
            self._wait(conn, entry[0])

    def headers_done(self, conn: Guarded) -> None:
        """`conn` sent its first request's headers: no longer a candidate to make room."""
        self._waiting.pop(conn, None)
        entry = self._open.get(conn)
        if entry is not None:
            self._unwait_at(entry[0], conn)

    def closed(self, conn: Guarded) -> None:
        """`conn` is gone (safe to call more than once)."""
        self.headers_done(conn)
        entry = self._open.pop(conn, None)
        if entry is None:
            return
        address, transport = entry
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]
        if transport is not None and self._by_transport.get(transport) is conn:
            del self._by_transport[transport]

    def count(self, event: str) -> None:
        self.events[event] += 1

    def pending_join(self, transport: asyncio.BaseTransport | None) -> PendingJoin:
        """A WebSocket on `transport` that has yet to join: capped in number (the oldest is
        closed to make room), and its connection may send PREJOIN_BYTES until `joined()`."""
        while len(self._pending_joins) >= self.limits.max_pending_joins:
            oldest = next(iter(self._pending_joins))
            oldest.done()
            self.count("pending_join_evicted")
            oldest.close()
        pending = PendingJoin(self, self._by_transport.get(transport), transport)
        self._pending_joins[pending] = None
        return pending

    def report(self) -> None:
        """Log what happened since the last report, if anything did (every REPORT_S)."""
        fresh = self.events - self._reported
        self._reported = self.events.copy()
        if not fresh:
            self._quiet = True
            return
        parts = [f"{fresh[event]} {words}" for event, words in EVENTS.items() if fresh[event]]
        level = logging.WARNING if any(fresh[event] for event in REFUSALS) else logging.INFO
        self._quiet = level == logging.INFO
        log.log(
            level,
            "connections in the last %.0f s: %s; %d open now",
            REPORT_S,
            ", ".join(parts),
            self.open_count,
        )

    def _evict_oldest(self, waiting: dict[Guarded, None]) -> bool:
        if not waiting:
            return False
        candidates = list(itertools.islice(waiting, EVICTION_SCAN))
        victim = next((c for c in candidates if not c.has_unread()), candidates[0])
        self.count("evicted_waiting")
        self.closed(victim)
        victim.evict("evicted_waiting")
        return True

    def _wait(self, conn: Guarded, address: str) -> None:
        self._waiting[conn] = None
        self._waiting_at.setdefault(address, {})[conn] = None

    def _unwait_at(self, address: str, conn: Guarded) -> None:
        waiting = self._waiting_at.get(address)
        if waiting is not None:
            waiting.pop(conn, None)
            if not waiting:
                del self._waiting_at[address]

    def _refused(self, event: str) -> None:
        self.count(event)
        if not self._quiet:
            return
        self._quiet = False
        if event == "refused_address":
            why = f"one address has {self.limits.max_connections_per_address} open "
            why += "(max_connections_per_address)"
        elif self.ceiling < self.limits.max_connections:
            why = f"{self.ceiling} are open, all the open-files limit leaves room for"
        else:
            why = f"{self.ceiling} are open (max_connections)"
        log.warning(
            "refusing new connections: %s; counts follow every %.0f s while it lasts",
            why,
            REPORT_S,
        )


class PendingJoin:
    """One WebSocket between its upgrade and its join (or its end: call `done()` then)."""

    def __init__(
        self,
        guard: ConnectionGuard,
        conn: Guarded | None,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self._guard = guard
        self._conn = conn  # None when served without a GuardedSite (aiohttp's test server)
        self._transport = transport
        if conn is not None:
            conn.limit_reads(PREJOIN_BYTES)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.evict("pending_join_evicted")
        elif self._transport is not None:
            self._transport.close()

    def joined(self) -> None:
        """The join was admitted: full-size frames from now on, no longer counted as pending."""
        if self._conn is not None:
            self._conn.limit_reads(None)
        self.done()

    def done(self) -> None:
        """No longer waiting (safe to call more than once)."""
        self._guard._pending_joins.pop(self, None)


GUARD_KEY = web.AppKey("connection_guard", ConnectionGuard)
