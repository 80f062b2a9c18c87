"""A hostile (or intercepted) session server against the real client.

The server here is a small aiohttp WebSocket server that reads the client's join and then says
what no honest server would: a welcome listing thousands of peers, a heartbeat of NaN, JSON
nested 100 000 deep, a flood of malformed or over-limit messages, or nothing at all. The client
is the real one: the CallEngine in this process, and `tandem join` as a child process, whose
JSON lines and exit status are its contract. Each attack ends the way the contract says (an
`error` line with `protocol_error` and the documented exit status, or `--duration` honoured)
without a traceback, and the client still joins an honest server while the attack runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection

from app.call.engine import MAX_LINKS, PROTOCOL_PROBLEM_BURST, CallEngine, JoinError
from app.call.events import CallError, CallEvent, CallState, Joined, PeerJoined
from app.commands.join import EXIT_FAILED, EXIT_LEFT, EXIT_UNREACHABLE
from app.net.signaling_protocol import MAX_FRAME_BYTES, MAX_PEERS, welcome_msg
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 60.0
Heard = list[dict[str, Any]]
Script = Callable[[web.WebSocketResponse, Heard], Awaitable[None]]

# --- what the hostile server says ----------------------------------------------------------------


def welcome(**changes: Any) -> dict[str, Any]:
    honest = welcome_msg("me", "room", "partner", "Me", 1.0, ice_servers=[], peers=[])
    return {**honest, **changes}


def peer(n: int) -> dict[str, Any]:
    return {"peer_id": f"peer-{n:05d}", "name": f"Person {n}", "role": "partner", "v": 2}


THOUSANDS_OF_PEERS = json.dumps(welcome(peers=[peer(n) for n in range(5000)]))
NAN_HEARTBEAT = json.dumps(welcome(heartbeat_s=float("nan")))  # json writes NaN, JSON has none
HUGE_HEARTBEAT = json.dumps(welcome(heartbeat_s=1e9))
DEEP = 100_000
NESTED = '{"type":"welcome","x":' + "[" * DEEP + "]" * DEEP + "}"
HOSTILE_WELCOMES = {
    "thousands_of_peers": THOUSANDS_OF_PEERS,
    "nan_heartbeat": NAN_HEARTBEAT,
    "huge_heartbeat": HUGE_HEARTBEAT,
    "nested": NESTED,
}
assert all(len(text) < MAX_FRAME_BYTES for text in HOSTILE_WELCOMES.values())


async def listen(ws: web.WebSocketResponse, heard: Heard) -> None:
    """Note what the client says until it goes."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            heard.append(json.loads(msg.data))


def says(*texts: str) -> Script:
    """Send `texts`, then listen."""

    async def script(ws: web.WebSocketResponse, heard: Heard) -> None:
        for text in texts:
            await ws.send_str(text)
        await listen(ws, heard)

    return script


def floods(messages: Callable[[int], str], count: int = 500) -> Script:
    """An honest welcome, then `count` messages made by `messages(n)`, then reading."""

    async def script(ws: web.WebSocketResponse, heard: Heard) -> None:
        await ws.send_str(json.dumps(welcome()))
        with contextlib.suppress(ConnectionError):
            for n in range(count):
                if ws.closed:
                    return
                await ws.send_str(messages(n))
        await listen(ws, heard)

    return script


async def never_answers(ws: web.WebSocketResponse, heard: Heard) -> None:
    """Takes the join and then neither speaks nor reads."""
    await asyncio.Event().wait()


