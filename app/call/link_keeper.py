"""Keeps each media link alive (Qt-free): notices a peer whose media stopped, says so, rides
short outages out on the same connection and rebuilds the connection when media stays away.

Every TICK_S the engine calls `tick()`. Per remote peer a MediaWatchdog turns the link's
running totals (decoded audio frames, one per packet, and video frames) and, for a peer that
sends no media, its data channel's heartbeat into PeerInterrupted / PeerRestored. A peer
interrupted for REBUILD_AFTER_S, or whose connection failed, gets a new RTCPeerConnection
(aiortc has no ICE restart) on the RetrySchedule, but only while signaling is up and the
server does not say the peer itself is reconnecting: an offer nobody can receive helps nobody.
Which side offers is one rule both apply (`offers_to`); the other side asks with a relayed
`restart`. Both sides notice a dead path at about the same moment, so our own rebuild and the
peer's `restart` cross: one offer answers both (an answer does not say which offer it
answers, so a second offer in flight would take the first one's answer and never connect).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from app.call.events import (
    CallEvent,
    Peer,
    PeerInterrupted,
    PeerRestored,
    Reconnected,
    Reconnecting,
)
from app.call.peer import RemotePeer
from app.call.peer_links import PeerLinks
from app.call.retry import RetrySchedule
from app.call.signaling import Message
from app.call.watchdog import CONNECTION_FAILED, Interrupted, MediaWatchdog, Restored

log = logging.getLogger(__name__)

TICK_S = 0.25
# Short outages come back on the same connection within about a second of the path (measured:
# frames reach the link 0.2-1.2 s after a restore); past this, a new connection is cheaper.
REBUILD_AFTER_S = 3.0
# How long one rebuild may take to bring media before the next attempt may replace it (on a
# LAN or through TURN a new connection carries media within about a second; choosing the TURN
# address first takes up to 1.5 s when UDP is blocked: app/call/turn_choice.py). Whoever
# asked for it: a peer's `restart` within this of our offer crossed it and is the same ask.
ATTEMPT_S = 4.0
# The steady wait between attempts once the quick first ones failed. A dead peer link costs a
# fresh connection and two relayed messages per attempt, nothing like a server's reconnect
# storm, so it need not back off to the signaling's 7 s: a path that comes back (UDP allowed
# again, say) is found within this.
PEER_RETRY_EVERY_S = 5.0


@dataclass
class _Watch:
    watchdog: MediaWatchdog
    retry: RetrySchedule = field(default_factory=lambda: RetrySchedule(every_s=PEER_RETRY_EVERY_S))
    next_attempt_at: float | None = None
    noticed_at: float | None = None  # when the interruption was said
    server_reconnecting: bool = False  # the server says the peer's own signaling is down
    last_offer_at: float | None = None


def offers_to(my_id: str, peer_id: str, peer_version: int | None) -> bool:
    """Whether we make the offer when the link to `peer_id` is rebuilt: the smaller peer_id
    offers; a peer that speaks protocol 1 (the older console) never asks, so we always do."""
    if peer_version is not None and peer_version < 2:
        return True
    return my_id < peer_id


class LinkKeeper:
    def __init__(
        self,
        links: PeerLinks,
        *,
        my_id: Callable[[], str | None],
        peer_info: Callable[[str], Peer | None],
        peer_version: Callable[[str], int | None],
        signaling_up: Callable[[], bool],
        send: Callable[[Message], Awaitable[None]],
        emit: Callable[[CallEvent], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        on_gave_up: Callable[[str], None],
        watchdog_limit_s: float = 1.0,
    ) -> None:
        """`on_gave_up(peer_id)`: the retries ran out (10 minutes): the engine lets them go."""
        self._links = links
        self._my_id = my_id
        self._peer_info = peer_info
        self._peer_version = peer_version
        self._signaling_up = signaling_up
        self._send = send
        self._emit = emit
        self._spawn = spawn
        self._on_gave_up = on_gave_up
        self._limit = watchdog_limit_s
        self._watches: dict[str, _Watch] = {}

    def _watch(self, peer_id: str) -> _Watch:
        watch = self._watches.get(peer_id)
        if watch is None:
            watch = self._watches[peer_id] = _Watch(MediaWatchdog(limit_s=self._limit))
        return watch

    def forget(self, peer_id: str) -> None:
        """`peer_id` left the call: nothing more to watch or rebuild."""
        self._watches.pop(peer_id, None)

    def interrupted_for(self, peer_id: str, now: float) -> float:
        watch = self._watches.get(peer_id)
        return 0.0 if watch is None else watch.watchdog.interrupted_for(now)

    def interrupted(self, peer_id: str) -> bool:
        watch = self._watches.get(peer_id)
        return watch is not None and watch.watchdog.interrupted

    # --- what the engine tells us ---------------------------------------------------------

    def tick(self, now: float) -> None:
        for each in self._links.links():
            self._watch(each.peer_id)
        for peer_id, watch in list(self._watches.items()):
            link = self._links.get(peer_id)
            if link is None:
                event = watch.watchdog.observe(now, 0, 0)
            else:  # the heartbeat of a peer that sends no media keeps it from looking gone
                event = watch.watchdog.observe(
                    now, link.audio_frames, link.frames_received, link.quiet_beat_at
                )
            self._said(peer_id, watch, event, now)
            if self._attempt_due(watch, now):
                self._attempt(peer_id, watch, now)

    def link_failed(self, link: RemotePeer, now: float) -> None:
        """The connection to someone connected before failed: interrupted now, rebuilt now."""
        watch = self._watch(link.peer_id)
        event = watch.watchdog.connection_failed(now)
        if event is not None:
            self._said(link.peer_id, watch, event, now)
            watch.next_attempt_at = now

    def peer_reconnecting(self, peer_id: str, reconnecting: bool, now: float) -> None:
        """The server says the peer's signaling dropped (True) or is back (False)."""
        watch = self._watches.get(peer_id)
        if watch is None:
            return
        watch.server_reconnecting = reconnecting
        if not reconnecting and watch.watchdog.interrupted:
            watch.next_attempt_at = now  # it can hear an offer again: try at once

    def signaling_back(self, now: float) -> None:
        """Our own signaling is back: the path probably is too, so try interrupted links now."""
        for watch in self._watches.values():
            if watch.watchdog.interrupted and watch.next_attempt_at is not None:
                watch.next_attempt_at = min(watch.next_attempt_at, now)

    def restart_requested(self, peer_id: str, now: float) -> None:
        """The peer sees no media from us and asks for a fresh offer."""
        info = self._peer_info(peer_id)
        watch = self._watch(peer_id)
        if info is None:
            return
        if self._offer_pending(peer_id, watch, now):
            log.debug("peer %s asked for a new connection; ours is on its way", peer_id)
            return
        watch.last_offer_at = now
        log.info("peer %s asked for a new connection", peer_id)
        self._spawn(self._links.offer_to(info))

    # --- deciding -------------------------------------------------------------------------

    def _said(
        self, peer_id: str, watch: _Watch, event: Interrupted | Restored | None, now: float
    ) -> None:
        if isinstance(event, Interrupted):
            watch.noticed_at = now
            self._emit(PeerInterrupted(now, peer_id, event.reason))
            if event.reason == CONNECTION_FAILED:
                watch.next_attempt_at = now
            else:
                watch.next_attempt_at = event.since + REBUILD_AFTER_S
        elif isinstance(event, Restored):
            self._emit(PeerRestored(now, peer_id, event.ms_interrupted))
            if watch.retry.attempt > 0:
                noticed = watch.noticed_at if watch.noticed_at is not None else now
                self._emit(Reconnected(now, "peer", (now - noticed) * 1000.0, peer_id))
            watch.retry.reset()
            watch.next_attempt_at = watch.noticed_at = None

    def _attempt_due(self, watch: _Watch, now: float) -> bool:
        return (
            watch.watchdog.interrupted
            and watch.next_attempt_at is not None
            and now >= watch.next_attempt_at
            and not watch.server_reconnecting
            and self._signaling_up()
        )

    def _attempt(self, peer_id: str, watch: _Watch, now: float) -> None:
        my_id = self._my_id()
        version = self._peer_version(peer_id)
        if my_id is not None and offers_to(my_id, peer_id, version):
            if self._links.offering(peer_id):  # being made: look again once it is out
                watch.next_attempt_at = now + TICK_S
                return
            if self._offer_pending(peer_id, watch, now):  # a restart's offer is this attempt
                assert watch.last_offer_at is not None
                watch.next_attempt_at = watch.last_offer_at + ATTEMPT_S
                return
        delay = watch.retry.next_delay(now)
        info = self._peer_info(peer_id)
        if delay is None or info is None or my_id is None:
            log.info("peer %s: no connection after the retries; giving up", peer_id)
            self.forget(peer_id)
            self._on_gave_up(peer_id)
            return
        # The schedule's wait counts from this attempt's start, and the attempt has its
        # ATTEMPT_S whatever the schedule says: 4 s apart at first, PEER_RETRY_EVERY_S later.
        watch.next_attempt_at = now + max(ATTEMPT_S, delay)
        self._emit(Reconnecting(now, "peer", watch.retry.attempt, peer_id))
        if offers_to(my_id, peer_id, version):
            watch.last_offer_at = now
            self._spawn(self._links.offer_to(info))
        else:
            self._spawn(self._ask_restart(peer_id))

    def _offer_pending(self, peer_id: str, watch: _Watch, now: float) -> bool:
        """Whether our last offer to `peer_id` is still being made, or was made less than
        ATTEMPT_S ago and its link has not failed (a failed link is dropped at once)."""
        if self._links.offering(peer_id):
            return True
        recent = watch.last_offer_at is not None and now - watch.last_offer_at < ATTEMPT_S
        return recent and self._links.get(peer_id) is not None

    async def _ask_restart(self, peer_id: str) -> None:
        try:
            await self._send({"type": "restart", "to": peer_id})
        except Exception as exc:  # signaling dropped meanwhile: the next attempt asks again
            log.info("could not ask peer %s for a new connection: %s", peer_id, type(exc).__name__)
