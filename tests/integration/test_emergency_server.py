"""Emergency connect end to end: the real server on loopback, raw WebSockets (docs/emergency.md).

Nothing here sleeps to synchronise: every step awaits the message that proves it happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.server.tokens import verify_token
from tests.integration import signaling_helpers as sig
from tests.integration.emergency_helpers import (
    SECRET,
    Server,
    config,
    oncall,
    partner,
    serving,
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
