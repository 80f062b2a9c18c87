"""A media link closed while it gathers its ICE candidates closes every socket it bound.

aioice binds one UDP socket per host address before it records any of them on its connection:
a gathering cancelled part-way orphans the sockets bound so far, and one still running when the
connection closes adds its sockets to a closed connection. Both left sockets open until the
garbage collector found them (a ResourceWarning in whichever test was running then): an
emergency call cancelled ("I'm safe now") while the engine was still offering to the
clinician. Here the gathering is held after its first socket, by a gate on the loop's
datagram endpoints, and the link is taken down the ways the engine does it; real aiortc, on
loopback only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import pytest

from app.call.engine import CallEngine
from app.call.events import Peer
from app.call.local_media import LocalMedia
from app.call.peer import RemotePeer
from app.call.signaling import memory_pair
from app.net.signaling_protocol import welcome_msg

FIRST, SECOND = "127.0.0.1", "127.0.0.2"  # both on the loopback interface
SAM = {"peer_id": "sam", "name": "Sam", "role": "partner"}


class GatheringGate:
    """The loop's datagram endpoints, counted; a bind to SECOND waits until open() (by then
    aioice holds a socket on FIRST that its connection does not know of yet)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._real = loop.create_datagram_endpoint
        self.transports: list[asyncio.DatagramTransport] = []
        self.held = asyncio.Event()
        self._open = asyncio.Event()

    async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
        local = kwargs.get("local_addr")
        if local is not None and local[0] == SECOND:
            self.held.set()
            await self._open.wait()
        transport, protocol = await self._real(*args, **kwargs)
        self.transports.append(transport)
        return transport, protocol

    def open(self) -> None:
        self._open.set()

    def left_open(self) -> list[asyncio.DatagramTransport]:
        return [t for t in self.transports if not t.is_closing()]


@pytest.fixture
async def gate(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GatheringGate]:
    loop = asyncio.get_running_loop()
    held = GatheringGate(loop)
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: [FIRST, SECOND])
    monkeypatch.setattr(loop, "create_datagram_endpoint", held.create_datagram_endpoint)
    yield held


def make_link() -> RemotePeer:
    return RemotePeer(
        Peer("sam", "Sam", "partner"),
        ice_servers=(),
        media=LocalMedia(),
        speaker=None,
        now=lambda: 0.0,
        on_state=lambda link, state: None,
        on_frame=lambda link, frame: None,
    )


def task_name(task: asyncio.Task[Any]) -> str:
    """The qualified name of the coroutine a task runs (e.g. "Roster._offer_to")."""
    return str(getattr(task.get_coro(), "__qualname__", ""))


async def test_an_offer_cancelled_while_gathering_then_closed_leaves_no_socket_open(
    gate: GatheringGate,
) -> None:
    """What the engine's shutdown does to a link it is offering on: cancel, then close."""
    link = make_link()
    offer = asyncio.create_task(link.create_offer())
    await asyncio.wait_for(gate.held.wait(), 5)
    assert gate.transports, "nothing bound before the gate: the test would prove nothing"
    offer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await offer
    closing = asyncio.create_task(link.close())
    gate.open()  # the gathering ends (aioice bounds it); close waits for it
    await asyncio.wait_for(closing, 10)
    assert gate.left_open() == [], "sockets bound by the cancelled gathering stayed open"


async def test_a_link_closed_while_its_offer_gathers_closes_what_it_gathers(
    gate: GatheringGate,
) -> None:
    """A link dropped or retired mid-offer: the offer's task goes on, the link closes."""
    link = make_link()
    offer = asyncio.create_task(link.create_offer())
    await asyncio.wait_for(gate.held.wait(), 5)
    closing = asyncio.create_task(link.close())
    gate.open()
    await asyncio.wait_for(closing, 10)
    await asyncio.wait({offer}, timeout=10)
    assert offer.done()
    assert gate.transports and gate.left_open() == [], "sockets bound after close stayed open"


async def test_leaving_while_the_engine_offers_closes_every_socket(gate: GatheringGate) -> None:
    """The emergency call's "I'm safe now" while the engine still offers to the clinician."""
    client, server = memory_pair()
    engine = CallEngine(
        "http://unused.invalid",
        "token",
        camera=None,
        microphone=None,
        listener=lambda event: None,
        signaling=client,
    )

    async def serve() -> None:
        join = await asyncio.wait_for(server.receive(), 5)
        assert join is not None and join["type"] == "join"
        await server.send(welcome_msg("me", "r", "partner", "Alex", 30.0, [], [SAM]))

    serving = asyncio.create_task(serve())
    await asyncio.wait_for(engine.join(), 10)
    await serving
    await asyncio.wait_for(gate.held.wait(), 5)  # our offer to Sam is gathering
    offering = [t for t in asyncio.all_tasks() if "offer_to" in task_name(t)]
    assert offering, "no offer task found: the test would prove nothing"
    leave = asyncio.create_task(engine.leave())

    async def offers_stopped() -> None:
        while not all(task.done() for task in offering):
            await asyncio.sleep(0)

    await asyncio.wait_for(offers_stopped(), 5)  # the shutdown cancelled them
    gate.open()
    await asyncio.wait_for(leave, 10)
    assert gate.left_open() == [], "sockets bound by the interrupted offer stayed open"
