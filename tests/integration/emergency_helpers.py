"""Helpers for the emergency server's tests: the real app on loopback, raw aiohttp WebSockets.

Nothing waits on the clock: every step awaits the message that proves it happened; the
`wait_for` bounds only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from app.server.app import create_app
from app.server.config import ServerConfig
from app.server.emergency.desk import Desk
from app.server.emergency.escalation import Timings
from app.server.emergency.routes import ENDPOINT_KEY
from app.server.emergency.settings import EmergencySettings
from app.server.emergency.store import Record
from app.server.tokens import mint_token

SECRET = "emergency-test-secret-0123456789abcdef"
HANG_GUARD_S = 10.0
# Long enough that no level passes during a test that does not wait for one.
SLOW = Timings(ring_again_s=300.0, everyone_s=600.0, unanswered_s=900.0)
# Escalation within a second, for the tests that wait for it.
FAST = Timings(ring_again_s=0.15, everyone_s=0.3, unanswered_s=0.45)
Ws = aiohttp.ClientWebSocketResponse


def partner(room: str = "couple-one", name: str = "Alex") -> str:
    return mint_token(SECRET, room, "partner", name, 600)


def oncall(name: str = "Dr Lee", room: str = "oncall") -> str:
    return mint_token(SECRET, room, "oncall", name, 600)


def config(
    timings: Timings = SLOW,
    *,
    data_dir: Path | None = None,
    webhook_url: str = "",
    backup_tier: tuple[str, ...] = (),
) -> ServerConfig:
    settings = EmergencySettings(timings, webhook_url=webhook_url, backup_tier=backup_tier)
    return replace(
        ServerConfig(secret=SECRET, heartbeat_s=30.0), data_dir=data_dir, emergency=settings
    )


class Client:
    """One `/emergency/ws` connection; `next(type)` skips what the test does not look at."""

    def __init__(self, ws: Ws) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send_json(message)

    async def receive(self) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), HANG_GUARD_S)
        assert msg.type is WSMsgType.TEXT, f"expected a text frame, got {msg.type} {msg.data}"
        obj: dict[str, Any] = json.loads(msg.data)
        self.seen.append(obj)
        return obj

    async def next(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next message of `kind` (whose fields equal `match`), skipping others."""
        while True:
            obj = await self.receive()
            if obj["type"] == kind and all(obj.get(k) == v for k, v in match.items()):
                return obj

    async def error(self, code: str) -> dict[str, Any]:
        obj = await self.next("error")
        assert obj["code"] == code, obj
        return obj

    async def closed(self) -> None:
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), HANG_GUARD_S)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return

    async def close(self) -> None:
        await self.ws.close()


class Server:
    def __init__(
        self, client: TestClient[web.Request, web.Application], app: web.Application
    ) -> None:
        self.http = client
        self.app = app

    async def connect(self) -> Client:
        return Client(await self.http.ws_connect("/emergency/ws"))

    async def hello(self, token: str, side: str) -> tuple[Client, dict[str, Any]]:
        client = await self.connect()
        await client.send(type="hello", v=1, token=token, **{"as": side})
        ok = await client.receive()
        assert ok["type"] == "hello_ok", ok
        return client, ok

    async def couple(self, room: str = "couple-one", name: str = "Alex") -> Client:
        return (await self.hello(partner(room, name), "couple"))[0]

    async def clinician(self, name: str = "Dr Lee", available: bool = True) -> Client:
        client, _ = await self.hello(oncall(name), "oncall")
        if available:
            await client.send(type="availability", available=True)
            await client.next("availability", available=True)
        return client


async def serving(server_config: ServerConfig) -> AsyncIterator[Server]:
    app = create_app(server_config)
    async with TestClient(TestServer(app)) as client:
        yield Server(client, app)


def desk_of(server: Server) -> Desk:
    return server.app[ENDPOINT_KEY].desk


async def records_of(server: Server, case_id: str) -> list[Record]:
    return await desk_of(server).store.records(case_id=case_id)


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `condition` (bounded): for state with no message to wait on, e.g. a record."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD_S
    while not await condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


class Receiver:
    """A local webhook receiver: every POSTed JSON body lands in `posts`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.app = web.Application()
        self.app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        await self.posts.put(await request.json())
        return web.Response(status=self.status)

    async def next_post(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.posts.get(), HANG_GUARD_S)


async def wait_for_record(server: Server, case_id: str, kind: str) -> Record:
    """The case's first record of `kind`, once it is written (polled, bounded)."""
    found: list[Record] = []

    async def written() -> bool:
        found[:] = [r for r in await records_of(server, case_id) if r.kind == kind]
        return bool(found)

    await until(written, f"a {kind} record")
    return found[0]
