"""Helpers for the signaling server's end-to-end tests: a real aiohttp server, real WebSockets.

Nothing waits on the clock: every step awaits the message that proves it happened. The
`wait_for` bounds only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from app.net.server_messages import validate_server_message
from app.server.app import create_app
from app.server.config import ServerConfig
from app.server.tokens import mint_token

SECRET = "integration-test-secret-0123456789"
HANG_GUARD_S = 10.0
Ws = aiohttp.ClientWebSocketResponse


def token(room: str = "room-one", role: str = "partner", name: str = "Sam", ttl: int = 600) -> str:
    return mint_token(SECRET, room, role, name, ttl)


async def receive(ws: Ws, skip_pongs: bool = True) -> dict[str, Any]:
    """The next server message, checked against its schema."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), HANG_GUARD_S)
        assert msg.type is WSMsgType.TEXT, f"expected a text frame, got {msg.type}"
        obj: dict[str, Any] = json.loads(msg.data)
        validate_server_message(obj)
        if not (skip_pongs and obj["type"] == "pong"):
            return obj


async def expect_closed(ws: Ws) -> None:
    msg = await asyncio.wait_for(ws.receive(), HANG_GUARD_S)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), msg


async def expect_error(ws: Ws, code: str, fatal: bool) -> dict[str, Any]:
    msg = await receive(ws)
    assert msg["type"] == "error", msg
    assert (msg["code"], msg["fatal"]) == (code, fatal), msg
    if fatal:
        await expect_closed(ws)
    return msg


class Harness:
    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client

    async def connect(self, query: str = "") -> Ws:
        return await self.client.ws_connect(f"/ws{query}")

    async def join(self, tok: str, v: int = 1, **fields: Any) -> tuple[Ws, dict[str, Any]]:
        ws = await self.connect()
        await ws.send_json({"type": "join", "v": v, "token": tok, **fields})
        welcome = await receive(ws)
        assert welcome["type"] == "welcome", welcome
        assert welcome["v"] == v, welcome
        return ws, welcome

    async def refused(self, tok: str, code: str, query: str = "", **fields: Any) -> None:
        ws = await self.connect(query)
        await ws.send_json({"type": "join", "v": 1, "token": tok, **fields})
        await expect_error(ws, code, fatal=True)


async def nothing_queued(ws: Ws) -> None:
    """Prove nothing waits for `ws`: a pong is written after whatever was queued before it."""
    await ws.send_json({"type": "ping"})
    assert (await receive(ws, skip_pongs=False))["type"] == "pong"


async def leave(ws: Ws) -> None:
    """Leave the room at once (a socket merely closed keeps its place for the grace period)."""
    await ws.send_json({"type": "leave"})
    await expect_closed(ws)


async def serving(config: ServerConfig) -> AsyncIterator[Harness]:
    async with TestClient(TestServer(create_app(config))) as client:
        yield Harness(client)
