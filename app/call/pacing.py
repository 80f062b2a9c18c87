"""Paces a local track: frame n is due at start + n / rate."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Frame n is due at start + n / rate; never bursts to catch up after a stall."""

    def __init__(self, rate: float) -> None:
        self._period = 1.0 / rate
        self._next: float | None = None
        self.count = 0

    def set_rate(self, rate: float) -> None:
        """The frame already scheduled keeps its time; the ones after it follow the new rate."""
        self._period = 1.0 / rate

    async def wait(self) -> int:
        now = time.monotonic()
        if self._next is None:
            self._next = now
        elif self._next > now:
            await asyncio.sleep(self._next - now)
        else:
            self._next = max(self._next, now - self._period)
        self._next += self._period
        index, self.count = self.count, self.count + 1
        return index
