"""The session server under hostile connections: real attacks, bounded, against the real server.

Connection exhaustion (idle sockets, slowloris, one address hogging, running out of file
descriptors) and memory before join (oversized and half-sent frames, many pending joins). In each
test a valid participant must still get in, with a minted token, while the attack runs.

The server is the one `tandem server` runs (make_runner + GuardedSite), in this process with caps
lowered so the attacks stay small, or as a `python -m app server` subprocess where the test needs
a process of its own (its open-files limit, its log output). Attackers come from other loopback
addresses (127.0.0.2 onward); the valid client from 127.0.0.1. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from app.server.app import create_app
from app.server.config import ServerConfig
from app.server.connection_guard import ConnectionGuard
from app.server.connection_limits import PREJOIN_BYTES, ConnectionLimits
from app.server.listen import GuardedSite, make_runner
from app.server.log_limits import PER_WINDOW
from tests.integration.attackers import (
    HEALTH,
    UPGRADE,
    SocketHolder,
    client_frame_header,
    close_code,
    half_sent_frame,
    health,
    idle,
    slow_headers,
    sources,
    until,
    valid_join,
)
from tests.integration.signaling_helpers import HANG_GUARD_S, SECRET, receive, token

TIMED_OUT = b"HTTP/1.1 408 Request Timeout"
BUSY = b"HTTP/1.1 503 Service Unavailable"


@asynccontextmanager
async def guarded_server(**limits: Any) -> AsyncIterator[tuple[str, int, ConnectionGuard]]:
    """The real server on 127.0.0.1 in this loop, with `limits` instead of the defaults."""
    config = ServerConfig(secret=SECRET, heartbeat_s=30.0, connections=ConnectionLimits(**limits))
    runner = make_runner(create_app(config))
    await runner.setup()
    site = GuardedSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}", port, site.guard
    finally:
        await runner.cleanup()


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes (bounded)."""
    data = b""
    while chunk := await asyncio.wait_for(reader.read(65536), HANG_GUARD_S):
        data += chunk
    return data


async def connect(port: int, source: str = "127.0.0.2") -> tuple[Any, Any]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def ping(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_json({"type": "ping"})
    assert (await receive(ws, skip_pongs=False))["type"] == "pong"


# Connection exhaustion


@pytest.mark.allow_log_warnings("app.server.connection_guard")
async def test_idle_and_slowloris_sockets_cannot_lock_out_a_join() -> None:
    """300 idle and 30 slowloris sockets from 30 addresses against a server capped at 100: the
    sockets that never finish their headers make room, so every valid join gets in."""
    async with guarded_server(max_connections=100, max_connections_per_address=0) as server:
        base, port, guard = server
        many = sources(30)
        async with (
            SocketHolder(port, 300, idle, many, max_connects=3000) as idlers,
            SocketHolder(port, 30, slow_headers, many, max_connects=300) as slow,
        ):
            await until(lambda: guard.events["evicted_waiting"] >= 230, "the attack fills the cap")
            for i in range(10):
                welcome = await valid_join(base, f"busy-{i}")
                assert welcome["room"] == f"busy-{i}"
                assert guard.open_count <= 100
            assert (await health(base))["ok"] is True
            await until(lambda: slow.tally.answers[TIMED_OUT] > 0, "a slowloris socket closed")
        assert idlers.tally.answers[TIMED_OUT] > 0  # told why, not just dropped
        assert guard.events["refused_full"] == 0  # room was made, nobody was turned away


@pytest.mark.allow_log_warnings("app.server.connection_guard")
async def test_one_address_is_capped_and_others_still_get_in() -> None:
    async with guarded_server(max_connections_per_address=20) as (base, port, guard):
        hogged = []
        for _ in range(20):  # complete requests, kept alive: not candidates to make room
            reader, writer = await connect(port)
            writer.write(HEALTH)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG_GUARD_S)
            assert head.startswith(b"HTTP/1.1 200")
            hogged.append((reader, writer))
        for _ in range(5):
            reader, writer = await connect(port)
            refused = await read_all(reader)
            assert refused.startswith(BUSY) and b"Retry-After: 10" in refused
            writer.close()
        with pytest.raises(aiohttp.WSServerHandshakeError) as turned_away:
            await valid_join(base, "hog", local="127.0.0.2")
        assert turned_away.value.status == 503
        assert (await valid_join(base, "elsewhere"))["room"] == "elsewhere"
        assert guard.events["refused_address"] == 6
        hogged.pop()[1].close()
        await until(lambda: guard.open_count == 19, "the closed connection is counted out")
        assert (await valid_join(base, "hog", local="127.0.0.2"))["room"] == "hog"
        for _, writer in hogged:
            writer.close()


async def test_silent_trickling_and_idle_sockets_are_closed_but_a_participant_stays() -> None:
    async with guarded_server(header_timeout_s=0.5, idle_timeout_s=0.5) as (base, port, guard):
        async with aiohttp.ClientSession() as session:
            member = await session.ws_connect(f"{base}/ws")
            await member.send_json({"type": "join", "v": 2, "token": token()})
            assert (await receive(member))["type"] == "welcome"
            silent_reader, silent = await connect(port)
            trickling = await connect(port)
            trickler = asyncio.create_task(slow_headers(trickling))
            keep_alive_reader, keep_alive = await connect(port)
            keep_alive.write(HEALTH)
            assert (await read_all(silent_reader)).startswith(TIMED_OUT)
            assert (await asyncio.wait_for(trickler, HANG_GUARD_S)).startswith(TIMED_OUT)
            answered = await read_all(keep_alive_reader)  # ends: the server closed it when idle
            assert answered.startswith(b"HTTP/1.1 200") and answered.endswith(b"}")
            # The member, silent for longer than both timeouts, is still served.
            await ping(member)
            await member.close()
            for writer in (silent, trickling[1], keep_alive):
                writer.close()
        assert guard.events["header_timeout"] == 2 and guard.events["idle_timeout"] == 1


