"""The simulated on-call clinician of "Practice the help button", against the fake server."""

from __future__ import annotations

import threading
from typing import Any

from app.emergency.couple_client import EmergencyClient
from app.emergency.events import Accepted, Ended
from app.emergency.practice_clinician import PRACTICE_CLINICIAN, SimulatedClinician
from tests.emergency_fake import FakeEmergencyServer, Identity, running, wait_for

FAST = {"offline_after_s": 0.2, "hello_timeout_s": 0.5}


class FakeParticipant:
    """Records what the clinician's headless participant was asked to do."""

    made: list[FakeParticipant] = []

    def __init__(self, server_url: str, token: str) -> None:
        self.server_url, self.token = server_url, token
        self.started = threading.Event()
        self.stopped = threading.Event()
        FakeParticipant.made.append(self)

    def start(self) -> None:
        self.started.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()


def clinician(server: FakeEmergencyServer, accept_after_s: float = 0.01) -> SimulatedClinician:
    FakeParticipant.made = []
    sim = SimulatedClinician(
        "http://fake.invalid",
        "practice-secret",
        accept_after_s=accept_after_s,
        participant=FakeParticipant,
        connect=server.connect,
    )
    server.tokens[sim.token] = Identity("oncall", PRACTICE_CLINICIAN, room="oncall")
    return sim


def couple(server: FakeEmergencyServer) -> tuple[EmergencyClient, list[Any]]:
    events: list[Any] = []
    client = EmergencyClient(
        "http://fake.invalid",
        "alex",
        listener=events.append,
        connect=server.connect,
        connection_options=FAST,
    )
    return client, events


async def test_it_signs_in_accepts_and_joins_the_call() -> None:
    server = FakeEmergencyServer()
    sim = clinician(server)
    client, events = couple(server)
    async with running(sim), running(client):
        await wait_for(lambda: any(c.available for c in server.clinicians()))
        await client.request("at home")
        await wait_for(lambda: any(isinstance(e, Accepted) for e in events))
        accepted = next(e for e in events if isinstance(e, Accepted))
        assert accepted.clinician == PRACTICE_CLINICIAN
        await wait_for(
            lambda: bool(FakeParticipant.made) and FakeParticipant.made[0].started.is_set()
        )
        assert FakeParticipant.made[0].token == "ticket-oncall"  # the clinician's own ticket
        # "I'm safe now" on an accepted case: the simulated clinician ends it, as one would.
        await client.cancel()
        await wait_for(lambda: any(isinstance(e, Ended) for e in events))
        ended = next(e for e in events if isinstance(e, Ended))
        assert ended.by == "clinician" and ended.outcome == "safe"
        await wait_for(FakeParticipant.made[0].stopped.is_set)


async def test_close_ends_the_held_case_and_leaves_the_call() -> None:
    server = FakeEmergencyServer()
    sim = clinician(server)
    client, events = couple(server)
    async with running(client):
        async with running(sim):
            await wait_for(lambda: any(c.available for c in server.clinicians()))
            await client.request(None)
            await wait_for(lambda: sim.client.held is not None)
            await wait_for(lambda: bool(FakeParticipant.made))
            await sim.close()
        await wait_for(lambda: any(isinstance(e, Ended) for e in events))
        assert FakeParticipant.made[0].stopped.is_set()


async def test_a_case_is_accepted_once_even_when_it_rings_again() -> None:
    server = FakeEmergencyServer()
    sim = clinician(server, accept_after_s=0.2)
    client, _ = couple(server)
    async with running(sim), running(client):
        await wait_for(lambda: any(c.available for c in server.clinicians()))
        await client.request(None)
        case = server.open_case()
        assert case is not None
        server._ring(case, server.clinicians())  # rung again (an escalation)
        await wait_for(lambda: sim.client.held is not None)
        accepts = [m for m in server.received if m.get("type") == "accept"]
        assert len(accepts) == 1