class HostileServer:
    """A WebSocket server on loopback that reads each join and then runs `script`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.joins = 0
        self.heard: Heard = []  # what clients said after their join
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        first = await ws.receive()
        if first.type is aiohttp.WSMsgType.TEXT and json.loads(first.data)["type"] == "join":
            self.joins += 1
            task = asyncio.ensure_future(self.script(ws, self.heard))
            try:
                await task
            finally:
                task.cancel()
        return ws

    async def __aenter__(self) -> HostileServer:
        app = web.Application()
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
def honest() -> Iterator[EmbeddedServer]:
    from app.server.embedded import start_practice_server

    embedded = start_practice_server()
    try:
        yield embedded
    finally:
        embedded.stop()


# --- the engine in this process ----------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.changed = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(HANG_GUARD_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()


def engine_for(url: str, recorder: Recorder, token: str = "token") -> CallEngine:
    return CallEngine(url, token, camera=None, microphone=None, listener=recorder)


async def honest_join(server: EmbeddedServer) -> None:
    """A valid join to an honest server, and a clean leave: the client works."""
    recorder = Recorder()
    token = mint_token(server.config.secret, "room-honest", "partner", "Sam", 600)
    engine = engine_for(server.url, recorder, token)
    async with asyncio.timeout(HANG_GUARD_S):
        await engine.join()
        await engine.leave()
    assert [e.room for e in recorder.of(Joined)] == ["room-honest"]
    assert engine.state is CallState.LEFT


@pytest.mark.parametrize("name", sorted(HOSTILE_WELCOMES))
@pytest.mark.allow_log_warnings("app.call")
async def test_a_hostile_welcome_fails_the_join_in_words(name: str, honest: EmbeddedServer) -> None:
    recorder = Recorder()
    async with HostileServer(says(HOSTILE_WELCOMES[name])) as hostile:
        engine = engine_for(hostile.url, recorder)
        with pytest.raises(JoinError) as refused:
            async with asyncio.timeout(HANG_GUARD_S):
                await engine.join()
        # While the hostile server is still up: the same client joins an honest one.
        await honest_join(honest)
    assert refused.value.code == "protocol_error"
    assert [e.code for e in recorder.of(CallError)] == ["protocol_error"]
    assert engine.state is CallState.FAILED and engine.peers == {}
    assert hostile.joins == 1  # no reconnecting to a server that does not speak the protocol


@pytest.mark.allow_log_warnings("app.call")
async def test_a_flood_of_peers_never_grows_the_room_and_ends_the_call(
    honest: EmbeddedServer,
) -> None:
    """peer_joined for ever new peers: the room holds MAX_PEERS others; the rest are refused as
    malformed, and a server that keeps at it has the call ended (protocol_error)."""
    flood = floods(lambda n: json.dumps({"type": "peer_joined", "peer": peer(n)}))
    recorder = Recorder()
    async with HostileServer(flood) as hostile:
        engine = engine_for(hostile.url, recorder)
        await engine.join()
        await honest_join(honest)  # on the same loop, while the flood runs
        await recorder.until(lambda: engine.state is CallState.FAILED)
        await engine.leave()
    assert len(recorder.of(PeerJoined)) == MAX_PEERS
    codes = [e.code for e in recorder.of(CallError)]
    assert codes == ["protocol_error"] * (PROTOCOL_PROBLEM_BURST + 1)
    assert "ended" in recorder.of(CallError)[-1].message


@pytest.mark.parametrize(
    "message",
    [
        lambda n: "[" * DEEP,  # nested: not even decoded
        lambda n: json.dumps({"type": "chat", "from": "p", "id": str(n), "text": "x" * 5000}),
        lambda n: json.dumps({"type": "offer", "from": "p" * 1000, "sdp": "v=0"}),
        lambda n: json.dumps({"type": "error", "code": "c", "message": "m" * 5000, "fatal": True}),
    ],
    ids=["nested", "long_chat", "long_peer_id", "long_error"],
)
@pytest.mark.allow_log_warnings("app.call")
async def test_over_limit_messages_in_the_call_are_refused_then_end_it(
    message: Callable[[int], str],
) -> None:
    recorder = Recorder()
    async with HostileServer(floods(message)) as hostile:
        engine = engine_for(hostile.url, recorder)
        await engine.join()
        await recorder.until(lambda: engine.state is CallState.FAILED)
        await engine.leave()
    assert [e.code for e in recorder.of(CallError)][-1] == "protocol_error"
    assert not any(isinstance(e, CallError) and e.code == "c" for e in recorder.events)


@pytest.mark.allow_log_warnings("app.call")
async def test_offers_from_more_peers_than_a_room_holds_are_refused() -> None:
    """Each offer from someone new costs a peer connection: past MAX_LINKS, none is made."""
    offerers = [RTCPeerConnection() for _ in range(MAX_LINKS + 2)]
    offers = []
    for pc in offerers:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        offers.append(pc.localDescription.sdp)
    flood = floods(
        lambda n: json.dumps({"type": "offer", "from": f"stranger-{n}", "sdp": offers[n]}),
        count=len(offers),
    )
    recorder = Recorder()
    try:
        async with HostileServer(flood) as hostile:
            engine = engine_for(hostile.url, recorder)
            await engine.join()
            await recorder.until(lambda: len(recorder.of(CallError)) >= 2)
            await engine.leave()
    finally:
        for pc in offerers:
            await pc.close()
    assert [e.code for e in recorder.of(CallError)] == ["protocol_error"] * 2
    # Only MAX_LINKS answers went back (what the client said after its join: answers, pings).
    answers = [m for m in hostile.heard if m["type"] == "answer"]
    assert len(answers) <= MAX_LINKS


# --- `tandem join` as a child process ---------------------------------------------------------


async def tandem_join(url: str, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    """Run `tandem join --headless` to the end: (exit status, JSON lines, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "join", "--headless", "--server", url, "--token", "t",
        "--camera", "none", "--mic", "none", *extra,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(HANG_GUARD_S):
            out, err = await process.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    return process.returncode or 0, lines, err.decode()


def biggest_child_mib() -> float:
    """The largest resident size any finished child of this process reached (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@pytest.mark.parametrize("name", ["thousands_of_peers", "nan_heartbeat", "nested"])
async def test_tandem_join_refuses_a_hostile_welcome(name: str) -> None:
    async with HostileServer(says(HOSTILE_WELCOMES[name])) as hostile:
        status, lines, err = await tandem_join(hostile.url)
    assert status == EXIT_UNREACHABLE, (lines, err)
    assert [line["code"] for line in lines if line["type"] == "error"] == ["protocol_error"]
    assert lines[-1]["type"] == "state" and lines[-1]["new"] == "failed"
    assert "Traceback" not in err
    assert biggest_child_mib() < 1024  # the client read the welcome, and nothing grew with it


async def test_tandem_join_ends_a_call_with_a_server_that_keeps_breaking_the_protocol() -> None:
    flood = floods(lambda n: json.dumps({"type": "peer_joined", "peer": peer(n)}))
    async with HostileServer(flood) as hostile:
        status, lines, err = await tandem_join(hostile.url, "--duration", "50")
    assert status == EXIT_FAILED, (lines, err)
    errors = [line for line in lines if line["type"] == "error"]
    assert errors[-1]["code"] == "protocol_error" and "ended" in errors[-1]["message"]
    assert len([line for line in lines if line["type"] == "peer_joined"]) == MAX_PEERS
    assert "Traceback" not in err


async def test_tandem_join_honours_duration_when_the_server_never_answers() -> None:
    """The join would wait 10 s for a welcome; --duration 1 ends it first, as a leave."""
    async with HostileServer(never_answers) as hostile:
        status, lines, err = await tandem_join(hostile.url, "--duration", "1")
    assert status == EXIT_LEFT, (lines, err)
    assert lines[-1] == {**lines[-1], "type": "left", "reason": "left"}
    assert not any(line["type"] == "error" for line in lines)
    assert "Traceback" not in err