# Memory before join


async def test_a_frame_over_the_prejoin_budget_closes_with_1009() -> None:
    async with guarded_server() as (base, port, guard):
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{base}/ws")
            await ws.send_str("x" * (PREJOIN_BYTES + 1))
            closing = await asyncio.wait_for(ws.receive(), HANG_GUARD_S)
            assert (closing.type, closing.data) == (WSMsgType.CLOSE, 1009)
        # A frame that only declares a large size is cut off once the budget is spent.
        reader, writer = await connect(port)
        writer.write(UPGRADE % b"dGhlIHNhbXBsZSBub25jZQ==")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        writer.write(client_frame_header(1024 * 1024 - 16) + b"\0" * (PREJOIN_BYTES + 100))
        assert close_code(await read_all(reader)) == 1009
        writer.close()
        assert guard.events["prejoin_too_big"] == 2


async def test_after_the_join_frames_are_full_size_again() -> None:
    """The budget is for the join only: an offer near the 64 KiB message limit still goes."""
    async with guarded_server() as (base, _port, _guard), aiohttp.ClientSession() as session:
        first = await session.ws_connect(f"{base}/ws")
        await first.send_json({"type": "join", "v": 2, "token": token(name="Sam")})
        await receive(first)
        second = await session.ws_connect(f"{base}/ws")
        await second.send_json({"type": "join", "v": 2, "token": token(name="Alex")})
        to = (await receive(second))["peers"][0]["peer_id"]
        sdp = "v=0\r\n" + "a" * (60 * 1024)
        await second.send_json({"type": "offer", "to": to, "sdp": sdp})
        message = await receive(first)
        while message["type"] != "offer":  # peer_joined comes first
            message = await receive(first)
        assert message["sdp"] == sdp
        await first.close()
        await second.close()


async def test_half_sent_frames_cannot_hold_the_pending_joins() -> None:
    """40 sockets at a time upgrade and start a 1 MiB frame, never finishing it; the server holds
    at most 10 such and a few KiB of each, and valid joins still get in."""
    async with guarded_server(max_pending_joins=10) as (base, port, guard):
        async with SocketHolder(port, 40, half_sent_frame, sources(4), max_connects=600) as held:
            await until(lambda: guard.events["pending_join_evicted"] >= 30, "the attack runs")
            for i in range(5):
                assert (await valid_join(base, f"pending-{i}"))["type"] == "welcome"
                assert guard.pending_join_count <= 10
        assert held.tally.close_codes[1013] >= 30  # "try again later", not a bare drop


# A server process of its own: its open-files limit, its logs


@asynccontextmanager
async def server_process(
    tmp_path: Path, soft: int, hard: int
) -> AsyncIterator[tuple[str, Path, int]]:
    """`python -m app server --port 0` started with RLIMIT_NOFILE (soft, hard): its base URL, its
    stderr (a file, so a chatty server never blocks on a full pipe) and its pid."""
    log_path = tmp_path / "server.log"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "server", "--port", "0"],
            env={**os.environ, "TANDEM_SECRET": SECRET},
            stderr=log_file,
            preexec_fn=limit,
        )
    try:
        listening = re.compile(r"listening on (http://\S+)")
        await until(
            lambda: process.poll() is not None or listening.search(log_path.read_text()),
            "the server says where it listens",
        )
        found = listening.search(log_path.read_text())
        assert found is not None, log_path.read_text()
        yield found.group(1), log_path, process.pid
    finally:
        process.terminate()
        process.wait(timeout=HANG_GUARD_S)


async def test_out_of_descriptors_the_server_still_answers_and_stays_quiet(
    tmp_path: Path,
) -> None:
    """Started with 160 open files and no way to raise it (the report's setting: a few hundred
    idle sockets used to exhaust it, then tens of MB of tracebacks a minute). 400 idle sockets
    from 8 addresses; /health and a join still answer, and the log stays small."""
    async with server_process(tmp_path, 160, 160) as (base, log_path, _pid):
        port = int(base.rsplit(":", 1)[1])
        async with SocketHolder(port, 400, idle, sources(8), max_connects=2400) as idlers:
            await until(lambda: idlers.tally.connects >= 800, "the attack runs")
            assert (await health(base))["ok"] is True
            for i in range(5):
                assert (await valid_join(base, f"fd-{i}"))["type"] == "welcome"
        log = log_path.read_text()
    assert "Traceback" not in log and "Too many open files" not in log, log[-3000:]
    assert len(log) < 20_000
    assert idlers.tally.answers[TIMED_OUT] > 0


async def test_the_server_raises_its_file_limit_and_limits_repeated_log_lines(
    tmp_path: Path,
) -> None:
    hard = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 4096)
    async with server_process(tmp_path, 256, hard) as (base, log_path, pid):
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert re.search(rf"Max open files\s+{hard}\s+{hard}\s", limits), limits
        async with aiohttp.ClientSession() as session:
            for _ in range(PER_WINDOW + 20):  # a flood of joins with a bad token: a line each
                ws = await session.ws_connect(f"{base}/ws")
                await ws.send_json({"type": "join", "v": 2, "token": "garbage"})
                assert (await receive(ws))["code"] == "token_invalid"
                await ws.close()
        assert (await valid_join(base, "after-the-flood"))["type"] == "welcome"
        log = log_path.read_text()
    assert log.count("refused: token_invalid") == PER_WINDOW
    assert "[further similar messages suppressed for 60 s]" in log
    assert "joined room" in log  # another kind of line: not suppressed
