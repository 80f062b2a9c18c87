"""A simulated on-call clinician for "Practice the help button" (practice mode only).

It signs in to the practice server's on-call roster with a practice on-call token, says it is
available, accepts the practice case a few seconds after it rings, and joins the case's call as
a headless participant (a moving test picture and a tone, like the practice therapist of
app.practice). When the couple says "I'm safe now" it ends the case, as a clinician would.

Runs on an asyncio loop (the desktop app's bridge); never talks to a clinic's server: the
practice server is on 127.0.0.1 and its tokens are minted here with its own secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.call.setup import Companion
from app.emergency.couple_client import EmergencyClient
from app.emergency.events import (
    CaseAccepted,
    CaseCancelled,
    CoupleCancelled,
    Ended,
    OncallConnected,
    OncallEvent,
    Ring,
)
from app.emergency.oncall_client import OncallClient
from app.emergency.transport import Connector
from app.practice import SimulatedTherapist
from app.server.tokens import mint_token

log = logging.getLogger(__name__)

PRACTICE_CLINICIAN = "Practice clinician"
ACCEPT_AFTER_S = 4.0  # long enough to see "Calling the on-call clinician… 0:03"
TOKEN_TTL_S = 4 * 3600
ROSTER = "oncall"  # docs/emergency.md: an on-call token's room names the roster

ParticipantFactory = Callable[[str, str], Companion]  # (server URL, ticket token)


class SimulatedClinician:
    def __init__(
        self,
        server_url: str,
        secret: str,
        *,
        accept_after_s: float = ACCEPT_AFTER_S,
        participant: ParticipantFactory = SimulatedTherapist,
        connect: Connector | None = None,
        name: str = PRACTICE_CLINICIAN,
    ) -> None:
        """`connect` replaces the WebSocket (tests); `name` is the name the couple sees."""
        self.token = mint_token(secret, ROSTER, "oncall", name, TOKEN_TTL_S)
        self.client = OncallClient(server_url, self.token, listener=self._on_event, connect=connect)
        self._accept_after = accept_after_s
        self._make_participant = participant
        self.participant: Companion | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted: set[str] = set()

    async def run(self) -> None:
        """Stay on the roster until close()."""
        await self.client.run()

    async def close(self) -> None:
        """End a held case, leave the call and the roster."""
        held = self.client.held
        if held is not None:
            with contextlib.suppress(Exception):
                await self.client.end(held.case_id, "safe", note="Practice run")
        for task in list(self._tasks):
            task.cancel()
        await self._leave_call()
        await self.client.close()

    # --- what the practice server says (on the loop) -----------------------------------------
    def _on_event(self, event: OncallEvent) -> None:
        if isinstance(event, OncallConnected):
            self._spawn(self.client.set_available(True))
        elif isinstance(event, Ring) and event.case_id not in self.accepted:
            self.accepted.add(event.case_id)
            self._spawn(self._accept_later(event.case_id))
        elif isinstance(event, CaseAccepted):
            self._spawn(self._join_call(event.ticket.server, event.ticket.token))
        elif isinstance(event, CoupleCancelled):
            self._spawn(self._end(event.case_id))
        elif isinstance(event, Ended | CaseCancelled):
            self._spawn(self._leave_call())

    async def _accept_later(self, case_id: str) -> None:
        await asyncio.sleep(self._accept_after)
        await self.client.accept(case_id)

    async def _end(self, case_id: str) -> None:
        await self.client.end(case_id, "safe", note="Practice run")

    async def _join_call(self, server_url: str, token: str) -> None:
        await self._leave_call()
        participant = self._make_participant(server_url, token)
        self.participant = participant
        # Starting a process may block briefly: not on the loop.
        await asyncio.get_running_loop().run_in_executor(None, participant.start)

    async def _leave_call(self) -> None:
        participant, self.participant = self.participant, None
        if participant is not None:
            await asyncio.get_running_loop().run_in_executor(None, participant.stop)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("practice clinician: %s", type(task.exception()).__name__)


class PracticeRun:
    """One "Practice the help button" run: the couple's own connection for a fresh practice
    room (the practice server mints its token) and the simulated clinician who answers."""

    def __init__(
        self,
        client: EmergencyClient,
        clinician: SimulatedClinician,
    ) -> None:
        self.client = client
        self.clinician = clinician

    async def run(self) -> None:
        """Both on the roster and connected until stop()."""
        await asyncio.gather(self.clinician.run(), self.client.run())

    async def stop(self) -> None:
        """End the practice case (the couple's "I'm safe now"), then leave."""
        with contextlib.suppress(Exception):
            await self.client.cancel()
        await self.clinician.close()
        await self.client.close()
