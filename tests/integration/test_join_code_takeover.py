"""A join code used on a second device while its first connection is still there (a leaked
code, or a partner's second laptop): the first is told, the room is told, the log names no one.
A reconnect of the same device, or a return from the grace period, stays seamless.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from app.server.config import ServerConfig
from tests.integration.signaling_helpers import (
    SECRET,
    Harness,
    expect_error,
    nothing_queued,
    receive,
    serving,
    token,
)


@pytest.fixture
async def server() -> AsyncIterator[Harness]:
    async for harness in serving(ServerConfig(secret=SECRET, heartbeat_s=30.0)):
        yield harness


@pytest.mark.allow_log_warnings("app.server.seats")
async def test_a_second_device_takes_the_seat_and_everyone_is_told(
    server: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    leaked = token(name="Sam")
    sam, welcome = await server.join(leaked, v=2, device="sams-laptop")
    therapist, _ = await server.join(token(role="therapist", name="Dr. Lee"), v=2, device="c1")
    console_v1, _ = await server.join(token(role="oncall", name="Dr. Ray"), v=1)
    for ws in (sam, sam, therapist):
        assert (await receive(ws))["type"] == "peer_joined"
    other, welcome2 = await server.join(leaked, v=2, device="someone-elses-phone")
    assert (welcome2["peer_id"], welcome2["resumed"]) == (welcome["peer_id"], True)
    error = await expect_error(sam, "replaced", fatal=True)
    assert "elsewhere" in error["message"]
    peer_id = welcome["peer_id"]
    assert await receive(therapist) == {"type": "peer_resumed", "peer_id": peer_id}
    assert await receive(therapist) == {"type": "peer_replaced", "peer_id": peer_id}
    await nothing_queued(console_v1)  # a v1 member hears nothing new
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    logged = warnings[0].getMessage()
    assert peer_id in logged and "another device" in logged
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for private in (leaked, "Sam", "room-one", "sams-laptop", "someone-elses-phone"):
        assert private not in everything
    for ws in (other, therapist, console_v1):
        await ws.close()


@pytest.mark.allow_log_warnings("app.server.seats")
async def test_a_client_that_names_no_device_is_a_takeover_too(server: Harness) -> None:
    """An older client cannot show it is the same device: the room is told rather than not."""
    tok = token(name="Sam")
    sam, welcome = await server.join(tok, v=2)
    therapist, _ = await server.join(token(role="therapist", name="Dr. Lee"), v=2)
    assert (await receive(sam))["type"] == "peer_joined"
    again, _ = await server.join(tok, v=2, resume=True)
    await expect_error(sam, "replaced", fatal=True)
    assert (await receive(therapist))["type"] == "peer_resumed"
    assert await receive(therapist) == {"type": "peer_replaced", "peer_id": welcome["peer_id"]}
    await again.close()
    await therapist.close()


async def test_the_same_device_reconnecting_is_seamless(server: Harness) -> None:
    tok = token(name="Sam")
    sam, welcome = await server.join(tok, v=2, device="sams-laptop")
    therapist, _ = await server.join(token(role="therapist", name="Dr. Lee"), v=2)
    assert (await receive(sam))["type"] == "peer_joined"
    # Its old socket still looks alive (half open): the new one takes over quietly.
    back, _ = await server.join(tok, v=2, resume=True, device="sams-laptop")
    await expect_error(sam, "replaced", fatal=True)  # the abandoned socket, closed
    assert await receive(therapist) == {"type": "peer_resumed", "peer_id": welcome["peer_id"]}
    await nothing_queued(therapist)
    await back.close()
    await therapist.close()


async def test_another_device_after_the_grace_period_began_is_seamless(server: Harness) -> None:
    """Sam's laptop died and Sam carries on from the phone with the same code: nobody was
    pushed out, so nobody is warned."""
    tok = token(name="Sam")
    sam, welcome = await server.join(tok, v=2, device="sams-laptop")
    therapist, _ = await server.join(token(role="therapist", name="Dr. Lee"), v=2)
    assert (await receive(sam))["type"] == "peer_joined"
    await sam.close()
    assert (await receive(therapist))["type"] == "peer_reconnecting"
    phone, _ = await server.join(tok, v=2, resume=True, device="sams-phone")
    assert await receive(therapist) == {"type": "peer_resumed", "peer_id": welcome["peer_id"]}
    await nothing_queued(therapist)
    await phone.close()
    await therapist.close()


@pytest.mark.parametrize("device", ["", "d" * 65, 7])
async def test_a_bad_device_field_is_a_bad_message(server: Harness, device: object) -> None:
    ws = await server.connect()
    await ws.send_json({"type": "join", "v": 2, "token": token(), "device": device})
    await expect_error(ws, "bad_message", fatal=False)
    await ws.close()
