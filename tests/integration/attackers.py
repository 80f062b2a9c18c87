"""Hostile clients for the session server's tests and its attack-load benchmark: real sockets.

A `SocketHolder` keeps a number of sockets open against the server, each behaving one hostile
way, and opens a new one whenever the server closes one, until it is stopped or has used its
budget of connections. Sources are loopback addresses (all of 127/8 is loopback on Linux), so
one test can be many "addresses" for the server's per-address cap. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.integration.signaling_helpers import HANG_GUARD_S, receive, token

UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: tandem\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n"
)
HEALTH = b"GET /health HTTP/1.1\r\nHost: tandem\r\n\r\n"


def sources(count: int, first: int = 2) -> list[str]:
    """`count` loopback source addresses, 127.0.0.<first> onward (127.0.0.1 is the valid client)."""
    assert first + count <= 255
    return [f"127.0.0.{first + i}" for i in range(count)]


def client_frame_header(length: int) -> bytes:
    """A masked text frame's header (mask 0, so the payload goes as is) declaring `length`."""
    if length < 126:
        return bytes([0x81, 0x80 | length]) + b"\0\0\0\0"
    if length < 65536:
        return bytes([0x81, 0x80 | 126]) + struct.pack("!H", length) + b"\0\0\0\0"
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length) + b"\0\0\0\0"


def close_code(data: bytes) -> int | None:
    """The code of a server close frame at the start of `data`, if there is one."""
    if len(data) >= 4 and data[0] == 0x88:
        return int(struct.unpack("!H", data[2:4])[0])
    return None


@dataclass
class Tally:
    connects: int = 0
    refused_at_connect: int = 0  # the OS or the server reset the connection before we spoke
    # The first line the server wrote before closing (b"" for a close without a word).
    answers: Counter[bytes] = field(default_factory=Counter)
    close_codes: Counter[int | None] = field(default_factory=Counter)
    held: int = 0  # sockets open right now


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _read_until_closed(reader: asyncio.StreamReader, limit: int = 65536) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = await reader.read(4096)
        if not chunk:
            break
        data += chunk
    return data


async def idle(streams: Streams, tally: Tally | None = None) -> bytes:
    """Connect and say nothing."""
    return await _read_until_closed(streams[0])


async def slow_headers(
    streams: Streams, tally: Tally | None = None, interval_s: float = 0.2
) -> bytes:
    """Slowloris: a request line, then one more header line every `interval_s`, never the end."""
    reader, writer = streams
    writer.write(b"GET /health HTTP/1.1\r\nHost: tandem\r\n")
    # One read outstanding throughout (Python 3.11's wait_for can swallow a cancellation).
    answer = asyncio.ensure_future(reader.read(4096))
    try:
        for n in range(10_000):
            done, _ = await asyncio.wait({answer}, timeout=interval_s)
            if done:
                return answer.result() + await _read_until_closed(reader)
            writer.write(b"X-Slow-%d: 1\r\n" % n)
    finally:
        answer.cancel()
    return b""


async def request_then_idle(streams: Streams, tally: Tally | None = None) -> bytes:
    """One complete keep-alive request, its answer read, then silence."""
    reader, writer = streams
    writer.write(HEALTH)
    return await _read_until_closed(reader)


async def half_sent_frame(
    streams: Streams, tally: Tally, declared: int = 1024 * 1024 - 16, sent: int = 4096
) -> bytes:
    """A WebSocket upgrade, then a frame declaring `declared` bytes of which `sent` arrive."""
    reader, writer = streams
    writer.write(UPGRADE % base64.b64encode(os.urandom(16)))
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        return head + await _read_until_closed(reader)
    writer.write(client_frame_header(declared) + b"\0" * sent)
    data = await _read_until_closed(reader)
    tally.close_codes[close_code(data)] += 1
    return head + data


Behaviour = Callable[[Streams, Tally], Awaitable[bytes]]  # what one socket does until closed


class SocketHolder:
    """Holds `count` sockets to 127.0.0.1:`port` from `from_addresses`, each doing `behaviour`."""

    def __init__(
        self,
        port: int,
        count: int,
        behaviour: Behaviour,
        from_addresses: Sequence[str] = ("127.0.0.2",),
        max_connects: int = 5000,
        reconnect_after_s: float = 0.5,
    ) -> None:
        self.port = port
        self.count = count
        self.behaviour = behaviour
        self.addresses = list(from_addresses)
        self.max_connects = max_connects
        self.reconnect_after_s = reconnect_after_s
        self.tally = Tally()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SocketHolder:
        self._tasks = [
            asyncio.create_task(self._hold(self.addresses[i % len(self.addresses)]))
            for i in range(self.count)
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _hold(self, source: str) -> None:
        while self.tally.connects < self.max_connects:
            self.tally.connects += 1
            try:
                streams = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(source, 0)
                )
            except OSError:
                self.tally.refused_at_connect += 1
                await asyncio.sleep(self.reconnect_after_s)  # an attacker's pace, not a wait
                continue
            self.tally.held += 1
            try:
                data = await self.behaviour(streams, self.tally)
            except (OSError, asyncio.IncompleteReadError):
                data = b""
            finally:
                self.tally.held -= 1
                streams[1].close()
            self.tally.answers[data.split(b"\r\n", 1)[0]] += 1
            await asyncio.sleep(self.reconnect_after_s)


async def until(condition: Callable[[], object], what: str, bound_s: float = HANG_GUARD_S) -> None:
    """Poll `condition` until it holds; fail naming `what` after `bound_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {bound_s} s: {what}")
        await asyncio.sleep(0.01)


async def valid_join(base: str, room: str, local: str | None = None) -> dict[str, Any]:
    """A real participant: /ws, a join with a minted token, the welcome; then leave.

    On a thread with an event loop of its own, as a participant's app would be: not queued
    behind the attackers' hundreds of tasks in this loop, which no real client would be."""
    return await asyncio.to_thread(asyncio.run, _join(base, room, local))


async def health(base: str) -> dict[str, Any]:
    """GET /health as a client of its own would (see valid_join)."""
    return await asyncio.to_thread(asyncio.run, _health(base))


async def _health(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        response = await asyncio.wait_for(session.get(f"{base}/health"), HANG_GUARD_S)
        async with response:
            answer: dict[str, Any] = await response.json()
            return answer


async def _join(base: str, room: str, local: str | None) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(local_addr=(local, 0) if local else None)
    async with aiohttp.ClientSession(connector=connector) as session:
        ws = await asyncio.wait_for(session.ws_connect(f"{base}/ws"), HANG_GUARD_S)
        async with ws:
            await ws.send_json({"type": "join", "v": 2, "token": token(room=room)})
            welcome = await receive(ws)
            assert welcome["type"] == "welcome", welcome
            await ws.send_json({"type": "leave"})
    return welcome
