"""Hostile participants against the real session server: real aiohttp server, real WebSockets.

An attacker holds a valid token (it is in the room) and sends as fast as it can, in bounded
loops: a burst of small messages at one member, a burst of bad messages, JSON nested 100 000
deep, and every malformed frame we could think of. While each attack runs, the victim keeps
reading and keeps its place, the others' messages still reach it, and a valid join gets in.
Only the attacker hears about it (`rate_limited`, `bad_message`, never fatal), and the server
logs no traceback and nothing private.

Nothing here waits on the clock to synchronise: each step awaits the message that proves it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.server.config import ServerConfig
from app.server.rate_limit import MESSAGE_BURST
from tests.integration.signaling_helpers import (
    HANG_GUARD_S,
    SECRET,
    Harness,
    Ws,
    expect_error,
    leave,
    nothing_queued,
    receive,
    serving,
    token,
)

ATTACK = 2000  # messages in one burst: far past the outbox (256) and the rate limit (60)
Messages = list[dict[str, Any]]
DEEP = 20_000  # a frame of it stays under the 64 KiB a message may have


@pytest.fixture
async def server() -> AsyncIterator[Harness]:
    async for harness in serving(ServerConfig(secret=SECRET, heartbeat_s=30.0)):
        yield harness


async def room(server: Harness) -> tuple[tuple[Ws, str], tuple[Ws, str], tuple[Ws, str]]:
    """Victim (Sam), attacker (Alex) and therapist (Dr. Lee), v2, all introduced."""
    victim, wv = await server.join(token(name="Sam"), v=2)
    attacker, wa = await server.join(token(name="Alex"), v=2)
    assert (await receive(victim))["type"] == "peer_joined"
    other, wo = await server.join(token(role="therapist", name="Dr. Lee"), v=2)
    for ws in (victim, attacker):
        assert (await receive(ws))["peer"]["peer_id"] == wo["peer_id"]
    return (victim, wv["peer_id"]), (attacker, wa["peer_id"]), (other, wo["peer_id"])


async def burst(ws: Ws, frames: Callable[[int], str | bytes], count: int = ATTACK) -> None:
    """Send `count` frames as fast as the socket takes them, reading nothing."""
    for n in range(count):
        frame = frames(n)
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)


async def until_pong(ws: Ws) -> list[dict[str, Any]]:
    """Ping until a pong comes back (a ping over the rate is dropped: the bucket refills in
    well under a second); what came before the pong, in order."""
    before: list[dict[str, Any]] = []
    async with asyncio.timeout(HANG_GUARD_S):
        while True:
            await ws.send_json({"type": "ping"})
            try:
                while True:
                    async with asyncio.timeout(0.2):
                        message = await receive(ws, skip_pongs=False)
                    if message["type"] == "pong":
                        return before
                    before.append(message)
            except TimeoutError:
                continue  # that ping was over the rate: another one


async def a_valid_join_gets_in(server: Harness, others: list[Ws]) -> None:
    """A newcomer joins and leaves: its welcome lists the room, `others` hear of both."""
    newcomer, welcome = await server.join(token(role="oncall", name="Dr. Ng"), v=2)
    assert len(welcome["peers"]) == 3
    for ws in others:
        async with asyncio.timeout(HANG_GUARD_S):  # past what the attacker got through
            while (message := await receive(ws))["type"] != "peer_joined":
                pass
        assert message["peer"]["peer_id"] == welcome["peer_id"]
    await leave(newcomer)
    for ws in others:
        async with asyncio.timeout(HANG_GUARD_S):
            while (message := await receive(ws))["type"] != "peer_left":
                pass
        assert message == {"type": "peer_left", "peer_id": welcome["peer_id"], "reason": "left"}


async def join_when_allowed(ws: Ws, tok: str) -> dict[str, Any]:
    """Join on `ws` after a flood of its own: a join over the rate is dropped, so try again."""
    async with asyncio.timeout(HANG_GUARD_S):
        while True:
            await ws.send_json({"type": "join", "v": 2, "token": tok})
            try:
                while True:
                    async with asyncio.timeout(0.2):
                        message = await receive(ws)
                    if message["type"] == "welcome":
                        return message
                    assert message["type"] == "error" and message["code"] == "rate_limited"
            except TimeoutError:
                continue


async def during(attack: Awaitable[None], *checks: Awaitable[Any]) -> None:
    """Run the checks while the attack runs (the attack starts first)."""
    attacking = asyncio.ensure_future(attack)
    await asyncio.sleep(0)  # let the burst begin: ordering, not timing
    await asyncio.gather(*checks)
    await attacking


def no_trace_of(caplog: pytest.LogCaptureFixture, *private: str) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
    for text in (*private, "127.0.0.1"):
        assert text not in caplog.text


# --- class 2: one participant's burst drops no one else ----------------------------------------


def reading(ws: Ws, last: Callable[[dict[str, Any]], bool]) -> asyncio.Future[Messages]:
    """Read `ws` in the background, as a client that keeps up does, up to the message that
    `last` picks: every message up to it."""

    async def read() -> Messages:
        got: Messages = []
        async with asyncio.timeout(HANG_GUARD_S):
            while not got or not last(got[-1]):
                got.append(await receive(ws))
        return got

    return asyncio.ensure_future(read())


async def test_a_burst_at_one_member_does_not_drop_it(
    server: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    (victim, victim_id), (attacker, _), (other, other_id) = await room(server)
    victim_reads = reading(victim, lambda m: m.get("id") == "from the therapist")

    def chat(n: int) -> str:
        return json.dumps({"type": "chat", "to": victim_id, "id": str(n), "text": "secret words"})

    await during(burst(attacker, chat), a_valid_join_gets_in(server, [other]))
    # The attacker heard that it went too fast, and only that; it is still connected.
    refused = await until_pong(attacker)
    assert {m["code"] for m in refused if m["type"] == "error"} == {"rate_limited"}
    assert all(m["fatal"] is False for m in refused if m["type"] == "error")
    # The victim kept its place: what the therapist says still reaches it, after one burst's
    # worth of the attacker's (the rest was refused at the door), and nobody heard it leave.
    chat_from_other = {"type": "chat", "to": victim_id, "id": "from the therapist", "text": "hi"}
    await other.send_json(chat_from_other)
    got = await victim_reads
    assert got[-1]["from"] == other_id
    chats = [m for m in got[:-1] if m["type"] == "chat"]
    assert MESSAGE_BURST - 1 <= len(chats) < ATTACK // 4  # its join took one of the burst
    assert [m["type"] for m in got if m["type"] != "chat"] == ["peer_joined", "peer_left"]
    await nothing_queued(other)  # no peer_reconnecting, no peer_left for the victim
    no_trace_of(caplog, "secret words", "Sam", "Alex")
    for ws in (victim, attacker, other):
        await ws.close()


async def test_bursts_from_two_members_at_once_are_each_limited(server: Harness) -> None:
    (victim, victim_id), (attacker, attacker_id), (other, other_id) = await room(server)
    victim_reads = reading(victim, lambda m: m["type"] == "restart")

    def offer(n: int) -> str:
        return json.dumps({"type": "offer", "to": victim_id, "sdp": f"v=0 {n} " + "x" * 500})

    await during(burst(attacker, offer), burst(other, offer))
    for ws in (attacker, other):
        errors = [m for m in await until_pong(ws) if m["type"] == "error"]
        assert errors and {m["code"] for m in errors} == {"rate_limited"}
    await attacker.send_json({"type": "restart", "to": victim_id})  # heard again
    froms = [m["from"] for m in await victim_reads]
    assert froms[-1] == attacker_id
    for sender in (attacker_id, other_id):
        assert MESSAGE_BURST - 1 <= froms.count(sender) < ATTACK // 4
    for ws in (victim, attacker, other):
        await ws.close()


async def test_a_burst_of_bad_messages_costs_the_sender_only_words(server: Harness) -> None:
    """Before: every bad message queued an error for the sender, and the sender (reading) was
    dropped as not reading. Now the first ones get `bad_message`, the rest `rate_limited`."""
    (victim, victim_id), (attacker, attacker_id), _ = await room(server)
    await during(burst(attacker, lambda n: "{not json"), nothing_queued(victim))
    errors = [m for m in await until_pong(attacker) if m["type"] == "error"]
    codes = [m["code"] for m in errors]
    full_bucket = MESSAGE_BURST - 1  # its join took one
    assert codes[:full_bucket] == ["bad_message"] * full_bucket
    assert set(codes) == {"bad_message", "rate_limited"} and len(codes) < ATTACK // 4
    # Still in the room, and heard.
    await attacker.send_json({"type": "restart", "to": victim_id})
    assert await receive(victim) == {"type": "restart", "from": attacker_id}
    await victim.close()
    await attacker.close()


async def test_a_flood_before_join_does_not_stop_a_join(server: Harness) -> None:
    flooder = await server.connect()
    await during(
        burst(flooder, lambda n: json.dumps({"type": "ping"})),
        server.join(token(name="Sam"), v=2),  # someone else's join goes through meanwhile
    )
    await until_pong(flooder)
    welcome = await join_when_allowed(flooder, token(name="Alex"))
    assert len(welcome["peers"]) == 1
    await flooder.close()


# --- class 4: deep nesting and other malformed frames are bad_message, never a traceback ------


NESTED_INSIDE = '{"type":"offer","to":"x","sdp":"v=0","extra":' + "[" * DEEP + "]" * DEEP + "}"
MALFORMED: list[str | bytes] = [
    "[" * DEEP,
    "{" * DEEP,
    '{"a":' * (DEEP // 2),
    NESTED_INSIDE,
    '{"type":"ping","n":NaN}',
    '{"type":"ping","n":-Infinity}',
    '{"type":"ping","n":1e999}',
    '{"type":"ping","n":' + "1" * 5000 + "}",
    '{"type":"chat","to":"x","id":"1","text":"\\ud800"}',
    '{"type":"' + "t" * 60_000 + '"}',
    '{"type":null}',
    '"just a string"',
    "",
    " ",
    "\x00",
    b"\xff\xfe",
    b"[" * 1000,
]


@pytest.mark.parametrize("joined", [False, True], ids=["before_join", "joined"])
async def test_every_malformed_frame_is_refused_in_words(
    server: Harness, caplog: pytest.LogCaptureFixture, joined: bool
) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    caplog.set_level(logging.INFO, logger="aiohttp")
    (victim, victim_id), (attacker, attacker_id), _ = await room(server)
    ws = attacker if joined else await server.connect()
    for frame in MALFORMED:
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)
        message = await receive(ws)
        assert message["type"] == "error" and message["fatal"] is False, message
        expected = {"bad_message", "unknown_type", "not_joined", "unknown_peer"}
        assert message["code"] in expected, (frame[:40], message)
    await nothing_queued(ws)  # the same connection still works
    if joined:
        await attacker.send_json({"type": "restart", "to": victim_id})
        assert await receive(victim) == {"type": "restart", "from": attacker_id}
    await a_valid_join_gets_in(server, [victim])
    no_trace_of(caplog, "Sam", "Alex")
    for each in {victim, attacker, ws}:
        await each.close()


async def test_nested_json_while_a_member_is_called(server: Harness) -> None:
    """A nested frame costs the server a linear scan, not a recursion: a burst of them (at the
    rate limit) leaves the room working."""
    (victim, victim_id), (attacker, _), (other, other_id) = await room(server)
    await during(
        burst(attacker, lambda n: NESTED_INSIDE, count=100),
        nothing_queued(victim),
        a_valid_join_gets_in(server, [victim, other]),
    )
    codes = {m["code"] for m in await until_pong(attacker) if m["type"] == "error"}
    assert codes <= {"bad_message", "rate_limited"} and "bad_message" in codes
    await other.send_json({"type": "restart", "to": victim_id})
    async with asyncio.timeout(HANG_GUARD_S):
        while (message := await receive(victim))["type"] != "restart":
            pass
    assert message["from"] == other_id
    for ws in (victim, attacker, other):
        await ws.close()


async def test_forged_tokens_are_still_refused_under_a_flood(server: Harness) -> None:
    """What held before holds: a forged token is refused (fatal), a burst or not."""
    (victim, _), (attacker, _), (other, _) = await room(server)
    forged = token(name="Sam").rsplit(".", 1)[0] + ".AAAA"
    await during(
        burst(attacker, lambda n: '{"type":"ping"}'),
        server.refused(forged, "token_invalid"),
        nothing_queued(victim),
    )
    await until_pong(attacker)
    await nothing_queued(other)  # nobody joined, nobody left
    for ws in (victim, attacker, other):
        await ws.close()


async def test_a_nested_frame_alone_is_a_non_fatal_bad_message(server: Harness) -> None:
    ws = await server.connect()
    await ws.send_str("[" * DEEP)
    await expect_error(ws, "bad_message", fatal=False)
    await nothing_queued(ws)
    await ws.close()
