"""The kept connection under both clients: what each way of not getting through looks like."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.emergency import server_messages
from app.emergency.connection import KeptConnection
from app.emergency.couple_client import EmergencyClient
from app.emergency.events import Connected, Offline, Refused
from app.emergency.transport import ConnectFailed, emergency_url, websocket_connector
from tests.emergency_fake import FakeEmergencyServer, running, wait_for


class Scripted:
    """A transport that answers the hello with `answers` in turn (None: never answers)."""

    def __init__(self, *answers: dict[str, Any] | str | None) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self._gone = asyncio.Event()

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def receive(self) -> str | None:
        if self.answers:
            answer = self.answers.pop(0)
            if answer is not None:
                return answer if isinstance(answer, str) else json.dumps(answer)
        await self._gone.wait()
        return None

    async def close(self) -> None:
        self.closed = True
        self._gone.set()


HELLO_OK = {"type": "hello_ok", "v": 1, "heartbeat_s": 5.0, "as": "couple", "case": None}


def connection(transports: list[Scripted], events: list[Any], **options: Any) -> KeptConnection:
    async def connect() -> Scripted:
        if not transports:
            raise ConnectFailed("unreachable")
        return transports.pop(0)

    async def nothing() -> None:
        pass

    return KeptConnection(
        connect,
        {"type": "hello"},
        welcome=lambda message: server_messages.parse_couple_hello_ok(message)[0],
        on_up=nothing,
        on_message=events.append,
        on_offline=events.append,
        on_refused=events.append,
        **{"offline_after_s": 0.2, "hello_timeout_s": 0.2, **options},
    )


def offline_reasons(events: list[Any]) -> list[str]:
    return [e.reason for e in events if isinstance(e, Offline)]


@pytest.mark.allow_log_warnings("app.emergency.connection")
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, "timeout"),  # nothing comes back to the hello
        ({"type": "case"}, "protocol"),  # not hello_ok
        ("not json", "protocol"),
        ({**HELLO_OK, "v": 7}, "protocol"),
        ({"type": "error", "code": "join_timeout", "message": "late"}, "timeout"),
        ({"type": "error", "code": "rate_limited", "message": "slow down"}, "server_error"),
    ],
)
async def test_each_failed_hello_is_offline_with_its_reason_then_a_retry(
    answer: dict[str, Any] | str | None, reason: str
) -> None:
    events: list[Any] = []
    first, second = Scripted(answer), Scripted(HELLO_OK)
    kept = connection([first, second], events)
    task = asyncio.ensure_future(kept.run())
    try:
        await wait_for(lambda: kept.up)
        assert reason in offline_reasons(events)
        assert first.closed and not second.closed
    finally:
        await kept.close()
        await asyncio.wait_for(task, 5)
    assert second.closed


async def test_a_closed_connection_is_lost_and_made_again() -> None:
    events: list[Any] = []
    first, second = Scripted(HELLO_OK), Scripted(HELLO_OK)
    kept = connection([first, second], events)
    async with running(kept):
        await wait_for(lambda: kept.up)
        await first.close()
        await wait_for(lambda: kept.up and not second.closed and second.sent != [])
        assert offline_reasons(events) == ["lost"]


async def test_close_stops_an_attempt_that_hangs() -> None:
    events: list[Any] = []
    hanging = asyncio.Event()

    async def connect() -> Scripted:
        await hanging.wait()
        raise AssertionError("never")

    async def nothing() -> None:
        pass

    kept = KeptConnection(
        connect,
        {"type": "hello"},
        welcome=lambda m: 1.0,
        on_up=nothing,
        on_message=events.append,
        on_offline=events.append,
        on_refused=events.append,
        offline_after_s=0.05,
    )
    task = asyncio.ensure_future(kept.run())
    await wait_for(lambda: bool(events))
    assert events == [Offline("timeout", 0.0)]
    await kept.close()
    await asyncio.wait_for(task, 5)
    assert kept.closed and not kept.up


async def test_nothing_is_sent_while_down_and_too_large_is_refused() -> None:
    kept = connection([], [])
    assert await kept.send({"type": "ping"}) is False
    with pytest.raises(ValueError):
        await kept.send({"type": "x", "big": "y" * 20_000})


@pytest.mark.allow_log_warnings("app.emergency.couple_client")
async def test_a_listener_that_raises_does_not_stop_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeEmergencyServer()

    def broken(event: Any) -> None:
        raise RuntimeError("a bug in the app")

    alex = EmergencyClient("http://x.invalid", "alex", listener=broken, connect=server.connect)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        await alex.request(None)
        await wait_for(lambda: alex.case is not None)
    assert "listener failed on Connected" in caplog.text


# --- the WebSocket -------------------------------------------------------------------------------


def test_the_emergency_address_of_a_server() -> None:
    assert emergency_url("http://h:8443") == "ws://h:8443/emergency/ws"
    assert emergency_url("https://h/base/") == "wss://h/base/emergency/ws"
    assert emergency_url(" wss://h:1 ") == "wss://h:1/emergency/ws"
    for bad in ("h:8443", "ftp://h", "http://"):
        with pytest.raises(ValueError):
            emergency_url(bad)


PINGS: list[float] = []


@pytest.fixture
async def web_server() -> AsyncIterator[TestServer]:
    PINGS.clear()

    async def emergency(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = await ws.receive_json()
        assert hello["type"] == "hello"
        await ws.send_json({**HELLO_OK, "heartbeat_s": 0.2})
        async for message in ws:
            if json.loads(message.data)["type"] == "ping":
                PINGS.append(asyncio.get_running_loop().time())
                await ws.send_json({"type": "pong"})
        return ws

    app = web.Application()
    app.router.add_get("/emergency/ws", emergency)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/old/health", health)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_the_websocket_connects_says_hello_and_pings(web_server: TestServer) -> None:
    events: list[Any] = []
    alex = EmergencyClient(str(web_server.make_url("/")), "tok", listener=events.append)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        assert events[0] == Connected(None, None)
        await wait_for(lambda: len(PINGS) >= 2)  # every heartbeat_s (0.2 s here)
    assert not [e for e in events if isinstance(e, Offline)]


async def test_a_server_without_emergency_connect_is_unsupported(web_server: TestServer) -> None:
    connect = websocket_connector(str(web_server.make_url("/old")))
    with pytest.raises(ConnectFailed) as failed:
        await connect()
    assert failed.value.reason == "unsupported"


async def test_nobody_listening_is_unreachable(unused_tcp_port: int) -> None:
    connect = websocket_connector(f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(ConnectFailed) as failed:
        await connect()
    assert failed.value.reason == "unreachable"


@pytest.mark.allow_log_warnings("app.emergency.connection")
async def test_a_refusal_is_final() -> None:
    server = FakeEmergencyServer()
    events: list[Any] = []
    alex = EmergencyClient(
        "http://x.invalid", "nobody", listener=events.append, connect=server.connect
    )
    await asyncio.wait_for(alex.run(), 5)
    assert events == [Refused("token_invalid", "Not a valid code.")]
    await alex.request(None)  # after a refusal: kept, never sent, no error
    assert server.connects == 1
