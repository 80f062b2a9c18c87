"""The signaling client: codec, in-memory pair, message parsing, and the engine's handling of
refusals and malformed server messages (a CallError, never a crash)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from app.call.engine import (
    PROTOCOL_PROBLEM_BURST,
    PROTOCOL_PROBLEM_EVERY_S,
    CallEngine,
    JoinError,
)
from app.call.events import (
    CallError,
    CallEvent,
    CallState,
    Joined,
    Left,
    Peer,
    PeerJoined,
    PeerLeft,
    StateChanged,
)
from app.call.signaling import (
    IceServer,
    MemorySignaling,
    ProtocolError,
    decode,
    encode,
    memory_pair,
    parse_error,
    parse_peer_left,
    parse_welcome,
    websocket_url,
)
from app.net import signaling_protocol as protocol
from app.net.signaling_protocol import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

WELCOME = protocol.welcome_msg("me", "r", "partner", "N", 30.0, ice_servers=[], peers=[])


# --- codec and parsing ---------------------------------------------------------------------


def test_codec_round_trip() -> None:
    message = {"type": "offer", "to": "p1", "sdp": "v=0\r\n"}
    assert decode(encode(message)) == message
    assert decode(encode(message).encode()) == message


@pytest.mark.parametrize("text", ["", "nope", "[1, 2]", '{"type": 3}', '{"no": "type"}', "\xff"])
def test_decode_refuses_what_is_not_a_message(text: str) -> None:
    with pytest.raises(ProtocolError):
        decode(text)


def test_size_limits_are_the_servers() -> None:
    # Sent: never more than the server accepts from a client.
    with pytest.raises(ProtocolError):
        encode({"type": "offer", "sdp": "x" * MAX_MESSAGE_BYTES})
    # Received: the server's relay of an offer at that limit is a little larger; any frame
    # up to the protocol's frame limit is read.
    relayed = '{"type":"offer","from":"p","sdp":"' + "x" * MAX_MESSAGE_BYTES + '"}'
    assert len(decode(relayed)["sdp"]) == MAX_MESSAGE_BYTES
    with pytest.raises(ProtocolError):
        decode('{"type":"x","p":"' + "x" * MAX_FRAME_BYTES + '"}')
    with pytest.raises(ProtocolError):
        encode({"kind": "no type"})


def test_client_and_server_share_one_codec() -> None:
    message = {"type": "offer", "to": "p1", "sdp": "v=0\r\na=é\r\n"}
    assert encode(message) == protocol.encode(message)
    assert protocol.decode(encode(message)) == decode(encode(message)) == message


def test_parse_welcome() -> None:
    welcome = parse_welcome(
        {
            **WELCOME,
            "ice_servers": [
                {"urls": "stun:s:3478"},
                {"urls": ["turn:t:3478"], "username": "u", "credential": "c"},
            ],
            "peers": [{"peer_id": "p1", "name": "A", "role": "therapist"}],
        }
    )
    assert welcome.peer_id == "me" and welcome.room == "r" and welcome.heartbeat_s == 30.0
    assert welcome.ice_servers == (
        IceServer(("stun:s:3478",)),
        IceServer(("turn:t:3478",), "u", "c"),
    )
    assert welcome.peers == (Peer("p1", "A", "therapist"),)


@pytest.mark.parametrize(
    "change",
    [
        {"heartbeat_s": 0},
        {"heartbeat_s": True},
        {"heartbeat_s": "2"},
        {"peer_id": None},
        {"peers": {}},
        {"ice_servers": "stun:x"},
        {"ice_servers": [3]},
        {"ice_servers": [{}]},
        {"ice_servers": [{"urls": [1]}]},
        {"ice_servers": [{"urls": "s", "username": 5}]},
        {"peers": [7]},
        {"peers": [{"peer_id": "p", "name": "n"}]},
    ],
)
def test_malformed_welcome(change: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_welcome({**WELCOME, **change})


def test_parse_error_and_peer_left() -> None:
    assert (
        parse_error({"type": "error", "code": "room_full", "message": "m", "fatal": True}).code
        == "room_full"
    )
    lenient = parse_error({"type": "error", "code": "x", "fatal": "yes"})
    assert lenient.fatal is True and lenient.message == ""
    assert parse_peer_left({"type": "peer_left", "peer_id": "p"}) == ("p", "left")
    with pytest.raises(ProtocolError):
        parse_error({"type": "error"})


@pytest.mark.parametrize(
    ("url", "ws"),
    [
        ("http://10.0.0.1:8443", "ws://10.0.0.1:8443/ws"),
        ("https://clinic.example:443/", "wss://clinic.example:443/ws"),
        ("http://h:1/base", "ws://h:1/base/ws"),
        ("wss://h:2/ws", "wss://h:2/ws"),
        ("ws://h:2", "ws://h:2/ws"),
    ],
)
def test_websocket_url(url: str, ws: str) -> None:
    assert websocket_url(url) == ws


@pytest.mark.parametrize("url", ["ftp://h:1", "h:1", "http://"])
def test_websocket_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        websocket_url(url)


# --- in-memory pair ---------------------------------------------------------------------------


async def test_memory_pair_delivers_in_order_and_closes() -> None:
    a, b = memory_pair()
    await a.connect()
    assert a.connected
    await a.send({"type": "one"})
    await a.send({"type": "two"})
    assert await b.receive() == {"type": "one"}
    assert await b.receive() == {"type": "two"}
    await b.close()
    assert await a.receive() is None
    assert await b.receive() is None
    with pytest.raises(ConnectionError):
        await b.send({"type": "late"})
    await b.close()  # twice is fine


async def test_memory_pair_loss_pattern() -> None:
    a, b = memory_pair(drop=lambda index, message: index % 2 == 1)
    for n in range(4):
        await a.send({"type": "m", "n": n})
    await a.close()
    received = [await b.receive() for _ in range(3)]
    assert received == [{"type": "m", "n": 0}, {"type": "m", "n": 2}, None]


async def test_memory_pair_raw_text_fails_to_decode() -> None:
    a, b = memory_pair()
    await a.send_raw("not json")
    with pytest.raises(ProtocolError):
        await b.receive()


# --- the engine against a scripted server -------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.changed = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        self.changed.set()

    async def wait_state(self, engine: CallEngine, state: CallState) -> None:
        while engine.state is not state:
            self.changed.clear()
            await self.changed.wait()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def engine_with(
    client: MemorySignaling, listener: Callable[[CallEvent], None], **options: Any
) -> CallEngine:
    """An engine without devices on `client`; `options` go to CallEngine (join_timeout: 5 s)."""
    options.setdefault("join_timeout", 5.0)
    return CallEngine(
        "http://127.0.0.1:9",
        "secret-token",
        camera=None,
        microphone=None,
        listener=listener,
        signaling=client,
        **options,
    )


async def expect_join(server: MemorySignaling) -> None:
    message = await server.receive()
    assert message is not None
    device = message.pop("device")  # this call's own id, random, the same on every reconnect
    assert isinstance(device, str) and 12 <= len(device) <= 64
    assert message == {"type": "join", "v": 2, "token": "secret-token"}


async def join_answered(
    engine: CallEngine, server: MemorySignaling, answer: dict[str, Any] | str | None = WELCOME
) -> None:
    """Join with `engine` while `server` checks the join and answers: a message, raw text, or
    (None) closing. A JoinError comes out once the server's side is done."""

    async def serve() -> None:
        await expect_join(server)
        if answer is None:
            await server.close()
        elif isinstance(answer, str):
            await server.send_raw(answer)
        else:
            await server.send(answer)

    serving = asyncio.ensure_future(serve())
    try:
        await engine.join()
    finally:
        await serving


