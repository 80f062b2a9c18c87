"""The case's call for the headless commands: joined with the ticket, through the same engine
and headless set-up as `tandem join` (app.call.headless_join). It reports each peer's first
frame and the call's errors as JSON lines; everything else about the call is the engine's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

# Imported with this module, not at accept: loading aiortc takes a second the call must not wait.
from app.call.engine import JoinError
from app.call.events import CallError, CallEvent, FirstFrame
from app.call.headless_join import HeadlessMedia, headless_engine
from app.call.setup import needs_loopback_ice
from app.emergency.models import CallTicket

log = logging.getLogger(__name__)

Write = Callable[[dict[str, Any]], None]
LEAVE_TIMEOUT_S = 10.0


class TicketCall:
    def __init__(
        self,
        case_id: str,
        ticket: CallTicket,
        media: HeadlessMedia,
        *,
        write: Write,
        on_first_frame: Callable[[str], None],
        allow_loopback: bool = False,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """`write` prints a JSON line; `on_first_frame(case_id)` runs once, at the first frame
        from anyone (the moment the case counts as connected)."""
        self.case_id = case_id
        self._ticket = ticket
        self._media = media
        self._write = write
        self._on_first_frame = on_first_frame
        self._loopback = allow_loopback or needs_loopback_ice(ticket.server)
        self._now = now
        self._started = now()
        self._engine: Any = None
        self._task: asyncio.Task[None] | None = None
        self.first_frame_seen = False

    def start(self) -> None:
        """Join in the background (the emergency connection goes on meanwhile)."""
        self._started = self._now()
        self._task = asyncio.ensure_future(self._join())

    async def _join(self) -> None:
        try:
            self._engine = headless_engine(
                self._ticket.server,
                self._ticket.token,
                self._call_event,
                self._media,
                allow_loopback=self._loopback,
            )
            await self._engine.join()
        except ValueError as exc:
            self._write({"type": "error", "code": "bad_ticket", "message": str(exc)})
        except JoinError:
            pass  # the CallError was written already

    def _call_event(self, event: CallEvent) -> None:
        if isinstance(event, FirstFrame):
            peer = None if self._engine is None else self._engine.peers.get(event.peer_id)
            self._write(
                {
                    "type": "first_frame",
                    "case_id": self.case_id,
                    "peer_id": event.peer_id,
                    "role": None if peer is None else peer.role,
                    "ms_since_join": round(event.ms_since_join, 1),
                    "ms_since_accepted": round((event.at - self._started) * 1000.0, 1),
                }
            )
            if not self.first_frame_seen:
                self.first_frame_seen = True
                self._on_first_frame(self.case_id)
        elif isinstance(event, CallError):
            error = {"type": "error", "code": event.code, "message": event.message}
            self._write({**error, "case_id": self.case_id, "in": "call"})

    async def leave(self) -> None:
        """Leave the call (idempotent); a join still under way is stopped."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=LEAVE_TIMEOUT_S)
        if self._engine is not None:
            try:
                await asyncio.wait_for(self._engine.leave(), LEAVE_TIMEOUT_S)
            except TimeoutError:
                log.warning("leaving the case's call took longer than %.0f s", LEAVE_TIMEOUT_S)


class CaseCall(Protocol):
    """What the headless sides need of the case's call (TicketCall; a fake in tests)."""

    case_id: str

    def start(self) -> None: ...
    async def leave(self) -> None: ...


CallFactory = Callable[..., CaseCall]
