"""`/emergency/ws` refuses what it must, in words and never with a traceback, and lets each
side do only its own part (docs/emergency.md, "Errors")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from aiohttp import WSMsgType

from app.server.emergency.messages import MAX_CLIENT_MESSAGE_BYTES
from app.server.emergency.ws import BURST
from app.server.tokens import mint_token
from tests.integration.emergency_helpers import (
    HANG_GUARD_S,
    SECRET,
    Server,
    config,
    oncall,
    partner,
    records_of,
    serving,
    wait_for_record,
)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async for harness in serving(config()):
        yield harness


async def refused(server: Server, hello: dict[str, object], code: str) -> None:
    client = await server.connect()
    await client.send(**hello)
    error = await client.error(code)
    assert error["fatal"]
    await client.closed()


# Tokens are minted when the test runs, not when it is collected: a long suite would see them
# expire first.
@pytest.mark.parametrize(
    ("version", "token", "side", "code"),
    [
        (1, lambda: "not-a-token", "couple", "token_invalid"),
        (1, lambda: mint_token("other-secret", "r", "partner", "A", 60), "couple", "token_invalid"),
        (2, partner, "couple", "version_unsupported"),
        (1, oncall, "couple", "token_wrong_role"),
        (1, partner, "oncall", "token_wrong_role"),
        (1, lambda: oncall(room="couple-one"), "oncall", "token_wrong_room"),
        (1, lambda: partner(room="oncall"), "couple", "token_wrong_room"),
        (1, lambda: partner(room="emergency-abc"), "couple", "token_wrong_room"),
        (
            1,
            lambda: mint_token(SECRET, "couple-one", "therapist", "T", 60),
            "couple",
            "token_wrong_role",
        ),
    ],
)
async def test_a_hello_with_the_wrong_token_is_refused_and_closed(
    server: Server, version: int, token: Callable[[], str], side: str, code: str
) -> None:
    hello = {"type": "hello", "v": version, "token": token(), "as": side}
    await refused(server, hello, code)


async def test_an_expired_token_is_refused(server: Server) -> None:
    old = mint_token(SECRET, "couple-one", "partner", "Alex", 60, now=time.time() - 3600)
    await refused(server, {"type": "hello", "v": 1, "token": old, "as": "couple"}, "token_expired")


async def test_no_hello_in_time_is_a_join_timeout() -> None:
    async for server in serving(replace(config(), join_timeout_s=0.2)):
        client = await server.connect()
        await client.send(type="ping")
        assert (await client.receive())["type"] == "pong"  # ping is answered before hello
        assert (await client.error("join_timeout"))["fatal"]
        await client.closed()


async def test_bad_input_gets_a_non_fatal_error_and_the_connection_goes_on(
    server: Server,
) -> None:
    client = await server.connect()
    await client.send(type="emergency")
    assert not (await client.error("bad_message"))["fatal"]  # hello first
    await client.ws.send_str("not json")
    await client.error("bad_message")
    await client.ws.send_bytes(b"\x00\x01")
    await client.error("bad_message")
    await client.ws.send_str('{"type": "ping", "pad": "' + "x" * MAX_CLIENT_MESSAGE_BYTES + '"}')
    await client.error("too_large")
    await client.send(type="hello", v=1, token=partner(), **{"as": "couple"})
    assert (await client.next("hello_ok"))["as"] == "couple"
    await client.send(type="hello", v=1, token=partner(), **{"as": "couple"})
    await client.error("bad_message")
    await client.send(type="accept", case_id="abc")
    await client.error("bad_message")  # a couple does not accept cases
    await client.send(type="dance")
    await client.error("bad_message")
    await client.send(type="cancel", case_id="no-such-case")
    await client.error("unknown_case")
    await client.send(type="ping")
    assert (await client.next("pong")) == {"type": "pong"}


async def test_a_clinician_may_only_do_a_clinicians_part(server: Server) -> None:
    lee, hello_ok = await server.hello(oncall("Dr Lee"), "oncall")
    assert (hello_ok["name"], hello_ok["tier"], hello_ok["available"], hello_ok["cases"]) == (
        "Dr Lee",
        1,
        False,
        [],
    )
    await lee.send(type="emergency")
    await lee.error("bad_message")
    alex = await server.couple()
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    await lee.send(type="accept", case_id=case_id)
    await lee.error("unknown_case")  # away, so never rung for it
    await lee.send(type="availability", available=True)
    await lee.next("availability", available=True)
    await lee.next("ring", case_id=case_id)  # rung at once on becoming available
    await lee.send(type="availability", available=False)
    await lee.next("availability", available=False)
    await lee.send(type="accept", case_id=case_id)
    await lee.error("not_available")
    await lee.send(type="end", case_id=case_id, outcome="safe")
    await lee.error("unknown_case")  # not held by this clinician


async def test_end_checks_the_follow_up_and_connected_is_recorded_once(server: Server) -> None:
    lee = await server.clinician()
    alex = await server.couple()
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    await lee.next("ring")
    await lee.send(type="accept", case_id=case_id)
    await lee.next("accepted")
    await alex.send(type="connected", case_id=case_id)
    await lee.send(type="connected", case_id=case_id)
    await wait_for_record(server, case_id, "connected")
    await lee.send(type="end", case_id=case_id, outcome="safe", follow_up_due=time.time() - 5)
    await lee.error("bad_message")
    due = time.time() + 3 * 24 * 3600
    await lee.send(type="end", case_id=case_id, outcome="safe", follow_up_due=due, note="ok")
    ended = await lee.next("ended")
    assert ended["follow_up_due"] == due
    kinds = [r.kind for r in await records_of(server, case_id)]
    assert kinds.count("connected") == 1
    other = await server.couple("couple-two", "Kim")
    await other.send(type="connected", case_id=case_id)
    await other.error("unknown_case")


async def test_a_clinician_coming_back_gets_the_case_it_holds_and_its_ticket(
    server: Server,
) -> None:
    standing = oncall("Dr Lee")
    lee, _ = await server.hello(standing, "oncall")
    await lee.send(type="availability", available=True)
    alex = await server.couple()
    await alex.send(type="emergency")
    case_id = (await lee.next("ring"))["case_id"]
    await lee.send(type="accept", case_id=case_id)
    first = await lee.next("accepted")
    await lee.close()
    again, hello_ok = await server.hello(standing, "oncall")
    assert [card["case_id"] for card in hello_ok["cases"]] == [case_id]
    assert hello_ok["cases"][0]["state"] == "accepted"
    back = await again.next("accepted")
    assert back["ticket"]["room"] == first["ticket"]["room"]


async def test_a_flood_of_messages_is_rate_limited(server: Server) -> None:
    client = await server.couple()
    for _ in range(BURST + 50):
        await client.send(type="ping")
    kinds: list[str] = []
    while len(kinds) < BURST + 50:
        kinds.append((await client.receive())["type"])
    assert "error" in kinds
    assert all(msg["code"] == "rate_limited" for msg in client.seen if msg["type"] == "error")


async def test_a_frame_too_large_to_read_closes_the_connection(server: Server) -> None:
    client = await server.couple()
    await client.ws.send_str("x" * (1024 * 1024))
    msg = await asyncio.wait_for(client.ws.receive(), HANG_GUARD_S)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)


async def test_a_silent_clinician_is_dropped_and_counts_as_away() -> None:
    async for server in serving(replace(config(), heartbeat_s=0.3)):
        lee = await server.clinician("Dr Lee")  # then sends nothing: no pings
        await lee.closed()
        alex = await server.couple()
        await alex.send(type="emergency")
        assert (await alex.next("ringing"))["count"] == 0
