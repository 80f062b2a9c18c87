"""Once a second, every link's figures (Qt-free): one StatsReport per peer for the listeners, and
the connected peers' figures handed to each consumer in turn (the video ladder, the media mode,
anything else that acts on quality), so those never call each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from app.call.events import CallEvent, PeerStats, StatsReport
from app.call.peer import RemotePeer

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 1.0

StatsConsumer = Callable[[Sequence[PeerStats]], object]  # what it returns is ignored


class StatsMonitor:
    def __init__(
        self,
        links: Callable[[], list[RemotePeer]],
        is_current: Callable[[RemotePeer], bool],
        emit: Callable[[CallEvent], None],
        decorate: Callable[[RemotePeer, PeerStats], PeerStats] | None = None,
    ) -> None:
        """`links` lists the links now; `is_current` says whether one is still in use once its
        figures arrive; `decorate` adds what the link alone does not know (what we send)."""
        self._links = links
        self._is_current = is_current
        self._emit = emit
        self._decorate = decorate
        self.consumers: list[StatsConsumer] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += STATS_INTERVAL_S
            await asyncio.sleep(max(due - loop.time(), 0.0))
            await self.tick()

    async def tick(self) -> None:
        connected: list[PeerStats] = []
        for link in self._links():
            try:
                snapshot = await link.snapshot()
            except Exception as exc:  # a closing connection has no stats: skip it
                log.debug("no stats for peer %s: %s", link.peer_id, type(exc).__name__)
                continue
            if not self._is_current(link):
                continue
            stats = link.tracker.update(snapshot)
            if self._decorate is not None:
                stats = self._decorate(link, stats)
            self._emit(StatsReport(snapshot.at, stats))
            if link.connected:  # a link still negotiating sends nothing yet
                connected.append(stats)
        for consume in self.consumers:
            try:
                consume(connected)
            except Exception:
                log.exception("stats consumer failed")
