"""`tandem emergency`: a couple's alarm without a window, one JSON line per step on stdout.

Raises the alarm at once (kept and sent when the server answers), prints what the server says
(requested, ringing, escalated, accepted, unanswered, ended) and what the client sees (offline),
joins the case's call when a clinician accepts (first_frame) and ends with an exit status that
says how it went: reached, unanswered, unreachable or refused. A headless couple that leaves
before anyone answered cancels its case, so no clinician is rung for a program that has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.call.headless_join import HeadlessMedia
from app.emergency.couple_client import EmergencyClient
from app.emergency.events import (
    Accepted,
    CaseChanged,
    CoupleEvent,
    Declined,
    Ended,
    Escalated,
    Offline,
    Refused,
    Ringing,
    Unanswered,
)
from app.emergency.headless_call import CallFactory, CaseCall, TicketCall
from app.emergency.transport import Connector

EXIT_REACHED = 0
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_UNANSWERED = 5
BACKUP_TIER = 2  # from level 1 on, the backup tier is rung too (docs/emergency.md)
CANCEL_TIMEOUT_S = 2.0

Write = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class CoupleOptions:
    server: str
    token: str
    location: str | None = None
    media: HeadlessMedia = HeadlessMedia()
    duration: float | None = None
    give_up_s: float = 10.0
    allow_loopback: bool = False
    ca_file: str | None = None


class HeadlessCouple:
    def __init__(
        self,
        options: CoupleOptions,
        write: Write,
        *,
        now: Callable[[], float] = time.monotonic,
        connect: Connector | None = None,
        make_call: CallFactory = TicketCall,
    ) -> None:
        """`connect` and `make_call` replace the WebSocket and the call (tests).
        ValueError when the server address or the location is not usable."""
        self._options = options
        self._write = write
        self._now = now
        self._client = EmergencyClient(
            options.server,
            options.token,
            listener=self._event,
            now=now,
            ca_file=options.ca_file,
            connect=connect,
        )
        self._make_call = make_call
        self._done: asyncio.Future[int] | None = None
        self._case_id: str | None = None  # the case the server answered our request with
        self._reached = False
        self._call: CaseCall | None = None
        self._case_closed = asyncio.Event()
        self._clicked = now()
        self._reports: set[asyncio.Future[bool]] = set()  # held: a task nobody holds may go

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._finish)
        client_task = asyncio.ensure_future(self._client.run())
        client_task.add_done_callback(lambda _: self._finish())
        self._clicked = self._now()
        await self._client.request(self._options.location)
        timers = [loop.call_later(self._options.give_up_s, self._give_up)]
        if self._options.duration is not None:
            timers.append(loop.call_later(self._options.duration, self._finish))
        try:
            code = await self._done
        finally:
            for timer in timers:
                timer.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self._wind_down(client_task)
        return code

    # --- the end ----------------------------------------------------------------------------

    def _code(self) -> int:
        if self._reached:
            return EXIT_REACHED
        if self._client.refused is not None:
            return EXIT_REFUSED
        return EXIT_UNANSWERED if self._case_id is not None else EXIT_UNREACHABLE

    def _finish(self, code: int | None = None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(self._code() if code is None else code)

    def _give_up(self) -> None:
        if self._case_id is None and not self._reached:
            self._finish(EXIT_UNREACHABLE if self._client.refused is None else EXIT_REFUSED)

    async def _wind_down(self, client_task: asyncio.Future[None]) -> None:
        if self._call is not None:
            await self._call.leave()
        case = self._client.case
        if not self._reached and case is not None and case.open and self._client.connected:
            # Cancelled, and its end printed: the last line says how the case closed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cancel_case(), CANCEL_TIMEOUT_S)
        await self._client.close()
        await asyncio.wait({client_task}, timeout=CANCEL_TIMEOUT_S)

    async def _cancel_case(self) -> None:
        await self._client.cancel()
        await self._case_closed.wait()

    # --- events -----------------------------------------------------------------------------

    def _event(self, event: CoupleEvent) -> None:
        match event:
            case Offline():
                self._write(
                    {"type": "offline", "reason": event.reason, "retry_in_s": event.retry_in_s}
                )
            case Refused() | Declined():
                self._write({"type": "error", "code": event.code, "message": event.message})
                if isinstance(event, Refused) or (
                    event.code == "rate_limited" and self._case_id is None
                ):
                    self._finish(EXIT_REFUSED)
            case CaseChanged() if event.case.open and self._case_id != event.case.case_id:
                self._case_id = event.case.case_id
                self._write({"type": "requested", "case_id": self._case_id})
            case Ringing():
                self._write(
                    {
                        "type": "ringing",
                        "case_id": event.case_id,
                        "tier": event.tier,
                        "count": event.count,
                    }
                )
            case Escalated():
                self._write(
                    {
                        "type": "escalated",
                        "case_id": event.case_id,
                        "level": event.level,
                        "tier": BACKUP_TIER,
                    }
                )
            case Accepted():
                self._accepted(event)
            case Unanswered():
                self._write({"type": "unanswered", "case_id": event.case_id})
                if not self._reached:
                    self._finish(EXIT_UNANSWERED)
            case Ended():
                self._write(
                    {
                        "type": "ended",
                        "case_id": event.case_id,
                        "by": event.by,
                        "outcome": event.outcome,
                    }
                )
                self._case_closed.set()
                self._finish()

    def _accepted(self, event: Accepted) -> None:
        if self._call is not None and self._call.case_id == event.case_id:
            return  # told again (a reconnection, the other partner's request): in it already
        self._reached = True
        self._write(
            {
                "type": "accepted",
                "case_id": event.case_id,
                "clinician": event.clinician,
                "ms_since_request": round((self._now() - self._clicked) * 1000.0, 1),
            }
        )
        self._call = self._make_call(
            event.case_id,
            event.ticket,
            self._options.media,
            write=self._write,
            on_first_frame=self._first_frame,
            allow_loopback=self._options.allow_loopback,
            now=self._now,
        )
        self._call.start()

    def _first_frame(self, case_id: str) -> None:
        report = asyncio.ensure_future(self._client.report_connected(case_id))
        self._reports.add(report)
        report.add_done_callback(self._reports.discard)
