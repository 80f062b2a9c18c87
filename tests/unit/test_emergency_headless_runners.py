"""`tandem emergency` and `tandem oncall --headless` against the in-memory server, with a fake
call in place of media (the real call is tests/integration/test_emergency_headless.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.emergency.couple_client import EmergencyClient
from app.emergency.headless_couple import CoupleOptions, HeadlessCouple
from app.emergency.headless_oncall import HeadlessClinician, OncallOptions
from app.emergency.models import CallTicket
from tests.emergency_fake import FakeEmergencyServer, Identity, running, wait_for


class FakeCall:
    made: list[FakeCall] = []

    def __init__(self, case_id: str, ticket: CallTicket, media: Any, **kw: Any) -> None:
        self.case_id = case_id
        self.ticket = ticket
        self.on_first_frame = kw["on_first_frame"]
        self.started = self.left = False
        FakeCall.made.append(self)

    def start(self) -> None:
        self.started = True
        self.on_first_frame(self.case_id)

    async def leave(self) -> None:
        self.left = True


class Lines(list[dict[str, Any]]):
    def types(self) -> list[str]:
        return [line["type"] for line in self]

    def has(self, kind: str) -> Any:
        return lambda: kind in self.types()

    def first(self, kind: str) -> dict[str, Any]:
        return next(line for line in self if line["type"] == kind)


def couple(server: FakeEmergencyServer, **options: Any) -> tuple[HeadlessCouple, Lines]:
    lines = Lines()
    runner = HeadlessCouple(
        CoupleOptions(server="http://fake.invalid", token=options.pop("token", "alex"), **options),
        lines.append,
        connect=server.connect,
        make_call=FakeCall,
    )
    return runner, lines


def clinician(server: FakeEmergencyServer, **options: Any) -> tuple[HeadlessClinician, Lines]:
    lines = Lines()
    runner = HeadlessClinician(
        OncallOptions(server="http://fake.invalid", token=options.pop("token", "lee"), **options),
        lines.append,
        connect=server.connect,
        make_call=FakeCall,
    )
    return runner, lines


async def test_reached_a_clinician_exit_0_and_both_sides_in_the_call() -> None:
    server = FakeEmergencyServer()
    lee, lee_lines = clinician(server, end_after=0.05)
    lee_task = asyncio.ensure_future(lee.run())
    await wait_for(lee_lines.has("available"))
    alex, lines = couple(server, location="home")
    assert await asyncio.wait_for(alex.run(), 5.0) == 0
    assert lines.types() == ["requested", "ringing", "accepted", "ended"]
    assert lines.first("accepted")["clinician"] == "Dr Lee"
    assert lines.first("accepted")["ms_since_request"] >= 0
    assert (
        lines.first("ended") | {"t": 0}
        == {
            "type": "ended",
            "case_id": lines.first("requested")["case_id"],
            "by": "clinician",
            "outcome": "safe",
            "t": 0,
        }
        or lines.first("ended")["outcome"] == "safe"
    )
    await wait_for(lambda: "ended" in lee_lines.types())
    assert lee_lines.types()[:4] == ["available", "ring", "accepted", "ended"]
    connected = [m for m in server.received if m["type"] == "connected"]
    assert len(connected) == 2  # both sides reported their first frame
    assert all(call.left for call in FakeCall.made[-2:])
    lee_task.cancel()
    await asyncio.wait({lee_task})


async def test_unanswered_exits_5_and_cancels_the_case() -> None:
    server = FakeEmergencyServer()
    alex, lines = couple(server)
    task = asyncio.ensure_future(alex.run())
    await wait_for(lines.has("requested"))
    server.escalate(1)
    server.escalate(2)
    server.escalate(3)
    assert await asyncio.wait_for(task, 5.0) == 5
    assert lines.types() == [
        "requested",
        "escalated",
        "escalated",
        "escalated",
        "unanswered",
        "ended",
    ]
    assert lines[-1]["by"] == "couple" and lines[-1]["outcome"] == "cancelled"
    assert [line["tier"] for line in lines if line["type"] == "escalated"] == [2, 2, 2]
    assert [m["type"] for m in server.received].count("cancel") == 1


async def test_an_unreachable_server_exits_4_after_saying_offline() -> None:
    server = FakeEmergencyServer()
    server.reachable = False
    alex, lines = couple(server, give_up_s=0.3)
    assert await asyncio.wait_for(alex.run(), 5.0) == 4
    assert lines.types()[0] == "offline" and lines[0]["reason"] == "unreachable"


@pytest.mark.allow_log_warnings("app.emergency.connection")
async def test_a_refused_token_exits_3() -> None:
    server = FakeEmergencyServer()
    alex, lines = couple(server, token="nobody")
    assert await asyncio.wait_for(alex.run(), 5.0) == 3
    assert lines.first("error")["code"] == "token_invalid"


async def test_rate_limited_without_a_case_exits_3() -> None:
    server = FakeEmergencyServer()
    original = server.handle

    async def limited(conn: Any, message: dict[str, Any]) -> None:
        if message.get("type") == "emergency":
            conn.push({"type": "error", "code": "rate_limited", "message": "Too many."})
            return
        await original(conn, message)

    server.handle = limited  # type: ignore[method-assign]
    alex, lines = couple(server)
    assert await asyncio.wait_for(alex.run(), 5.0) == 3
    assert lines.first("error")["code"] == "rate_limited"


async def test_duration_before_anyone_answers_exits_5() -> None:
    server = FakeEmergencyServer()
    alex, lines = couple(server, duration=0.2)
    assert await asyncio.wait_for(alex.run(), 5.0) == 5
    assert lines.types() == ["requested", "ended"]
    assert server.open_case() is None  # cancelled on the way out


async def test_two_clinicians_race_one_accepted_one_taken() -> None:
    server = FakeEmergencyServer()
    server.tokens["kim"] = Identity("oncall", "Dr Kim", room="oncall")
    lee, lee_lines = clinician(server, token="lee", accept_after=0.0)
    kim, kim_lines = clinician(server, token="kim", accept_after=0.0)
    tasks = [asyncio.ensure_future(lee.run()), asyncio.ensure_future(kim.run())]
    await wait_for(lambda: "available" in lee_lines.types() and "available" in kim_lines.types())
    alex, lines = couple(server, duration=0.3)
    assert await asyncio.wait_for(alex.run(), 5.0) == 0
    await wait_for(lambda: "case_taken" in lee_lines.types() + kim_lines.types())
    winners = [x for x in (lee_lines, kim_lines) if "accepted" in x.types()]
    losers = [x for x in (lee_lines, kim_lines) if "case_taken" in x.types()]
    assert len(winners) == 1 and len(losers) == 1 and winners[0] is not losers[0]
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)


async def test_never_accept_hears_the_ring_and_the_cancel() -> None:
    server = FakeEmergencyServer()
    lee, lee_lines = clinician(server, accept_after=None, duration=5.0)
    lee_task = asyncio.ensure_future(lee.run())
    await wait_for(lee_lines.has("available"))
    alex, _ = couple(server, duration=0.2)
    assert await asyncio.wait_for(alex.run(), 5.0) == 5
    await wait_for(lee_lines.has("case_cancelled"))
    assert "accepted" not in lee_lines.types()
    lee_task.cancel()
    await asyncio.wait({lee_task})


async def test_a_clinician_stopping_ends_the_case_it_holds() -> None:
    server = FakeEmergencyServer()
    lee, lee_lines = clinician(server, duration=0.5, outcome="referred")
    lee_task = asyncio.ensure_future(lee.run())
    await wait_for(lee_lines.has("available"))
    alex, lines = couple(server)
    assert await asyncio.wait_for(alex.run(), 5.0) == 0
    assert lines.first("ended")["outcome"] == "referred"
    assert await asyncio.wait_for(lee_task, 5.0) == 0


async def test_the_clinician_ends_a_case_the_couple_cancelled() -> None:
    server = FakeEmergencyServer()
    lee, lee_lines = clinician(server)
    lee_task = asyncio.ensure_future(lee.run())
    await wait_for(lee_lines.has("available"))
    alex, lines = couple(server)
    alex_task = asyncio.ensure_future(alex.run())
    await wait_for(lines.has("accepted"))
    sam = EmergencyClient(
        "http://fake.invalid", "sam", listener=lambda _: None, connect=server.connect
    )
    async with running(sam):
        await wait_for(lambda: sam.connected and sam.case is not None)
        await sam.cancel()  # "I'm safe now" from the other partner
        assert await asyncio.wait_for(alex_task, 5.0) == 0
    assert lee_lines.types()[-2:] == ["couple_cancelled", "ended"]
    assert lines.first("ended")["outcome"] == "safe"
    lee_task.cancel()
    await asyncio.wait({lee_task})


async def test_an_unreachable_clinician_exits_4() -> None:
    server = FakeEmergencyServer()
    server.reachable = False
    lee, lines = clinician(server, give_up_s=0.3)
    assert await asyncio.wait_for(lee.run(), 5.0) == 4
    assert lines.types()[0] == "offline"