async def test_refused_join_is_a_call_error_with_the_servers_code() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    refusal = {"type": "error", "code": "token_expired", "message": "old", "fatal": True}
    with pytest.raises(JoinError) as refused:
        await join_answered(engine, server, refusal)
    assert refused.value.code == "token_expired"
    assert [(e.code, e.message) for e in recorder.of(CallError)] == [("token_expired", "old")]
    assert engine.state is CallState.FAILED
    assert client.closed
    await engine.leave()  # after a failure: nothing more happens
    assert recorder.of(Left) == []


@pytest.mark.parametrize(
    "reply",
    [
        '{"type": "welcome"}',
        "garbage",
        '{"type": "pong"}',
        '{"type": "error"}',
    ],
)
async def test_malformed_reply_to_join(reply: str) -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    with pytest.raises(JoinError):
        await join_answered(engine, server, reply)
    assert [e.code for e in recorder.of(CallError)] == ["protocol_error"]
    assert engine.state is CallState.FAILED


async def test_server_closing_before_welcome() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    with pytest.raises(JoinError) as refused:
        await join_answered(engine, server, None)
    assert refused.value.code == "server_closed"


@pytest.mark.allow_log_warnings("app.call.signaling_session")
async def test_unreachable_server() -> None:
    recorder = Recorder()
    engine = CallEngine("http://127.0.0.1:9", "t", camera=None, microphone=None, listener=recorder)
    with pytest.raises(JoinError) as refused:
        await engine.join()
    assert refused.value.code == "server_unreachable"
    assert engine.state is CallState.FAILED
    with pytest.raises(RuntimeError):
        await engine.join()


