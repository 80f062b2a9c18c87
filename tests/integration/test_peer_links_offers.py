"""One offer to a peer at a time, with real aiortc on loopback (app/call/peer_links.py).

A rebuild's offer first waits for the TURN address to be chosen (up to 1.5 s with UDP blocked)
and then gathers. A second offer asked for meanwhile (the peer's `restart` crossing our own
rebuild) used to make a second connection: both offers went out, the answer to the first was
taken by the second's connection, which never connected, and the first connection was left
open with its TURN allocations. Now the second ask is the same offer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aioice.ice
import pytest

from app.call.events import CallEvent, Peer
from app.call.local_media import LocalMedia
from app.call.peer_links import PeerLinks
from app.call.signaling import Message

SAM = Peer("sam", "Sam", "partner")


class Rig:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.events: list[CallEvent] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.probe_may_end = asyncio.Event()
        self.probes = 0
        self.links = PeerLinks(
            media=LocalMedia(),
            speaker=None,
            send=self._send,
            emit=self.events.append,
            spawn=self._spawn,
            now=lambda: 0.0,
            negotiation_deadline=15.0,
            remote_frames=False,
            on_connected_changed=lambda: None,
        )
        self.links.refresh_ice = self._probe

    async def _send(self, message: Message) -> None:
        self.sent.append(message)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _probe(self) -> None:
        """The TURN choice before a rebuild: held until the test lets it end."""
        self.probes += 1
        await self.probe_may_end.wait()

    def offers(self) -> list[Message]:
        return [m for m in self.sent if m["type"] == "offer"]


@pytest.fixture
async def rig(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])
    made = Rig()
    try:
        yield made
    finally:
        await made.links.close_all()
        if made.tasks:
            await asyncio.wait(made.tasks, timeout=10)


async def first_link(rig: Rig) -> None:
    """A link to Sam that has connected before (so the next offer is a rebuild)."""
    await rig.links.offer_to(SAM)
    rig.links._announced.add(SAM.peer_id)  # as its connection state "connected" does
    rig.sent.clear()


async def test_an_offer_asked_for_while_one_is_being_made_is_that_offer(rig: Rig) -> None:
    await first_link(rig)
    first = asyncio.ensure_future(rig.links.offer_to(SAM))  # our rebuild: waits on the probe
    while rig.probes == 0:
        await asyncio.sleep(0)  # until the first offer waits on the probe (a few steps)
    assert rig.links.offering(SAM.peer_id)
    # The peer's restart: returns at once (not after the probe), nothing made.
    await asyncio.wait_for(rig.links.offer_to(SAM), 5)
    assert rig.probes == 1 and rig.offers() == []
    rig.probe_may_end.set()
    await asyncio.wait_for(first, 10)
    assert len(rig.offers()) == 1
    assert not rig.links.offering(SAM.peer_id)
    link = rig.links.get(SAM.peer_id)
    assert link is not None and link.pc.signalingState == "have-local-offer"
    assert rig.offers()[0]["sdp"] == link.pc.localDescription.sdp


async def test_the_next_offer_after_one_went_out_is_a_new_one(rig: Rig) -> None:
    await first_link(rig)
    rig.probe_may_end.set()
    await rig.links.offer_to(SAM)
    before = rig.links.get(SAM.peer_id)
    await rig.links.offer_to(SAM)
    after = rig.links.get(SAM.peer_id)
    assert len(rig.offers()) == 2 and before is not None and after is not before
    await asyncio.wait_for(asyncio.gather(*rig.tasks), 10)  # the retired link's close
    assert before.pc.connectionState == "closed"
