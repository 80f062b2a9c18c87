"""Signaling version 2 end to end: the grace period, resume, held relays, restart and chat, and
v1 clients in the same rooms (docs/protocol.md). Real aiohttp servers, real WebSockets.

Every step awaits the message that proves it happened; a short `grace_s` is used only where the
grace must run out, and then the test waits for the `peer_left` it causes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator

import pytest

from app.server.config import ServerConfig
from app.server.rooms import peer_id_for
from app.server.seats import HELD_SHARE
from tests.integration.signaling_helpers import (
    SECRET,
    Harness,
    Ws,
    expect_closed,
    expect_error,
    leave,
    nothing_queued,
    receive,
    serving,
    token,
)

LONG_GRACE_S = 30.0  # never runs out within a test: only a resume or a leave ends it
SHORT_GRACE_S = 0.3


@pytest.fixture
async def server() -> AsyncIterator[Harness]:
    async for harness in serving(ServerConfig(secret=SECRET, heartbeat_s=30.0)):
        yield harness


def jti_of(tok: str) -> str:
    body = tok.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    jti: str = payload["jti"]
    return jti


def drop(ws: Ws) -> None:
    """Lose the socket as a dead network does: no close frame, the TCP connection reset."""
    connection = ws._conn
    assert connection is not None and connection.transport is not None
    connection.transport.abort()


async def room_of_three(server: Harness) -> tuple[tuple[Ws, str, str], Ws, str, Ws, str]:
    """Sam (v2, on the device "sams-laptop"), Alex (v2) and Dr. Lee (v1, like the clinicians'
    console), all introduced."""
    tok_a = token(name="Sam")
    a, wa = await server.join(tok_a, v=2, device="sams-laptop")
    b, wb = await server.join(token(name="Alex"), v=2)
    assert (await receive(a))["type"] == "peer_joined"
    t, wt = await server.join(token(role="therapist", name="Dr. Lee"), v=1)
    for ws in (a, b):
        assert (await receive(ws))["peer"] == {
            "peer_id": wt["peer_id"],
            "name": "Dr. Lee",
            "role": "therapist",
            "v": 1,
        }
    return (a, wa["peer_id"], tok_a), b, wb["peer_id"], t, wt["peer_id"]


async def test_v2_welcome_and_versions_of_peers(server: Harness) -> None:
    a, wa = await server.join(token(name="Sam"), v=2)
    assert (wa["resumed"], wa["grace_s"], wa["peers"]) == (False, 30.0, [])
    t, wt = await server.join(token(role="therapist", name="Dr"), v=1)
    assert "resumed" not in wt and wt["peers"][0]["v"] == 2
    assert (await receive(a))["peer"]["v"] == 1
    await leave(a)
    assert (await receive(t))["reason"] == "left"  # a leave needs no grace, v2 or not
    await t.close()


async def test_grace_then_resume(server: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    (a, a_id, tok_a), b, b_id, t, t_id = await room_of_three(server)
    await a.close()  # closed without `leave`: Sam keeps the place
    assert await receive(b) == {"type": "peer_reconnecting", "peer_id": a_id}
    await server.refused(token(name="Third partner"), "room_full")
    # Relays for Sam wait for the return, in order; the sender hears no error.
    await b.send_json({"type": "offer", "to": a_id, "sdp": "offer-during-grace"})
    await b.send_json({"type": "restart", "to": a_id})
    await b.send_json({"type": "chat", "to": a_id, "id": "m1", "text": "Are you there, love?"})
    await nothing_queued(b)

    a2, welcome = await server.join(tok_a, v=2, resume=True)
    assert (welcome["peer_id"], welcome["resumed"]) == (a_id, True)
    assert [(p["peer_id"], p["v"]) for p in welcome["peers"]] == [(b_id, 2), (t_id, 1)]
    assert await receive(a2) == {"type": "offer", "from": b_id, "sdp": "offer-during-grace"}
    assert await receive(a2) == {"type": "restart", "from": b_id}
    chat = {"type": "chat", "from": b_id, "id": "m1", "text": "Are you there, love?"}
    assert await receive(a2) == chat
    await nothing_queued(a2)
    assert await receive(b) == {"type": "peer_resumed", "peer_id": a_id}
    await nothing_queued(b)
    await nothing_queued(t)  # v1: no peer_reconnecting, no peer_left, no peer_joined
    # Sam is whole again: relays go straight through.
    await a2.send_json({"type": "chat_ack", "to": b_id, "id": "m1"})
    assert await receive(b) == {"type": "chat_ack", "from": a_id, "id": "m1"}
    for ws in (a2, b, t):
        await ws.close()
    for private in (tok_a, jti_of(tok_a), "Sam", "Alex", "Lee", "Are you there", "room-one"):
        assert private not in caplog.text


async def test_the_grace_runs_out_as_a_timeout() -> None:
    config = ServerConfig(secret=SECRET, heartbeat_s=30.0, grace_s=SHORT_GRACE_S)
    async for server in serving(config):
        (a, a_id, tok_a), b, b_id, t, _ = await room_of_three(server)
        await a.close()
        assert await receive(b) == {"type": "peer_reconnecting", "peer_id": a_id}
        left = {"type": "peer_left", "peer_id": a_id, "reason": "timeout"}
        assert await receive(b) == left
        assert await receive(t) == left  # the v1 member's first news of it
        # Too late to resume: the same token joins afresh, under the same peer_id.
        a2, welcome = await server.join(tok_a, v=2, resume=True)
        assert (welcome["peer_id"], welcome["resumed"]) == (a_id, False)
        for ws in (b, t):
            assert (await receive(ws))["type"] == "peer_joined"
        for ws in (a2, b, t):
            await ws.close()


async def test_a_socket_lost_without_a_close_goes_into_grace(server: Harness) -> None:
    (a, a_id, tok_a), b, _, t, _ = await room_of_three(server)
    drop(a)
    assert await receive(b) == {"type": "peer_reconnecting", "peer_id": a_id}
    a2, welcome = await server.join(tok_a, v=2, resume=True)
    assert welcome["resumed"] is True
    assert await receive(b) == {"type": "peer_resumed", "peer_id": a_id}
    await nothing_queued(t)
    for ws in (a2, b, t):
        await ws.close()


async def test_a_silent_socket_goes_into_grace() -> None:
    heartbeat = 0.1
    async for server in serving(ServerConfig(secret=SECRET, heartbeat_s=heartbeat)):
        tok_a = token(name="Sam")
        silent, wa = await server.join(tok_a, v=2)
        alive, _ = await server.join(token(name="Alex"), v=2)

        async def keep_pinging(ws: Ws) -> None:
            while True:
                await ws.send_json({"type": "ping"})
                await asyncio.sleep(heartbeat / 2)  # the client's own pace, not a sync point

        pinger = asyncio.create_task(keep_pinging(alive))
        try:
            assert (await receive(silent))["type"] == "peer_joined"
            assert await receive(alive) == {"type": "peer_reconnecting", "peer_id": wa["peer_id"]}
            await expect_closed(silent)
            back, welcome = await server.join(tok_a, v=2, resume=True)
            assert welcome["resumed"] is True
            assert await receive(alive) == {"type": "peer_resumed", "peer_id": wa["peer_id"]}
        finally:
            pinger.cancel()
        await back.close()
        await alive.close()


async def test_resume_while_the_old_socket_still_looks_alive(server: Harness) -> None:
    (a, a_id, tok_a), b, _, t, _ = await room_of_three(server)
    a2, welcome = await server.join(tok_a, v=2, resume=True, device="sams-laptop")
    assert (welcome["peer_id"], welcome["resumed"]) == (a_id, True)
    await expect_error(a, "replaced", fatal=True)
    assert await receive(b) == {"type": "peer_resumed", "peer_id": a_id}
    await nothing_queued(t)
    # The replaced socket's end is no grace period for the member: its leave is the next news.
    await leave(a2)
    left = {"type": "peer_left", "peer_id": a_id, "reason": "left"}
    assert await receive(b) == left
    assert await receive(t) == left
    await b.close()
    await t.close()


async def test_a_v1_member_in_grace(server: Harness) -> None:
    """The console (v1) reconnecting: v2 members hear of it, v1 ones do not."""
    (a, a_id, _), b, _, t, t_id = await room_of_three(server)
    tok_t2 = token(role="oncall", name="Dr. On Call")
    oncall, _ = await server.join(tok_t2, v=1)
    for ws in (a, b, t):
        assert (await receive(ws))["type"] == "peer_joined"
    await oncall.close()
    for ws in (a, b):
        assert (await receive(ws))["type"] == "peer_reconnecting"
    oncall2, welcome = await server.join(tok_t2, v=1)
    assert "resumed" not in welcome
    assert [p["peer_id"] for p in welcome["peers"]][:1] == [a_id]
    for ws in (a, b):
        assert (await receive(ws))["type"] == "peer_resumed"
    await nothing_queued(t)
    # A v1 member cannot send v2's relays.
    await oncall2.send_json({"type": "restart", "to": t_id})
    await expect_error(oncall2, "unknown_type", fatal=False)
    for ws in (a, b, t, oncall2):
        await ws.close()


async def test_held_relays_are_shared_fairly_between_senders(server: Harness) -> None:
    """One sender's burst for a member in its grace period takes no one else's place: past its
    share the sender is refused (rate_limited), and the others' messages are held as before."""
    (a, a_id, tok_a), b, _, t, t_id = await room_of_three(server)
    await a.close()
    assert (await receive(b))["type"] == "peer_reconnecting"  # t is v1: it hears nothing
    extra = 5
    for i in range(HELD_SHARE + extra):
        await b.send_json({"type": "chat", "to": a_id, "id": str(i), "text": "x"})
    for _ in range(extra):
        await expect_error(b, "rate_limited", fatal=False)
    await nothing_queued(b)
    await t.send_json({"type": "offer", "to": a_id, "sdp": "the therapist's offer"})
    await nothing_queued(t)  # held, not refused
    a2, _ = await server.join(tok_a, v=2, resume=True)
    held = [await receive(a2) for _ in range(HELD_SHARE + 1)]
    assert [m["id"] for m in held[:HELD_SHARE]] == [str(i) for i in range(HELD_SHARE)]
    assert held[-1] == {"type": "offer", "from": t_id, "sdp": "the therapist's offer"}
    await nothing_queued(a2)
    for ws in (a2, b, t):
        await ws.close()


