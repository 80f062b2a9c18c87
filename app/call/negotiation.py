"""The negotiation deadline: how long a peer connection may take to reach "connected".

aiortc gives up on a path that never works only after ~30-64 s (ICE checks, consent, DTLS
retransmissions) and never when the remote simply does not answer an offer, so a couple would
look at a tile that says "on its way" for a minute or forever. The engine starts one deadline per
peer connection when negotiation starts and settles it when the connection is up; one that runs
out names the peer `peer_unreachable` and the engine closes that connection, not the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

# From the first step of negotiation (our offer, or their offer arriving) to "connected". On one
# LAN or through TURN aiortc connects in well under a second (docs: 0.06 s measured); 15 s
# leaves room for a slow TURN allocation and a congested uplink, yet tells the couple something
# long before aiortc's own failure.
NEGOTIATION_DEADLINE_S = 15.0

K = TypeVar("K", bound=Hashable)


class Deadlines(Generic[K]):
    """One timer per key on the running asyncio loop; `on_expiry(key)` runs when it runs out.

    Starting a key again restarts its timer. Settling or cancelling a key that has no timer is
    harmless, so callers need not track which links still have one.
    """

    def __init__(self, seconds: float, on_expiry: Callable[[K], None]) -> None:
        self._seconds = seconds
        self._on_expiry = on_expiry
        self._timers: dict[K, asyncio.TimerHandle] = {}

    @property
    def seconds(self) -> float:
        return self._seconds

    def start(self, key: K) -> None:
        self.settle(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self._seconds, self._expire, key)

    def settle(self, key: K) -> None:
        """`key` made it (or is gone): its deadline no longer applies."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def pending(self, key: K) -> bool:
        return key in self._timers

    def cancel_all(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _expire(self, key: K) -> None:
        del self._timers[key]
        self._on_expiry(key)
