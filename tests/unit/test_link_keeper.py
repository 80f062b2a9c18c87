"""When a dead peer link is rebuilt, on a fake clock: one offer at a time whoever asks for it,
and never more than PEER_RETRY_EVERY_S without an attempt.

The two sides notice a dead path within a tick of each other, so the one that offers gets
its own rebuild and the other's `restart` at about the same moment. Answering both with an
offer put two offers in flight; the answer to the first was taken by the second's connection
and that rebuild never connected (seen in the UDP-blocked continuity lab, about one run in
two). Attempts also backed off to 11 s apart, so media came back long after the path.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, cast

import pytest

from app.call.events import CallEvent, Peer, Reconnecting
from app.call.link_keeper import ATTEMPT_S, PEER_RETRY_EVERY_S, TICK_S, LinkKeeper
from app.call.peer_links import PeerLinks
from app.call.signaling import Message

ME, THEM = "a-me", "b-them"  # the smaller peer_id offers: ME offers to THEM
STOPPED_AT = 10.0  # media from THEM last arrives here
REBUILD_AT = STOPPED_AT + 3.0  # REBUILD_AFTER_S


@dataclass
class FakeLink:
    peer_id: str
    audio_frames: int = 0
    frames_received: int = 0
    quiet_beat_at: float | None = None


class FakeLinks:
    """What LinkKeeper asks of PeerLinks; an offer makes a new (silent) link at once."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.current: dict[str, FakeLink] = {}
        self.under_way: set[str] = set()
        self.offers: list[float] = []

    def links(self) -> list[FakeLink]:
        return list(self.current.values())

    def get(self, peer_id: str) -> FakeLink | None:
        return self.current.get(peer_id)

    def offering(self, peer_id: str) -> bool:
        return peer_id in self.under_way

    async def offer_to(self, peer: Peer) -> None:
        self.offers.append(self.clock.now)
        self.current[peer.peer_id] = FakeLink(peer.peer_id)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0


def run_now(coro: Coroutine[Any, Any, None]) -> None:
    """The keeper's spawn: the fakes never wait, so each coroutine ends on its first step."""
    with pytest.raises(StopIteration):
        coro.send(None)


class Rig:
    def __init__(self, me: str = ME) -> None:
        self.clock = Clock()
        self.links = FakeLinks(self.clock)
        self.link = self.links.current[THEM] = FakeLink(THEM)
        self.sent: list[tuple[float, Message]] = []
        self.events: list[CallEvent] = []
        self.keeper = LinkKeeper(
            cast(PeerLinks, self.links),
            my_id=lambda: me,
            peer_info=lambda peer_id: Peer(peer_id, "Them", "partner"),
            peer_version=lambda peer_id: 2,
            signaling_up=lambda: True,
            send=self._send,
            emit=self.events.append,
            spawn=run_now,
            on_gave_up=lambda peer_id: None,
        )

    async def _send(self, message: Message) -> None:
        self.sent.append((self.clock.now, message))

    def run_until(self, end: float) -> None:
        """Tick every TICK_S; media from THEM flows (on the current link) until STOPPED_AT."""
        while self.clock.now + TICK_S <= end + 1e-9:
            self.clock.now = round(self.clock.now + TICK_S, 6)
            if self.clock.now <= STOPPED_AT:
                self.link.audio_frames += 10
            self.keeper.tick(self.clock.now)

    def restart_asked(self) -> None:
        self.keeper.restart_requested(THEM, self.clock.now)

    @property
    def restarts(self) -> list[float]:
        return [at for at, message in self.sent if message["type"] == "restart"]


def test_a_restart_that_crosses_our_own_rebuild_is_answered_with_one_offer() -> None:
    rig = Rig()
    rig.run_until(REBUILD_AT - TICK_S)
    rig.restart_asked()  # their rebuild came a tick before ours
    assert rig.links.offers == [REBUILD_AT - TICK_S]
    rig.run_until(REBUILD_AT + 1.0)
    assert rig.links.offers == [REBUILD_AT - TICK_S]  # our own rebuild is that offer
    rig.run_until(REBUILD_AT - TICK_S + ATTEMPT_S)
    assert rig.links.offers == [REBUILD_AT - TICK_S, REBUILD_AT - TICK_S + ATTEMPT_S]


def test_a_restart_after_our_offer_went_out_is_the_same_ask() -> None:
    rig = Rig()
    rig.run_until(REBUILD_AT)
    assert rig.links.offers == [REBUILD_AT]
    rig.run_until(REBUILD_AT + 1.5)  # past the old 1 s hold, still within our offer's time
    rig.restart_asked()
    assert rig.links.offers == [REBUILD_AT]
    rig.run_until(REBUILD_AT + ATTEMPT_S - TICK_S)
    rig.restart_asked()
    assert rig.links.offers == [REBUILD_AT]
    rig.run_until(REBUILD_AT + ATTEMPT_S)  # our offer had its time: our next attempt
    assert rig.links.offers == [REBUILD_AT, REBUILD_AT + ATTEMPT_S]


def test_an_offer_still_being_made_is_the_only_one() -> None:
    rig = Rig()
    rig.links.under_way.add(THEM)  # choosing the TURN address, gathering
    rig.run_until(REBUILD_AT + 2.0)
    rig.restart_asked()
    assert rig.links.offers == []
    assert not [e for e in rig.events if isinstance(e, Reconnecting)]
    rig.links.under_way.clear()
    rig.run_until(REBUILD_AT + 2.0 + TICK_S)
    assert rig.links.offers == [REBUILD_AT + 2.0 + TICK_S]


def test_a_failed_rebuild_waits_for_the_next_attempt_and_a_restart_then_is_answered() -> None:
    rig = Rig()
    rig.run_until(REBUILD_AT + 1.0)
    assert rig.links.offers == [REBUILD_AT]
    failed = rig.links.current.pop(THEM)  # PeerLinks drops a failed link, then says so
    rig.keeper.link_failed(cast(Any, failed), rig.clock.now)
    rig.run_until(REBUILD_AT + ATTEMPT_S - TICK_S)
    assert rig.links.offers == [REBUILD_AT]  # no tight loop of links that fail at once
    rig.restart_asked()  # but nothing of ours is on its way: the peer's ask is answered
    assert rig.links.offers == [REBUILD_AT, REBUILD_AT + ATTEMPT_S - TICK_S]


@pytest.mark.parametrize("me", [ME, "z-asks"], ids=["offers", "asks"])
def test_attempts_come_4_s_apart_then_never_more_than_5_s(me: str) -> None:
    rig = Rig(me)
    rig.run_until(STOPPED_AT + 60.0)
    attempts = rig.links.offers if me == ME else rig.restarts
    assert attempts[0] == REBUILD_AT
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:4] == pytest.approx([ATTEMPT_S] * 4)  # the quick waits are within the attempt
    assert max(gaps) <= PEER_RETRY_EVERY_S + TICK_S  # 4.8 s and 5 s waits, to the tick
    assert gaps[-1] >= PEER_RETRY_EVERY_S
    reconnecting = [e for e in rig.events if isinstance(e, Reconnecting)]
    assert len(reconnecting) == len(attempts)
