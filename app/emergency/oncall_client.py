"""The on-call clinician's side of emergency connect (Qt-free), for `tandem oncall --headless`
(and any native client): sign in with the on-call token, say available, hear rings, accept,
end the case with an outcome.

A new connection starts away (the server's rule: a clinician whose socket dropped is not
reachable), so the client asks again for the availability last chosen each time it is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app.emergency import protocol, server_messages
from app.emergency.connection import KeptConnection
from app.emergency.events import (
    AvailabilityChanged,
    CaseAccepted,
    CaseTaken,
    CaseUpdated,
    Ended,
    OncallEvent,
    OncallListener,
    Refused,
)
from app.emergency.models import CaseCard
from app.emergency.protocol_values import ProtocolError
from app.emergency.transport import Connector, websocket_connector

log = logging.getLogger(__name__)


class OncallClient:
    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        listener: OncallListener,
        now: Callable[[], float] = time.monotonic,
        ca_file: str | None = None,
        connect: Connector | None = None,
        connection_options: dict[str, Any] | None = None,
    ) -> None:
        """`token` is an on-call token (role oncall, room oncall). ValueError when
        `server_url` is not an address. `connect` replaces the WebSocket (tests)."""
        self._listener = listener
        self._now = now
        self._connection = KeptConnection(
            connect or websocket_connector(server_url, ca_file=ca_file),
            protocol.hello(token, "oncall"),
            welcome=self._welcomed,
            on_up=self._send_waiting,
            on_message=self._message,
            on_offline=self._emit,
            on_refused=self._emit,
            **(connection_options or {}),
        )
        self.name: str | None = None
        self.tier: int | None = None
        self.wants_available = False
        self.available = False
        self.held: CaseCard | None = None  # the case we accepted and have not ended
        self._accepting: str | None = None

    @property
    def connected(self) -> bool:
        return self._connection.up

    @property
    def refused(self) -> Refused | None:
        return self._connection.refused

    async def run(self) -> None:
        """Connect and stay connected until close() or a Refused."""
        await self._connection.run()

    async def set_available(self, available: bool) -> None:
        """Available or away; kept and asked again after every reconnection."""
        self.wants_available = available
        await self._connection.send(protocol.availability(available))

    async def accept(self, case_id: str) -> bool:
        """Ask for the case: CaseAccepted follows, or CaseTaken when someone was first. False
        when not connected (nothing was sent: a clinician accepts only what rings now)."""
        self._accepting = case_id
        return await self._connection.send(protocol.accept(case_id))

    async def end(
        self,
        case_id: str,
        outcome: str,
        *,
        follow_up_due: float | None = None,
        note: str | None = None,
    ) -> bool:
        """End the case with an outcome (ValueError for an unknown outcome or a note over 2000
        characters). False when not connected: nothing was sent, try again."""
        message = protocol.end(case_id, outcome, follow_up_due=follow_up_due, note=note)
        return await self._connection.send(message)

    async def report_connected(self, case_id: str) -> bool:
        """Tell the server the case's call has media (recorded once as `connected`)."""
        return await self._connection.send(protocol.connected(case_id))

    async def close(self) -> None:
        await self._connection.close()

    # --- internals --------------------------------------------------------------------------

    def _emit(self, event: OncallEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a listener's bug must not stop the on-call connection
            log.exception("on-call listener failed on %s", type(event).__name__)

    def _welcomed(self, message: dict[str, Any]) -> float:
        heartbeat, connected = server_messages.parse_oncall_hello_ok(message)
        self.name, self.tier, self.available = connected.name, connected.tier, connected.available
        self.held = next((c for c in connected.cases if c.case.state == "accepted"), None)
        if self.held is not None and self.held.case.clinician != connected.name:
            self.held = None
        self._emit(connected)
        return heartbeat

    async def _send_waiting(self) -> None:
        if self.wants_available != self.available:
            await self._connection.send(protocol.availability(self.wants_available))

    def _message(self, message: dict[str, Any]) -> None:
        try:
            event = server_messages.oncall_event(message, self._accepting)
        except ProtocolError as exc:
            log.warning("ignored a malformed on-call message (%s): %s", message["type"], exc)
            return
        if event is None:
            log.debug("ignored an on-call message of unknown type")
            return
        if isinstance(event, AvailabilityChanged):
            self.available = event.available
        elif isinstance(event, CaseAccepted):
            self.held, self._accepting = event.card, None
        elif isinstance(event, CaseUpdated) and self.held is not None:
            if self.held.case_id == event.card.case_id:
                self.held = event.card
        elif isinstance(event, CaseTaken) and event.case_id == self._accepting:
            self._accepting = None
        elif isinstance(event, Ended) and self.held is not None:
            if self.held.case_id == event.case_id:
                self.held = None
        self._emit(event)