@pytest.mark.allow_log_warnings("app.call.engine")
async def test_in_call_messages_malformed_or_not() -> None:
    client, server = memory_pair()
    recorder = Recorder()

    def listener(event: CallEvent) -> None:
        recorder(event)
        if isinstance(event, PeerJoined):
            raise RuntimeError("a broken listener must not break the engine")

    engine = engine_with(client, listener)
    await join_answered(engine, server, {**WELCOME, "peers": []})
    assert engine.state is CallState.WAITING
    assert recorder.of(Joined)[0].peer_id == "me"

    for raw in (
        "not json",
        '{"type": "peer_joined", "peer": 5}',
        '{"type": "offer"}',
        '{"type": "peer_left"}',
        '{"type": "answer", "from": "x"}',
    ):
        await server.send_raw(raw)
    await server.send({"type": "answer", "from": "nobody", "sdp": "v=0"})  # unknown: ignored
    await server.send({"type": "something_new"})  # forward compatible: ignored
    await server.send({"type": "pong"})
    await server.send({"type": "error", "code": "unknown_peer", "message": "", "fatal": False})
    await server.send(
        {"type": "peer_joined", "peer": {"peer_id": "p2", "name": "B", "role": "therapist"}}
    )
    await server.send(
        {"type": "peer_joined", "peer": {"peer_id": "p3", "name": "C", "role": "partner"}}
    )
    # A timeout is not a goodbye: p3 stays in the call (it may come back); p2 said goodbye.
    await server.send({"type": "peer_left", "peer_id": "p3", "reason": "timeout"})
    await server.send({"type": "peer_left", "peer_id": "p2", "reason": "left"})
    await server.send({"type": "peer_left", "peer_id": "stranger"})
    await server.send({"type": "error", "code": "replaced", "message": "elsewhere", "fatal": True})
    await recorder.wait_state(engine, CallState.FAILED)
    codes = [e.code for e in recorder.of(CallError)]
    assert codes == ["protocol_error"] * 5 + ["replaced"]
    assert [e.peer.peer_id for e in recorder.of(PeerJoined)] == ["p2", "p3"]
    assert [(e.peer_id, e.reason) for e in recorder.of(PeerLeft)] == [("p2", "left")]
    assert set(engine.peers) == {"p3"}
    states = [(e.old, e.new) for e in recorder.of(StateChanged)]
    assert states[-1] == (CallState.WAITING, CallState.FAILED)


async def test_leave_sends_leave_and_reports_left() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    await join_answered(engine, server)
    engine.set_muted(True)
    engine.set_camera_enabled(False)
    await engine.leave()
    assert await server.receive() == {"type": "leave"}
    assert engine.state is CallState.LEFT
    assert [e.reason for e in recorder.of(Left)] == ["left"]
    await engine.leave()
    assert len(recorder.of(Left)) == 1


async def test_losing_the_server_mid_call() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    await join_answered(engine, server)
    await server.close()
    await recorder.wait_state(engine, CallState.FAILED)
    assert [e.code for e in recorder.of(CallError)] == ["server_lost"]


@pytest.mark.allow_log_warnings("app.call.signaling_session")
async def test_a_silent_server_counts_as_lost() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    clock = [0.0]
    engine = engine_with(client, recorder, now=lambda: clock[0])
    await join_answered(engine, server, {**WELCOME, "heartbeat_s": 0.01})
    assert await server.receive() == {"type": "ping"}
    assert engine.state is CallState.WAITING
    clock[0] = 1.0  # three heartbeats' worth of silence on the injected clock
    await recorder.wait_state(engine, CallState.FAILED)
    assert [e.code for e in recorder.of(CallError)] == ["server_lost"]


@pytest.mark.allow_log_warnings("app.call.engine")
async def test_a_server_that_keeps_breaking_the_protocol_ends_the_call() -> None:
    """Malformed messages are ignored within a budget (PROTOCOL_PROBLEM_BURST at once, one
    every PROTOCOL_PROBLEM_EVERY_S on end); past it the call ends with protocol_error."""
    client, server = memory_pair()
    recorder = Recorder()
    clock = [0.0]
    engine = engine_with(client, recorder, now=lambda: clock[0])
    await join_answered(engine, server)

    async def malformed(count: int, then_errors: int) -> None:
        """Send `count` malformed messages; return once `then_errors` CallErrors were told."""
        for _ in range(count):
            await server.send_raw('{"type": "peer_left"}')
        async with asyncio.timeout(10):
            while len(recorder.of(CallError)) < then_errors:
                recorder.changed.clear()
                await recorder.changed.wait()

    await malformed(PROTOCOL_PROBLEM_BURST, PROTOCOL_PROBLEM_BURST)
    assert engine.state is CallState.WAITING
    clock[0] += PROTOCOL_PROBLEM_EVERY_S  # one more is put up with after a while
    await malformed(1, PROTOCOL_PROBLEM_BURST + 1)
    assert engine.state is CallState.WAITING
    await malformed(1, PROTOCOL_PROBLEM_BURST + 2)  # not so soon: the call ends
    await recorder.wait_state(engine, CallState.FAILED)
    errors = recorder.of(CallError)
    assert [e.code for e in errors] == ["protocol_error"] * (PROTOCOL_PROBLEM_BURST + 2)
    assert "ended" in errors[-1].message and "ended" not in errors[-2].message


async def test_a_room_holds_three_others_whatever_the_server_says() -> None:
    client, server = memory_pair()
    recorder = Recorder()
    engine = engine_with(client, recorder)
    with pytest.raises(JoinError) as refused:
        await join_answered(
            engine,
            server,
            {
                **WELCOME,
                "peers": [{"peer_id": f"p{n}", "name": "N", "role": "partner"} for n in range(4)],
            },
        )
    assert refused.value.code == "protocol_error"
    assert engine.peers == {}
