"""Each admitted connection, watched: closed when it stalls or sends too much before its join.

`GuardedProtocol` sits between asyncio and aiohttp's own protocol and passes every event through.
It exists only for a connection the guard admitted (app/server/listen.py refuses the others at
accept). What it adds, per connection:
- a header timeout: the first request's headers must end within `header_timeout_s` of the
  accept (a socket that says nothing, or trickles its headers, is closed with a 408);
- an idle timeout: a connection that sends nothing for `idle_timeout_s` is closed, except a
  signaling WebSocket, whose join timeout and heartbeat bound its silence already;
- a read budget while a WebSocket waits for its join (connection_guard.PendingJoin): past it the
  connection is closed with close code 1009, before aiohttp buffers any more of the frame.
One timer per connection, re-armed only when it fires: a busy upload costs a clock read per read.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from app.server.connection_guard import ConnectionGuard

TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
# A server's WebSocket close frames (unmasked): 1009 message too big, 1013 try again later.
CLOSE_TOO_BIG = b"\x88\x02\x03\xf1"
CLOSE_TRY_LATER = b"\x88\x02\x03\xf5"
_EARLY_S = 0.001  # a timer the loop runs this much before its time counts as on time
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # the socket is non-blocking anyway
# The end of a request's headers: an empty line (CRLF; a bare LF, which lenient parsers allow).
_HEADER_ENDS = (b"\n\r\n", b"\n\n")


class GuardedProtocol(asyncio.Protocol):
    def __init__(
        self,
        guard: ConnectionGuard,
        make_inner: Callable[[], asyncio.Protocol],
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket | None = None,
    ) -> None:
        self._guard = guard
        self._sock = sock  # the accepted socket, only to peek at what has arrived
        self._make_inner = make_inner
        self._loop = loop
        self._header_deadline = loop.time() + guard.limits.header_timeout_s
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._closing = False
        self._awaiting_headers = True
        self._tail = b""  # the last bytes seen while awaiting headers (an end split in two)
        self._websocket = False
        self._budget: int | None = None
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._closing:  # closed to make room between its accept and now
            transport.write(TIMEOUT_RESPONSE)
            transport.close()
            return
        self._guard.attach(self, transport)
        self._last_read = self._loop.time()
        self._arm(self._header_deadline)
        self._inner = self._make_inner()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._closing or self._inner is None:
            return
        self._last_read = self._loop.time()
        if self._awaiting_headers:
            seen = self._tail + data
            if any(end in seen for end in _HEADER_ENDS):
                self._headers_done()
            else:
                self._tail = seen[-2:]
        if self._budget is not None:
            self._budget -= len(data)
            if self._budget < 0:
                self._guard.count("prejoin_too_big")
                self.evict("prejoin_too_big")
                return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._cancel_timer()
        self._guard.closed(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    # What the guard may do (connection_guard.Guarded)

    def evict(self, why: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._cancel_timer()
        self._guard.closed(self)
        if self._transport is None:
            return  # not connected yet: connection_made closes it
        if why == "prejoin_too_big":
            self._transport.write(CLOSE_TOO_BIG)
        elif why == "pending_join_evicted":
            self._transport.write(CLOSE_TRY_LATER)
        elif self._awaiting_headers:  # it has not seen a response: say why it gets none
            self._transport.write(TIMEOUT_RESPONSE)
        self._transport.close()

    def has_unread(self) -> bool:
        if self._sock is None:
            return False
        try:
            return bool(self._sock.recv(1, socket.MSG_PEEK | _DONTWAIT))
        except OSError:  # nothing there (BlockingIOError), or closed
            return False

    def limit_reads(self, budget: int | None) -> None:
        self._websocket = True
        self._budget = budget
        self._cancel_timer()

    # Timers

    def _headers_done(self) -> None:
        self._awaiting_headers = False
        self._tail = b""
        self._guard.headers_done(self)
        self._arm(self._last_read + self._guard.limits.idle_timeout_s)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closing or self._websocket:
            return
        now = self._loop.time()
        if self._awaiting_headers:
            due, event = self._header_deadline, "header_timeout"
        else:
            due, event = self._last_read + self._guard.limits.idle_timeout_s, "idle_timeout"
        if due - now > _EARLY_S:  # activity moved the deadline (or the loop ran us early)
            self._arm(due)
            return
        self._guard.count(event)
        self.evict(event)

    def _arm(self, when: float) -> None:
        self._cancel_timer()
        self._timer = self._loop.call_at(when, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
