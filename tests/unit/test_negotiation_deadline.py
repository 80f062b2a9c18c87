"""The per-peer negotiation deadline's timers, and how its event reaches the headless JSON.

Timers run on the real loop with a zero delay. The loop runs every timer that is due in the same
pass, so once a marker started after another timer has fired, that other one has run too unless
it was cancelled: no test waits on the clock.
"""

from __future__ import annotations

import asyncio

from app.call.events import CallError
from app.call.headless import event_to_json
from app.call.negotiation import NEGOTIATION_DEADLINE_S, Deadlines


class Expiries:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.fired: dict[str, asyncio.Event] = {}

    def __call__(self, key: str) -> None:
        self.keys.append(key)
        self.fired.setdefault(key, asyncio.Event()).set()

    async def wait_for(self, key: str) -> None:
        await asyncio.wait_for(self.fired.setdefault(key, asyncio.Event()).wait(), 5)


def test_the_deadline_is_well_before_aiortcs_own_failure() -> None:
    assert 5.0 <= NEGOTIATION_DEADLINE_S < 30.0  # aiortc notices a dead path after ~32 s


async def test_a_deadline_that_runs_out_names_its_key_once() -> None:
    expiries = Expiries()
    deadlines: Deadlines[str] = Deadlines(0.0, expiries)
    deadlines.start("a")
    assert deadlines.pending("a")
    await expiries.wait_for("a")
    assert expiries.keys == ["a"]
    assert not deadlines.pending("a")
    deadlines.settle("a")  # settling after expiry is harmless


async def test_a_settled_deadline_never_fires() -> None:
    expiries = Expiries()
    deadlines: Deadlines[str] = Deadlines(0.0, expiries)
    deadlines.start("connected")
    deadlines.settle("connected")
    deadlines.start("marker")
    await expiries.wait_for("marker")
    assert expiries.keys == ["marker"]


async def test_cancel_all_stops_every_timer() -> None:
    expiries = Expiries()
    deadlines: Deadlines[str] = Deadlines(0.0, expiries)
    deadlines.start("a")
    deadlines.start("b")
    deadlines.cancel_all()
    assert not deadlines.pending("a") and not deadlines.pending("b")
    deadlines.start("marker")
    await expiries.wait_for("marker")
    assert expiries.keys == ["marker"]


async def test_starting_again_restarts_rather_than_doubles() -> None:
    expiries = Expiries()
    deadlines: Deadlines[str] = Deadlines(0.0, expiries)
    deadlines.start("a")
    deadlines.start("a")
    deadlines.start("marker")
    await expiries.wait_for("marker")
    assert sorted(expiries.keys) == ["a", "marker"]


def test_headless_prints_peer_unreachable_as_an_error_naming_the_peer() -> None:
    event = CallError(1.0, "peer_unreachable", "could not connect", peer_id="p-7")
    assert event_to_json(event) == {
        "type": "error",
        "code": "peer_unreachable",
        "message": "could not connect",
        "peer_id": "p-7",
    }


def test_headless_keeps_the_servers_code_and_message() -> None:
    event = CallError(1.0, "token_expired", "the token has expired")
    assert event_to_json(event) == {
        "type": "error",
        "code": "token_expired",
        "message": "the token has expired",
    }
