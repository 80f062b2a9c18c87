"""One guarded connection, on a hand-driven clock: header and idle timeouts, the pre-join budget,
what it writes when it closes, and every event passed through to aiohttp's protocol."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

from app.server.connection_guard import ConnectionGuard
from app.server.connection_limits import ConnectionLimits
from app.server.guarded_protocol import (
    CLOSE_TOO_BIG,
    CLOSE_TRY_LATER,
    TIMEOUT_RESPONSE,
    GuardedProtocol,
)


class Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """The two things GuardedProtocol asks of its loop: the time, and a call at a time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(when, callback)
        self.handles.append(handle)
        return handle

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for handle in list(self.handles):
            if not handle.cancelled and handle.when <= self.now:
                self.handles.remove(handle)
                handle.callback()

    def pending(self) -> list[float]:
        return [h.when for h in self.handles if not h.cancelled]


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5) if name == "peername" else default


class Inner(asyncio.Protocol):
    def __init__(self) -> None:
        self.events: list[Any] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data)

    def eof_received(self) -> bool | None:
        self.events.append("eof")
        return True

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(("lost", exc))


def connected(
    sock: socket.socket | None = None, **limits: Any
) -> tuple[GuardedProtocol, Transport, Inner, Clock, ConnectionGuard]:
    clock = Clock()
    guard = ConnectionGuard(ConnectionLimits(**limits))
    inner = Inner()
    protocol = GuardedProtocol(guard, lambda: inner, clock, sock)  # type: ignore[arg-type]
    assert guard.admit(protocol, "127.0.0.1")
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport, inner, clock, guard


def test_a_silent_socket_gets_a_408_at_the_header_timeout() -> None:
    protocol, transport, inner, clock, guard = connected(header_timeout_s=10)
    clock.advance(9.9)
    assert not transport.closed
    clock.advance(0.1)
    assert transport.closed and transport.written == TIMEOUT_RESPONSE
    assert guard.events["header_timeout"] == 1 and guard.open_count == 0
    protocol.data_received(b"late")  # after closing: not passed on
    protocol.connection_lost(None)
    assert inner.events == ["made", ("lost", None)]


def test_trickled_headers_do_not_reset_the_header_timeout() -> None:
    protocol, transport, _inner, clock, _guard = connected(header_timeout_s=10, idle_timeout_s=30)
    for _ in range(9):
        protocol.data_received(b"X-Slow: 1\r\n")
        clock.advance(1)
    clock.advance(1)
    assert transport.closed and transport.written == TIMEOUT_RESPONSE


@pytest.mark.parametrize(
    "chunks",
    [
        [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
        [b"GET / HTTP/1.1\r\nHost: x\r\n\r", b"\n"],  # the end split across reads
        [b"GET / HTTP/1.1\r\nHost: x\r\n", b"\r", b"\n"],
        [b"GET / HTTP/1.1\nHost: x\n\n"],  # bare line feeds
    ],
)
def test_complete_headers_end_the_header_timeout_and_start_the_idle_one(
    chunks: list[bytes],
) -> None:
    protocol, transport, inner, clock, guard = connected(header_timeout_s=10, idle_timeout_s=30)
    for chunk in chunks:
        protocol.data_received(chunk)
    assert inner.events == ["made", *chunks]
    clock.advance(10)
    assert not transport.closed
    protocol.data_received(b"more")  # activity moves the idle deadline
    clock.advance(25)
    assert not transport.closed  # the timer fired at 30 s after the headers and re-armed
    clock.advance(5)
    assert transport.closed and transport.written == b""  # idle: a plain close, no 408
    assert guard.events["idle_timeout"] == 1


def test_a_websocket_is_exempt_from_the_idle_timeout_and_budgeted_until_joined() -> None:
    protocol, transport, inner, clock, guard = connected(idle_timeout_s=30)
    protocol.data_received(b"GET /ws HTTP/1.1\r\n\r\n")
    protocol.limit_reads(100)
    assert clock.pending() == []
    protocol.data_received(b"x" * 100)  # exactly the budget
    clock.advance(1000)
    assert not transport.closed
    protocol.limit_reads(None)  # joined
    protocol.data_received(b"y" * 10_000)
    assert not transport.closed and inner.events[-1] == b"y" * 10_000


def test_over_the_budget_closes_with_1009_before_aiohttp_sees_the_bytes() -> None:
    protocol, transport, inner, _clock, guard = connected()
    protocol.data_received(b"GET /ws HTTP/1.1\r\n\r\n")
    protocol.limit_reads(100)
    protocol.data_received(b"x" * 101)
    assert transport.closed and transport.written == CLOSE_TOO_BIG
    assert b"x" * 101 not in inner.events and guard.events["prejoin_too_big"] == 1


def test_a_pending_join_closed_to_make_room_hears_try_again_later() -> None:
    protocol, transport, _inner, _clock, _guard = connected()
    protocol.data_received(b"GET /ws HTTP/1.1\r\n\r\n")
    protocol.evict("pending_join_evicted")
    protocol.evict("pending_join_evicted")  # once only
    assert transport.written == CLOSE_TRY_LATER


def test_closed_to_make_room_before_its_transport_came() -> None:
    clock = Clock()
    guard = ConnectionGuard(ConnectionLimits())
    inner = Inner()
    protocol = GuardedProtocol(guard, lambda: inner, clock)  # type: ignore[arg-type]
    assert guard.admit(protocol, "127.0.0.1")
    protocol.evict("evicted_waiting")
    transport = Transport()
    protocol.connection_made(transport)
    assert transport.closed and transport.written == TIMEOUT_RESPONSE
    assert inner.events == [] and guard.open_count == 0
    assert protocol.eof_received() is None  # no inner protocol: nothing to pass on
    protocol.pause_writing()
    protocol.resume_writing()


def test_events_pass_through() -> None:
    protocol, _transport, inner, _clock, guard = connected()
    protocol.pause_writing()
    protocol.resume_writing()
    assert protocol.eof_received() is True
    error = ConnectionResetError()
    protocol.connection_lost(error)
    assert inner.events == ["made", "pause", "resume", "eof", ("lost", error)]
    assert guard.open_count == 0


def test_has_unread_peeks_without_taking() -> None:
    left, right = socket.socketpair()
    left.setblocking(False)
    protocol = connected(sock=left)[0]
    assert not protocol.has_unread()
    right.send(b"GET")
    assert protocol.has_unread() and protocol.has_unread()  # still there
    assert left.recv(10) == b"GET"
    left.close()
    right.close()
    assert not protocol.has_unread()  # closed: nothing to read
    assert not connected()[0].has_unread()  # no socket to look at
