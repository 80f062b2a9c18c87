"""The couple's side of emergency connect (Qt-free): one click becomes a case on the server.

`EmergencyClient.run()` keeps the connection to `/emergency/ws` (app.emergency.connection) and
turns every server message into an event for the listener. `request()` raises the alarm: at
once when connected, else as soon as the connection is back (a request made offline is kept,
never lost, and the listener has already been told `Offline`, so the crisis card shows). A
second request joins the open case. `cancel()` is "I'm safe now", kept the same way.

The couple's safety plan from the server is written to the `PlanCache` when one is given, so
the offline crisis card shows the latest copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.emergency import protocol, server_messages
from app.emergency.connection import KeptConnection
from app.emergency.events import (
    Accepted,
    CaseChanged,
    CoupleEvent,
    CoupleListener,
    Ended,
    PlanChanged,
    Refused,
)
from app.emergency.models import Case, Plan
from app.emergency.plan_cache import PlanCache
from app.emergency.protocol_values import ProtocolError
from app.emergency.transport import Connector, websocket_connector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Request:
    location: str | None
    at: float  # `now()` when asked: the click


class EmergencyClient:
    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        listener: CoupleListener,
        now: Callable[[], float] = time.monotonic,
        ca_file: str | None = None,
        plan_cache: PlanCache | None = None,
        connect: Connector | None = None,
        connection_options: dict[str, Any] | None = None,
    ) -> None:
        """`server_url` is the session server (http[s]://host:port); ValueError when it is not
        an address. `token` is the couple's own join code (a partner token). `connect` replaces
        the WebSocket (tests); `connection_options` go to KeptConnection (retry timings)."""
        self._listener = listener
        self._now = now
        self._plan_cache = plan_cache
        self._connection = KeptConnection(
            connect or websocket_connector(server_url, ca_file=ca_file),
            protocol.hello(token, "couple"),
            welcome=self._welcomed,
            on_up=self._send_waiting,
            on_message=self._message,
            on_offline=self._emit,
            on_refused=self._emit,
            **(connection_options or {}),
        )
        self.case: Case | None = None
        self.plan: Plan | None = None
        self._request: _Request | None = None  # asked for, not yet answered with a case
        self._cancel: str | None = None  # a case to cancel, not yet sent
        # `now()` of our click behind the open case (None when the other partner raised it).
        self.requested_at: float | None = None

    # --- public API -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connection.up

    @property
    def refused(self) -> Refused | None:
        return self._connection.refused

    async def run(self) -> None:
        """Connect and stay connected (reconnecting, with Offline events) until close() or a
        Refused. Run it as a task for the life of the app."""
        await self._connection.run()

    async def request(self, location: str | None = None) -> None:
        """Raise the alarm (or join the open case, updating the location). Sent now when
        connected, else on reconnection. ValueError for a location over 200 characters."""
        where = protocol.clean_location(location)
        self._request = _Request(where, self._now())
        if self.requested_at is None or self.case is None or not self.case.open:
            self.requested_at = self._request.at
        self._cancel = None
        await self._send_request()

    async def cancel(self) -> None:
        """ "I'm safe now": ends a ringing case (recorded), or tells the clinician on an
        accepted one. A request still waiting to be sent is simply dropped."""
        self._request = None
        if self.case is None or not self.case.open:
            return
        self._cancel = self.case.case_id
        if await self._connection.send(protocol.cancel(self._cancel)):
            self._cancel = None

    async def report_connected(self, case_id: str) -> bool:
        """Tell the server the case's call has media (recorded once as `connected`)."""
        return await self._connection.send(protocol.connected(case_id))

    async def close(self) -> None:
        await self._connection.close()

    # --- internals --------------------------------------------------------------------------

    def _emit(self, event: CoupleEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a listener's bug must not stop the emergency connection
            log.exception("emergency listener failed on %s", type(event).__name__)

    def _welcomed(self, message: dict[str, Any]) -> float:
        heartbeat, connected = server_messages.parse_couple_hello_ok(message)
        self._set_plan(connected.plan)
        if connected.case is not None:
            self._set_case(connected.case)
        elif self.case is not None and self.case.open:
            self.case = None  # closed while we were away; what we knew is stale
        self._emit(connected)
        return heartbeat

    async def _send_waiting(self) -> None:
        if self._cancel is not None:
            case = self.case
            if case is None or case.case_id != self._cancel or not case.open:
                self._cancel = None  # closed while we were away: nothing left to cancel
            elif await self._connection.send(protocol.cancel(self._cancel)):
                self._cancel = None
        elif self._request is not None:
            await self._send_request()

    async def _send_request(self) -> None:
        request = self._request
        if request is None:
            return
        message = protocol.emergency(request.location)
        await self._connection.send(message, expect_answer=True)

    def _message(self, message: dict[str, Any]) -> None:
        try:
            event = server_messages.couple_event(message)
        except ProtocolError as exc:
            log.warning("ignored a malformed emergency message (%s): %s", message["type"], exc)
            return
        if event is None:
            log.debug("ignored an emergency message of unknown type")
            return
        if isinstance(event, CaseChanged):
            self._set_case(event.case)
        elif isinstance(event, PlanChanged):
            self._set_plan(event.plan)
        elif isinstance(event, Ended | Accepted) and self._request is not None:
            self._request = None
        self._emit(event)

    def _set_case(self, case: Case) -> None:
        self.case = case
        if case.open:
            self._request = None  # answered: the server has it
        else:
            self._cancel = None

    def _set_plan(self, plan: Plan | None) -> None:
        self.plan = plan
        if self._plan_cache is not None:
            self._plan_cache.remember(plan)
