"""Emergency connect end to end: the real server on loopback, raw WebSockets (docs/emergency.md).

Nothing here sleeps to synchronise: every step awaits the message that proves it happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from app.server.emergency import offline
from app.server.emergency.escalation import Timings
from app.server.tokens import verify_token
from tests.integration import signaling_helpers as sig
from tests.integration.emergency_helpers import (
    FAST,
    SECRET,
    Client,
    Receiver,
    Server,
    config,
    desk_of,
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


async def test_emergency_rings_accept_gives_tickets_and_end_closes(server: Server) -> None:
    lee = await server.clinician("Dr Lee")
    alex = await server.couple(name="Alex")
    sam = await server.couple(name="Sam")
    await alex.send(type="emergency", location="Home, 12 Elm St")
    case = (await alex.next("case"))["case"]
    assert case["state"] == "ringing" and case["level"] == 0 and len(case["case_id"]) == 16
    assert case["location"] == "Home, 12 Elm St"
    ringing = await alex.next("ringing")
    assert (ringing["tier"], ringing["count"]) == (1, 1)
    raised = await sam.next("raised_by")
    assert (raised["case_id"], raised["name"]) == (case["case_id"], "Alex")
    ring = await lee.next("ring")
    assert ring["case_id"] == case["case_id"] and ring["tier"] == 1
    assert ring["ms_since_request"] >= 0
    assert sorted(ring["case"]["couple"]["names"]) == ["Alex", "Sam"]
    assert ring["case"]["plan"] is None

    await lee.send(type="accept", case_id=case["case_id"])
    accepted = await lee.next("accepted")
    assert accepted["case"]["state"] == "accepted" and accepted["case"]["clinician"] == "Dr Lee"
    room = f"emergency-{case['case_id']}"
    assert accepted["ticket"]["room"] == room
    clinician_claims = verify_token(SECRET, accepted["ticket"]["token"])
    assert (clinician_claims.room, clinician_claims.role) == (room, "oncall")
    for partner_ws, name in ((alex, "Alex"), (sam, "Sam")):
        got = await partner_ws.next("accepted")
        assert got["clinician"] == "Dr Lee" and got["ticket"]["room"] == room
        claims = verify_token(SECRET, got["ticket"]["token"])
        assert (claims.role, claims.name) == ("partner", name)
        assert got["ticket"]["server"].startswith("http://127.0.0.1:")

    await lee.send(type="end", case_id=case["case_id"], outcome="safe", note="Calmer now.")
    ended = await lee.next("ended")
    assert (ended["by"], ended["outcome"]) == ("clinician", "safe")
    for partner_ws in (alex, sam):
        final = await partner_ws.next("case")
        assert final["case"]["state"] == "ended" and final["case"]["location"] is None
        assert (await partner_ws.next("ended"))["outcome"] == "safe"


async def test_tickets_join_the_emergency_room_on_ws(server: Server) -> None:
    lee = await server.clinician()
    standing = partner(name="Alex")
    alex, _ = await server.hello(standing, "couple")
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    await lee.next("ring")
    await lee.send(type="accept", case_id=case_id)
    clinician_ticket = (await lee.next("accepted"))["ticket"]
    partner_ticket = (await alex.next("accepted"))["ticket"]
    harness = sig.Harness(server.http)
    a, welcome_a = await harness.join(partner_ticket["token"], v=2)
    b, welcome_b = await harness.join(clinician_ticket["token"], v=2)
    assert welcome_a["room"] == welcome_b["room"] == f"emergency-{case_id}"
    assert welcome_b["peers"][0]["peer_id"] == welcome_a["peer_id"]
    assert welcome_b["role"] == "oncall"
    assert (await sig.receive(a))["type"] == "peer_joined"
    # The same person gets the same peer_id with a re-issued ticket (hello again).
    await sig.leave(a)
    again, _ = await server.hello(standing, "couple")
    ticket_again = (await again.next("accepted"))["ticket"]
    a2, welcome_a2 = await harness.join(ticket_again["token"], v=2)
    assert welcome_a2["peer_id"] == welcome_a["peer_id"]
    await a2.close()
    await b.close()


async def test_an_oncall_roster_token_joins_no_room_on_ws(server: Server) -> None:
    harness = sig.Harness(server.http)
    await harness.refused(oncall("Dr Lee"), "token_wrong_role")


async def test_cancel_closes_a_ringing_case_and_tells_the_clinicians(server: Server) -> None:
    lee = await server.clinician()
    alex = await server.couple()
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    await lee.next("ring")
    await alex.send(type="cancel", case_id=case_id)
    assert (await alex.next("case"))["case"]["state"] == "cancelled"
    ended = await alex.next("ended")
    assert (ended["by"], ended["outcome"]) == ("couple", "cancelled")
    assert (await lee.next("case_cancelled"))["case_id"] == case_id
    await lee.send(type="accept", case_id=case_id)
    await lee.error("unknown_case")


async def test_a_partner_cannot_see_or_cancel_another_couples_case(server: Server) -> None:
    alex = await server.couple("couple-one", "Alex")
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    other, hello_ok = await server.hello(partner("couple-two", "Kim"), "couple")
    assert hello_ok["case"] is None
    await other.send(type="cancel", case_id=case_id)
    await other.error("unknown_case")
    # The case is untouched: a new connection of the first couple still sees it ringing.
    _, again = await server.hello(partner("couple-one", "Sam"), "couple")
    assert again["case"]["case_id"] == case_id and again["case"]["state"] == "ringing"


async def test_two_clinicians_racing_to_accept_exactly_one_wins(server: Server) -> None:
    lee = await server.clinician("Dr Lee")
    kim = await server.clinician("Dr Kim")
    alex = await server.couple()
    await alex.send(type="emergency")
    case_id = (await alex.next("case"))["case"]["case_id"]
    await lee.next("ring", case_id=case_id)
    await kim.next("ring", case_id=case_id)
    await asyncio.gather(
        lee.send(type="accept", case_id=case_id), kim.send(type="accept", case_id=case_id)
    )

    async def outcome(client: Client) -> str:
        while True:
            msg = await client.receive()
            if msg["type"] == "accepted":
                return "won"
            if msg["type"] == "error":
                assert msg["code"] == "case_taken" and not msg["fatal"], msg
                return "lost"

    results = await asyncio.gather(outcome(lee), outcome(kim))
    assert sorted(results) == ["lost", "won"]
    winner, loser = (lee, kim) if results[0] == "won" else (kim, lee)
    winner_name = "Dr Lee" if winner is lee else "Dr Kim"
    taken = [msg for msg in loser.seen if msg["type"] == "case_taken"]
    assert taken == [{"type": "case_taken", "case_id": case_id, "by": winner_name}]
    assert (await alex.next("accepted"))["clinician"] == winner_name
    kinds = [r.kind for r in await records_of(server, case_id)]
    assert kinds.count("accepted") == 1


@pytest.mark.allow_log_warnings("app.server.emergency.webhook")
async def test_nobody_available_escalates_to_unanswered_and_calls_the_webhook() -> None:
    receiver = Receiver()
    async with TestServer(receiver.app) as pager:
        hook = str(pager.make_url("/hook"))
        async for server in serving(config(FAST, webhook_url=hook)):
            alex = await server.couple()
            await alex.send(type="emergency", location="Home")
            case = (await alex.next("case"))["case"]
            assert (await alex.next("ringing"))["count"] == 0
            levels = [(await alex.next("escalated"))["level"] for _ in range(3)]
            assert levels == [1, 2, 3]
            assert (await alex.next("unanswered"))["case_id"] == case["case_id"]
            post = await receiver.next_post()
            assert post["event"] == "unanswered" and post["case_id"] == case["case_id"]
            assert post["requested_at"] == case["requested_at"] and post["waited_s"] >= 0.45
            assert set(post) == {"event", "case_id", "requested_at", "waited_s"}  # no names
            assert "Home" not in json.dumps(post)

            await wait_for_record(server, case["case_id"], "webhook")
            records = await records_of(server, case["case_id"])
            assert [r.kind for r in records] == [
                "requested",
                "escalated",
                "escalated",
                "escalated",
                "unanswered",
                "webhook",
            ]
            assert records[-1].detail == {"status": "http 200"}
            # Still ringing: a clinician who comes now is rung at once and can accept.
            _, hello_ok = await server.hello(partner(name="Sam"), "couple")
            assert hello_ok["case"]["state"] == "unanswered" and hello_ok["case"]["level"] == 3
            park = await server.clinician("Dr Park")
            ring = await park.next("ring", case_id=case["case_id"])
            assert ring["ms_since_request"] >= 450
            await park.send(type="accept", case_id=case["case_id"])
            assert (await alex.next("accepted"))["clinician"] == "Dr Park"


@pytest.mark.allow_log_warnings("app.server.emergency.webhook")
async def test_a_failing_webhook_is_recorded_and_the_case_goes_on() -> None:
    receiver = Receiver(status=503)
    async with TestServer(receiver.app) as pager:
        hook = str(pager.make_url("/hook"))
        async for server in serving(config(FAST, webhook_url=hook)):
            alex = await server.couple()
            await alex.send(type="emergency")
            case_id = (await alex.next("case"))["case"]["case_id"]
            await alex.next("unanswered")
            await receiver.next_post()

            record = await wait_for_record(server, case_id, "webhook")
            assert record.detail == {"status": "http 503"}
            await alex.send(type="cancel", case_id=case_id)
            assert (await alex.next("case"))["case"]["state"] == "cancelled"


async def test_tier_2_is_rung_at_once_when_no_tier_1_is_available_then_at_level_1() -> None:
    # Level 1 after 2 s: time enough for a clinician to sign in before it, even on a busy CI.
    timings = Timings(ring_again_s=2.0, everyone_s=300.0, unanswered_s=600.0)
    async for server in serving(config(timings, backup_tier=("Dr Park",))):
        park = await server.clinician("Dr Park")
        alex = await server.couple()
        await alex.send(type="emergency")
        ringing = await alex.next("ringing")
        assert (ringing["tier"], ringing["count"]) == (2, 1)
        assert (await park.next("ring"))["tier"] == 2
        lee = await server.clinician("Dr Lee")  # tier 1 comes: rung at once
        first_ring = await lee.next("ring")
        assert (first_ring["tier"], first_ring["case"]["level"]) == (1, 0)
        assert (await alex.next("ringing"))["count"] == 2
        assert (await alex.next("escalated"))["level"] == 1
        rings = [await lee.next("ring"), await park.next("ring")]  # rung again at level 1
        assert [r["case"]["level"] for r in rings] == [1, 1]


async def test_a_clinician_holding_a_case_is_not_rung_for_another(server: Server) -> None:
    lee = await server.clinician("Dr Lee")
    alex = await server.couple("couple-one", "Alex")
    await alex.send(type="emergency")
    first = (await lee.next("ring"))["case_id"]
    await lee.send(type="accept", case_id=first)
    await lee.next("accepted")
    kim_couple = await server.couple("couple-two", "Kim")
    await kim_couple.send(type="emergency")
    assert (await kim_couple.next("ringing"))["count"] == 0
    kim = await server.clinician("Dr Kim")
    second = (await kim.next("ring"))["case_id"]
    assert second != first
    await lee.send(type="ping")
    await lee.next("pong")
    assert not [msg for msg in lee.seen if msg["type"] == "ring" and msg["case_id"] == second]


async def test_a_restarted_server_carries_on_with_the_open_case(tmp_path: Path) -> None:
    standing = partner(name="Alex")
    async for first in serving(config(data_dir=tmp_path)):
        alex, _ = await first.hello(standing, "couple")
        await alex.send(type="emergency", location="Cabin by the lake")
        before = (await alex.next("case"))["case"]
    async for second in serving(config(data_dir=tmp_path)):
        alex, hello_ok = await second.hello(standing, "couple")
        after = hello_ok["case"]
        for field in ("case_id", "state", "requested_at", "level", "location"):
            assert after[field] == before[field], field
        lee = await second.clinician("Dr Lee")  # still rings: a clinician coming is rung
        ring = await lee.next("ring", case_id=before["case_id"])
        assert ring["case"]["location"] == "Cabin by the lake"
        assert ring["case"]["couple"]["names"] == ["Alex"]
        await lee.send(type="accept", case_id=before["case_id"])
        await alex.next("accepted")
        await lee.send(type="end", case_id=before["case_id"], outcome="referred")
        await alex.next("ended")
        records = await records_of(second, before["case_id"])
        assert [r.kind for r in records] == ["requested", "rung", "accepted", "ended"]
        assert "Cabin" not in json.dumps([dict(r.detail) for r in records])
        assert await desk_of(second).store.open_cases() == []


async def test_cancel_is_recorded_and_an_accepted_case_tells_the_clinician(
    tmp_path: Path,
) -> None:
    async for server in serving(config(data_dir=tmp_path)):
        lee = await server.clinician()
        alex = await server.couple()
        await alex.send(type="emergency")
        case_id = (await alex.next("case"))["case"]["case_id"]
        await lee.next("ring")
        await lee.send(type="accept", case_id=case_id)
        await alex.next("accepted")
        await alex.send(type="cancel", case_id=case_id)
        assert (await lee.next("couple_cancelled"))["case_id"] == case_id
        assert (await alex.next("case"))["case"]["state"] == "accepted"
        await lee.send(type="end", case_id=case_id, outcome="safe")
        await alex.next("ended")
        cancelled = [r for r in await records_of(server, case_id) if r.kind == "cancelled"]
        assert [dict(r.detail) for r in cancelled] == [{"by": "couple", "accepted": True}]


async def test_a_couple_may_open_three_cases_in_ten_minutes(server: Server) -> None:
    alex = await server.couple()
    for _ in range(3):
        await alex.send(type="emergency")
        case_id = (await alex.next("case"))["case"]["case_id"]
        await alex.send(type="cancel", case_id=case_id)
        await alex.next("ended")
    await alex.send(type="emergency")
    error = await alex.error("rate_limited")
    assert not error["fatal"]
    other = await server.couple("couple-two", "Kim")
    await other.send(type="emergency")
    assert (await other.next("case"))["case"]["state"] == "ringing"


async def test_a_second_request_joins_the_open_case_and_updates_the_location(
    server: Server,
) -> None:
    alex = await server.couple(name="Alex")
    await alex.send(type="emergency")
    first = (await alex.next("case"))["case"]
    sam = await server.couple(name="Sam")
    await sam.send(type="emergency", location="Office")
    joined = (await sam.next("case"))["case"]
    assert joined["case_id"] == first["case_id"] and joined["location"] == "Office"
    assert (await alex.next("case"))["case"]["location"] == "Office"


async def test_a_changed_plan_reaches_the_couple_and_the_accepting_clinician(
    tmp_path: Path,
) -> None:
    async for server in serving(config(data_dir=tmp_path)):
        alex, hello_ok = await server.hello(partner("couple-one", "Alex"), "couple")
        assert hello_ok["plan"] is None
        offline.set_plan(tmp_path, SECRET, "couple-one", "1. Breathe.\n2. Call Jo.")
        pushed = (await alex.next("plan"))["plan"]
        assert pushed["text"] == "1. Breathe.\n2. Call Jo."
        _, again = await server.hello(partner("couple-one", "Sam"), "couple")
        assert again["plan"] == pushed
        lee = await server.clinician()
        await alex.send(type="emergency")
        ring = await lee.next("ring")
        assert ring["case"]["plan"] is None  # only once accepted
        await lee.send(type="accept", case_id=ring["case_id"])
        assert (await lee.next("accepted"))["case"]["plan"] == pushed
        _, other = await server.hello(partner("couple-two", "Kim"), "couple")
        assert other["plan"] is None


async def test_the_logs_name_no_one_and_hold_no_location_token_or_note(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    standing = partner("couple-secret-room", "Alexandra")
    clinician_token = oncall("Dr Leeward")
    with caplog.at_level(logging.DEBUG, logger="app.server"):
        lee, _ = await server.hello(clinician_token, "oncall")
        await lee.send(type="availability", available=True)
        alex, _ = await server.hello(standing, "couple")
        await alex.send(type="emergency", location="Cabin by the lake")
        case_id = (await lee.next("ring"))["case_id"]
        await lee.send(type="accept", case_id=case_id)
        ticket = (await alex.next("accepted"))["ticket"]["token"]
        await lee.send(type="end", case_id=case_id, outcome="other", note="Private words")
        await alex.next("ended")
        await alex.send(type="cancel", case_id=case_id)
        await alex.error("unknown_case")
    text = caplog.text
    assert case_id in text  # the case is named, by its random id
    for private in (
        "couple-secret-room",
        "Alexandra",
        "Leeward",
        "Cabin",
        "Private words",
        standing,
        clinician_token,
        ticket,
    ):
        assert private not in text, private


async def test_a_withdrawn_join_code_raises_no_emergency(tmp_path: Path) -> None:
    """The same rules at the door as /ws: a code the clinic revoked (it leaked) opens nothing."""
    revoked_file = tmp_path / "revoked.txt"
    revoked_file.write_text("")
    standing = partner(name="Alex")
    async for harness in serving(replace(config(), revoked_tokens=revoked_file)):
        await harness.hello(standing, "couple")  # works before the clinic withdraws it
        revoked_file.write_text(verify_token(SECRET, standing).jti + "\n")
        client = await harness.connect()
        await client.send(type="hello", v=1, token=standing, **{"as": "couple"})
        await client.error("token_revoked")
        await client.closed()
