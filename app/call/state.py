"""The call's state machine: inputs in, CallState out, a change reported only when real.

A plain table of transitions, so DEGRADED and RECONNECTING are new rows, not new code paths.
Time is injected (`now`) so tests step through a call without waiting for one.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from app.call.events import CallState

log = logging.getLogger(__name__)


class CallInput(enum.Enum):
    JOIN = "join"  # join() was called
    WELCOMED = "welcomed"  # the server let us into the room
    PEER_CONNECTED = "peer_connected"  # at least one peer's media is connected
    NO_PEER_CONNECTED = "no_peer_connected"  # the last connected peer went away
    LEAVE = "leave"  # the user (or a signal) ended the call
    FAIL = "fail"  # the server refused us or the call cannot go on


_S, _I = CallState, CallInput
_TERMINAL = (_S.LEFT, _S.FAILED)

TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (_S.IDLE, _I.JOIN): _S.JOINING,
    (_S.IDLE, _I.LEAVE): _S.LEFT,
    (_S.JOINING, _I.WELCOMED): _S.WAITING,
    (_S.JOINING, _I.LEAVE): _S.LEFT,
    (_S.JOINING, _I.FAIL): _S.FAILED,
    (_S.WAITING, _I.PEER_CONNECTED): _S.CONNECTED,
    (_S.WAITING, _I.NO_PEER_CONNECTED): _S.WAITING,
    (_S.WAITING, _I.LEAVE): _S.LEFT,
    (_S.WAITING, _I.FAIL): _S.FAILED,
    (_S.CONNECTED, _I.PEER_CONNECTED): _S.CONNECTED,
    (_S.CONNECTED, _I.NO_PEER_CONNECTED): _S.WAITING,
    (_S.CONNECTED, _I.LEAVE): _S.LEFT,
    (_S.CONNECTED, _I.FAIL): _S.FAILED,
}
"""Every allowed (state, input) pair. Anything else is ignored (and logged at debug level)."""

ChangeCallback = Callable[[CallState, CallState, float], None]


class CallStateMachine:
    def __init__(
        self, on_change: ChangeCallback, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._on_change = on_change
        self._now = now
        self._state = CallState.IDLE
        self._since = now()

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def since(self) -> float:
        """When the current state was entered (the injected clock's time)."""
        return self._since

    @property
    def finished(self) -> bool:
        return self._state in _TERMINAL

    def handle(self, event: CallInput) -> CallState:
        """Apply `event`; report a change to `on_change` only when the state really changes."""
        new = TRANSITIONS.get((self._state, event))
        if new is None:
            log.debug("ignored %s in state %s", event.value, self._state.value)
            return self._state
        if new is not self._state:
            old, self._state = self._state, new
            self._since = self._now()
            log.info("call state %s -> %s", old.value, new.value)
            self._on_change(old, new, self._since)
        return self._state