async def test_restart_and_chat_between_v2_members(server: Harness) -> None:
    (a, a_id, _), b, b_id, t, t_id = await room_of_three(server)
    await a.send_json({"type": "restart", "to": b_id})
    assert await receive(b) == {"type": "restart", "from": a_id}
    text = "Ça va ? 🙂 " * 100
    await b.send_json({"type": "chat", "to": a_id, "id": "x" * 64, "text": text})
    assert await receive(a) == {"type": "chat", "from": b_id, "id": "x" * 64, "text": text}
    await a.send_json({"type": "chat", "to": b_id, "id": "x" * 65, "text": "hi"})
    await expect_error(a, "bad_message", fatal=False)
    await a.send_json({"type": "chat", "to": "nobody", "id": "1", "text": "hi"})
    await expect_error(a, "unknown_peer", fatal=False)
    # A v2 member may still write to the console; it ignores what it does not know.
    await a.send_json({"type": "chat", "to": t_id, "id": "1", "text": "hi"})
    assert (await receive(t))["type"] == "chat"
    await nothing_queued(b)
    for ws in (a, b, t):
        await ws.close()


async def test_the_same_peer_id_on_two_servers_sharing_the_secret() -> None:
    """The clinic's backup server knows each participant by the same peer_id."""
    tok = token(name="Sam")
    ids = []
    for _ in range(2):
        async for server in serving(ServerConfig(secret=SECRET)):
            ws, welcome = await server.join(tok, v=2, resume=True)
            assert welcome["resumed"] is False  # a fresh server: the room is rebuilt
            ids.append(welcome["peer_id"])
            await ws.close()
    assert ids[0] == ids[1] == peer_id_for(SECRET, jti_of(tok))
    assert ids[0] != peer_id_for("another-secret", jti_of(tok))
