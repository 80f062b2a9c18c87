"""The couple's and the clinician's emergency clients against the in-memory fake server."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from app.call.retry import RetrySchedule
from app.emergency.couple_client import EmergencyClient
from app.emergency.events import (
    Accepted,
    AvailabilityChanged,
    CaseAccepted,
    CaseCancelled,
    CaseChanged,
    CaseTaken,
    Connected,
    CoupleCancelled,
    Declined,
    Ended,
    Escalated,
    Offline,
    OncallConnected,
    PlanChanged,
    RaisedBy,
    Refused,
    Ring,
    Ringing,
    Unanswered,
)
from app.emergency.oncall_client import OncallClient
from app.emergency.plan_cache import PlanCache
from tests.emergency_fake import FakeEmergencyServer, running, wait_for


def fast() -> dict[str, Any]:
    """Short waits: a retry schedule of its own per client (it counts attempts)."""
    return {
        "offline_after_s": 0.2,
        "hello_timeout_s": 0.5,
        "retry": RetrySchedule((0.0, 0.02), every_s=0.05, give_up_after_s=math.inf),
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def has(self, kind: type) -> Any:
        return lambda: bool(self.of(kind))


def couple(
    server: FakeEmergencyServer, token: str = "alex", **kw: Any
) -> tuple[EmergencyClient, Recorder]:
    events = Recorder()
    client = EmergencyClient(
        "http://fake.invalid",
        token,
        listener=events,
        connect=server.connect,
        connection_options=fast(),
        **kw,
    )
    return client, events


def clinician(server: FakeEmergencyServer, token: str = "lee") -> tuple[OncallClient, Recorder]:
    events = Recorder()
    client = OncallClient(
        "http://fake.invalid",
        token,
        listener=events,
        connect=server.connect,
        connection_options=fast(),
    )
    return client, events


async def test_request_rings_the_available_clinician_who_accepts_and_ends() -> None:
    server = FakeEmergencyServer()
    lee, lee_events = clinician(server)
    alex, alex_events = couple(server)
    async with running(lee), running(alex):
        await wait_for(lee_events.has(OncallConnected))
        await lee.set_available(True)
        await wait_for(lambda: lee.available)
        await wait_for(alex_events.has(Connected))
        assert alex_events.of(Connected)[0].plan.text.startswith("1. Breathe")
        await alex.request("  kitchen  ")
        await wait_for(lee_events.has(Ring))
        ring = lee_events.of(Ring)[0]
        assert ring.card.case.location == "kitchen"
        assert ring.card.couple_names == ("Alex", "Sam")
        await wait_for(alex_events.has(Ringing))
        assert alex.case is not None and alex.case.state == "ringing"
        assert await lee.accept(ring.case_id)
        await wait_for(alex_events.has(Accepted))
        accepted = alex_events.of(Accepted)[0]
        assert accepted.clinician == "Dr Lee"
        assert accepted.ticket.room == f"emergency-{ring.case_id}"
        assert "ticket-partner" not in repr(accepted)  # the token stays out of logs
        await wait_for(lee_events.has(CaseAccepted))
        assert lee.held is not None and lee.held.plan is not None
        assert await lee.end(ring.case_id, "safe")
        await wait_for(alex_events.has(Ended))
        assert alex_events.of(Ended)[0] == Ended(ring.case_id, "clinician", "safe")
        await wait_for(lambda: lee.held is None)


async def test_a_request_made_offline_is_sent_once_the_server_is_back() -> None:
    server = FakeEmergencyServer()
    server.reachable = False
    alex, events = couple(server)
    async with running(alex):
        await alex.request(None)
        await wait_for(events.has(Offline))
        assert events.of(Offline)[0].reason == "unreachable"
        server.reachable = True
        await wait_for(lambda: server.open_case() is not None)
        await wait_for(events.has(CaseChanged))
        emergencies = [m for m in server.received if m["type"] == "emergency"]
        assert emergencies == [{"type": "emergency"}]


async def test_a_hanging_server_is_offline_within_the_deadline_while_trying_on() -> None:
    server = FakeEmergencyServer()
    server.hang = True
    alex, events = couple(server)
    async with running(alex):
        await wait_for(events.has(Offline), timeout=2.0)
        assert events.of(Offline)[0] == Offline("timeout", 0.0)
        assert not alex.connected


async def test_a_silent_connection_after_a_request_is_taken_for_dead() -> None:
    server = FakeEmergencyServer()
    server.heartbeat_s = 60.0  # silence alone would be noticed after 3 minutes
    alex, events = couple(server)
    async with running(alex):
        await wait_for(events.has(Connected))
        server.mute = True
        await alex.request(None)  # the answer is due within offline_after_s (0.2 s here)
        await wait_for(events.has(Offline), timeout=10.0)
        assert events.of(Offline)[0].reason == "timeout"
        server.mute = False
        await wait_for(lambda: server.open_case() is not None and len(events.of(Connected)) == 2)


@pytest.mark.allow_log_warnings("app.emergency.connection")
async def test_a_bad_token_is_refused_and_the_client_stops() -> None:
    server = FakeEmergencyServer()
    alex, events = couple(server, token="nobody")
    await alex.run()  # returns by itself
    assert events.of(Refused) == [Refused("token_invalid", "Not a valid code.")]
    assert alex.refused is not None and server.connects == 1


async def test_the_other_partner_hears_who_raised_it_and_joins_the_same_case() -> None:
    server = FakeEmergencyServer()
    alex, alex_events = couple(server, "alex")
    sam, sam_events = couple(server, "sam")
    async with running(alex), running(sam):
        await wait_for(lambda: alex.connected and sam.connected)
        await alex.request("home")
        await wait_for(sam_events.has(RaisedBy))
        assert sam_events.of(RaisedBy)[0].name == "Alex"
        await sam.request(None)
        await wait_for(lambda: sam.case is not None)
        assert alex.case is not None and sam.case is not None
        assert sam.case.case_id == alex.case.case_id and len(server.cases) == 1


async def test_escalation_and_unanswered_reach_the_couple() -> None:
    server = FakeEmergencyServer()
    alex, events = couple(server)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        await alex.request(None)
        await wait_for(events.has(CaseChanged))
        server.escalate(1)
        server.escalate(2)
        server.escalate(3)
        await wait_for(events.has(Unanswered))
        assert [e.level for e in events.of(Escalated)] == [1, 2, 3]
        assert alex.case is not None and alex.case.state == "unanswered" and alex.case.open


async def test_cancel_ends_a_ringing_case_and_tells_the_rung_clinician() -> None:
    server = FakeEmergencyServer()
    lee, lee_events = clinician(server)
    alex, events = couple(server)
    async with running(lee), running(alex):
        await wait_for(lambda: lee.connected and alex.connected)
        await lee.set_available(True)
        await wait_for(lambda: lee.available)
        await alex.request(None)
        await wait_for(lee_events.has(Ring))
        await alex.cancel()
        await wait_for(lee_events.has(CaseCancelled))
        await wait_for(events.has(Ended))
        assert alex.case is not None and not alex.case.open
        await alex.cancel()  # nothing open: nothing sent
        assert [m["type"] for m in server.received].count("cancel") == 1


async def test_cancel_on_an_accepted_case_is_told_to_the_clinician() -> None:
    server = FakeEmergencyServer()
    lee, lee_events = clinician(server)
    alex, events = couple(server)
    async with running(lee), running(alex):
        await wait_for(lambda: lee.connected and alex.connected)
        await lee.set_available(True)
        await wait_for(lambda: lee.available)
        await alex.request(None)
        await wait_for(lee_events.has(Ring))
        await lee.accept(lee_events.of(Ring)[0].case_id)
        await wait_for(events.has(Accepted))
        await alex.cancel()
        await wait_for(lee_events.has(CoupleCancelled))


async def test_two_clinicians_race_one_accepts_the_other_hears_taken() -> None:
    server = FakeEmergencyServer()
    lee, lee_events = clinician(server, "lee")
    kim_server_token = "kim"
    from tests.emergency_fake import Identity

    server.tokens[kim_server_token] = Identity("oncall", "Dr Kim", room="oncall")
    kim, kim_events = clinician(server, kim_server_token)
    alex, _ = couple(server)
    async with running(lee), running(kim), running(alex):
        await wait_for(lambda: lee.connected and kim.connected and alex.connected)
        await lee.set_available(True)
        await kim.set_available(True)
        await wait_for(lambda: lee.available and kim.available)
        await alex.request(None)
        await wait_for(lambda: bool(lee_events.of(Ring) and kim_events.of(Ring)))
        case_id = lee_events.of(Ring)[0].case_id
        await lee.accept(case_id)
        await wait_for(kim_events.has(CaseTaken))
        assert kim_events.of(CaseTaken)[0] == CaseTaken(case_id, "Dr Lee")
        await kim.accept(case_id)  # too late: the server's error names no case
        await wait_for(lambda: len(kim_events.of(CaseTaken)) == 2)
        assert kim_events.of(CaseTaken)[1] == CaseTaken(case_id, None)


async def test_availability_is_asked_again_after_a_reconnection() -> None:
    server = FakeEmergencyServer()
    lee, events = clinician(server)
    async with running(lee):
        await wait_for(lambda: lee.connected)
        await lee.set_available(True)
        await wait_for(lambda: lee.available)
        await server.drop_all()
        await wait_for(events.has(Offline))
        await wait_for(lambda: len(events.of(OncallConnected)) == 2 and lee.available)
        assert [e.available for e in events.of(AvailabilityChanged)] == [True, True]


@pytest.mark.allow_log_warnings("app.emergency.couple_client", "app.emergency.connection")
async def test_malformed_server_messages_are_ignored_and_the_connection_goes_on() -> None:
    server = FakeEmergencyServer()
    alex, events = couple(server)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        server.push_raw("not json")
        server.push_raw(json.dumps({"type": "case", "case": {"case_id": "x"}}))
        server.push_raw(json.dumps({"type": "ringing", "case_id": "a b", "tier": 1, "count": 1}))
        server.push_raw(json.dumps({"type": "something_new"}))
        server.push_raw(json.dumps({"type": "error", "code": "rate_limited", "message": "Wait."}))
        server.push_raw(json.dumps({"type": "plan", "plan": {"text": "x", "updated_at": 2.0}}))
        await wait_for(events.has(PlanChanged))
        assert events.of(Declined) == [Declined("rate_limited", "Wait.")]
        assert not events.of(CaseChanged) and not events.of(Ringing)
        assert alex.connected


async def test_the_plan_is_kept_on_this_computer_and_forgotten_when_removed(tmp_path: Any) -> None:
    server = FakeEmergencyServer()
    cache = PlanCache(tmp_path / "plan.json")
    alex, events = couple(server, plan_cache=cache)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        cached = cache.load()
        assert cached is not None and cached.text.startswith("1. Breathe")
        server.push_couples({"type": "plan", "plan": {"text": "new", "updated_at": 5.0}})
        await wait_for(lambda: (cache.load() or cached).text == "new")
    server.plan = None
    alex, events = couple(server, plan_cache=cache)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        assert cache.load() is None


async def test_a_cancel_made_offline_is_sent_when_back_if_the_case_is_still_open() -> None:
    server = FakeEmergencyServer()
    alex, events = couple(server)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        await alex.request(None)
        await wait_for(lambda: alex.case is not None)
        server.reachable = False
        await server.drop_all()
        await wait_for(events.has(Offline))
        await alex.cancel()  # offline: kept
        assert [m["type"] for m in server.received].count("cancel") == 0
        server.reachable = True
        await wait_for(lambda: server.open_case() is None)
        assert [m["type"] for m in server.received].count("cancel") == 1


async def test_a_cancel_made_offline_is_dropped_when_the_case_closed_meanwhile() -> None:
    server = FakeEmergencyServer()
    alex, events = couple(server)
    async with running(alex):
        await wait_for(lambda: alex.connected)
        await alex.request(None)
        await wait_for(lambda: alex.case is not None)
        server.reachable = False
        await server.drop_all()
        await wait_for(events.has(Offline))
        await alex.cancel()
        case = server.open_case()
        assert case is not None
        case.state = "ended"  # the clinician ended it while we were away
        server.reachable = True
        await wait_for(lambda: len(events.of(Connected)) == 2)
        assert alex.case is None
        assert [m["type"] for m in server.received].count("cancel") == 0
