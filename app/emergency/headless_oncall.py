"""`tandem oncall --headless`: an on-call clinician without a window (lab tests, benchmarks).

Signs in, says available, prints each ring and accepts it after `accept_after` seconds (or
never), joins the case's call with the ticket (first_frame), and ends the case with `outcome`
after `end_after` seconds, when the couple cancels, or when the command stops. Then it is
available for the next case. One case at a time, as a person would.
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
from app.emergency.events import (
    AvailabilityChanged,
    CaseAccepted,
    CaseCancelled,
    CaseTaken,
    CoupleCancelled,
    Declined,
    Ended,
    Offline,
    OncallConnected,
    OncallEvent,
    Refused,
    Ring,
)
from app.emergency.headless_call import CallFactory, CaseCall, TicketCall
from app.emergency.oncall_client import OncallClient
from app.emergency.transport import Connector

EXIT_DONE = 0
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
END_TIMEOUT_S = 2.0

Write = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class OncallOptions:
    server: str
    token: str
    accept_after: float | None = 0.0  # None: never accept
    end_after: float | None = None  # None: end when the command stops
    outcome: str = "safe"
    media: HeadlessMedia = HeadlessMedia()
    duration: float | None = None
    give_up_s: float = 10.0
    allow_loopback: bool = False
    ca_file: str | None = None


class HeadlessClinician:
    def __init__(
        self,
        options: OncallOptions,
        write: Write,
        *,
        now: Callable[[], float] = time.monotonic,
        connect: Connector | None = None,
        make_call: CallFactory = TicketCall,
    ) -> None:
        """`connect` and `make_call` replace the WebSocket and the call (tests).
        ValueError when the server address is not usable."""
        self._options = options
        self._write = write
        self._now = now
        self._client = OncallClient(
            options.server,
            options.token,
            listener=self._event,
            now=now,
            ca_file=options.ca_file,
            connect=connect,
        )
        self._make_call = make_call
        self._done: asyncio.Future[int] | None = None
        self._ever_connected = False
        self._pending: dict[str, asyncio.TimerHandle] = {}  # accepts waiting for their time
        self._call: CaseCall | None = None
        self._ending: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._finish)
        client_task = asyncio.ensure_future(self._client.run())
        client_task.add_done_callback(lambda _: self._finish())
        await self._client.set_available(True)
        timers = [loop.call_later(self._options.give_up_s, self._give_up)]
        if self._options.duration is not None:
            timers.append(loop.call_later(self._options.duration, self._finish))
        try:
            code = await self._done
        finally:
            for timer in [*timers, *self._pending.values()]:
                timer.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self._wind_down(client_task)
        return code

    # --- the end ----------------------------------------------------------------------------

    def _finish(self, code: int | None = None) -> None:
        if self._done is None or self._done.done():
            return
        if code is None:
            code = EXIT_REFUSED if self._client.refused is not None else EXIT_DONE
            code = code if self._ever_connected else EXIT_UNREACHABLE
        self._done.set_result(code)

    def _give_up(self) -> None:
        if not self._ever_connected:
            self._finish()

    async def _wind_down(self, client_task: asyncio.Future[None]) -> None:
        if self._ending is not None:
            self._ending.cancel()
        held = self._client.held
        if held is not None and self._client.connected:
            await self._end(held.case_id)
        elif self._call is not None:
            await self._call.leave()
        await self._client.close()
        await asyncio.wait({client_task}, timeout=END_TIMEOUT_S)

    # --- events -----------------------------------------------------------------------------

    def _event(self, event: OncallEvent) -> None:
        match event:
            case OncallConnected():
                self._ever_connected = True
            case Offline():
                self._write(
                    {"type": "offline", "reason": event.reason, "retry_in_s": event.retry_in_s}
                )
            case Refused() | Declined():
                self._write({"type": "error", "code": event.code, "message": event.message})
                if isinstance(event, Refused):
                    self._finish(EXIT_REFUSED)
            case AvailabilityChanged():
                self._write({"type": "available" if event.available else "away"})
            case Ring():
                self._ring(event)
            case CaseAccepted():
                self._accepted(event)
            case CaseTaken():
                self._drop_pending(event.case_id)
                self._write({"type": "case_taken", "case_id": event.case_id, "by": event.by})
            case CaseCancelled():
                self._drop_pending(event.case_id)
                self._write({"type": "case_cancelled", "case_id": event.case_id})
            case CoupleCancelled():
                self._write({"type": "couple_cancelled", "case_id": event.case_id})
                self._spawn(self._end(event.case_id))
            case Ended():
                self._write(
                    {
                        "type": "ended",
                        "case_id": event.case_id,
                        "by": event.by,
                        "outcome": event.outcome,
                    }
                )
                if self._call is not None and self._call.case_id == event.case_id:
                    call, self._call = self._call, None
                    self._spawn(call.leave())

    def _ring(self, event: Ring) -> None:
        self._write(
            {
                "type": "ring",
                "case_id": event.case_id,
                "tier": event.tier,
                "ms_since_request": round(event.ms_since_request, 1),
            }
        )
        delay = self._options.accept_after
        if delay is None or event.case_id in self._pending or self._client.held is not None:
            return
        loop = asyncio.get_running_loop()
        self._pending[event.case_id] = loop.call_later(
            delay, lambda: self._spawn(self._accept(event.case_id))
        )

    async def _accept(self, case_id: str) -> None:
        self._pending.pop(case_id, None)
        if self._client.held is None:
            await self._client.accept(case_id)

    def _drop_pending(self, case_id: str) -> None:
        timer = self._pending.pop(case_id, None)
        if timer is not None:
            timer.cancel()

    def _accepted(self, event: CaseAccepted) -> None:
        if self._call is not None and self._call.case_id == event.case_id:
            return  # told again after a reconnection: in the call already
        self._write({"type": "accepted", "case_id": event.case_id})
        self._call = self._make_call(
            event.case_id,
            event.ticket,
            self._options.media,
            write=self._write,
            on_first_frame=lambda case_id: self._spawn(self._client.report_connected(case_id)),
            allow_loopback=self._options.allow_loopback,
            now=self._now,
        )
        self._call.start()
        if self._options.end_after is not None:
            loop = asyncio.get_running_loop()
            case_id = event.case_id
            self._ending = loop.call_later(
                self._options.end_after, lambda: self._spawn(self._end(case_id))
            )

    async def _end(self, case_id: str) -> None:
        """End the case with the outcome, then leave its call."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._client.end(case_id, self._options.outcome), END_TIMEOUT_S)
        if self._call is not None and self._call.case_id == case_id:
            call, self._call = self._call, None
            await call.leave()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
