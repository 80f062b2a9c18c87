"""The engine lets go of everything on every way out: a join cancelled while it waits, a join
that fails while it is being cancelled, a call that fails while the person leaves. Each time
the signaling connection ends closed and no engine task is left running."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.call.engine import CallEngine, JoinError
from app.call.events import CallError, CallEvent, CallState, Left
from app.call.session import CallSession, DeviceFactories
from app.call.signaling import MemorySignaling, Message, memory_pair
from app.net.signaling_protocol import welcome_msg

WELCOME = welcome_msg("me", "r", "partner", "N", 30.0, ice_servers=[], peers=[])


class SlowToClose:
    """Signaling whose close takes until the test says so, as a WebSocket's closing handshake
    can: the moment another task can cut in (and a cancellation can cut the close short)."""

    def __init__(self, inner: MemorySignaling) -> None:
        self.inner = inner
        self.closing = asyncio.Event()
        self.may_close = asyncio.Event()
        self.closes = 0

    async def connect(self) -> None:
        await self.inner.connect()

    async def send(self, message: Message) -> None:
        await self.inner.send(message)

    async def receive(self) -> Message | None:
        return await self.inner.receive()

    async def close(self) -> None:
        self.closes += 1
        self.closing.set()
        await self.may_close.wait()
        await self.inner.close()


class Rig:
    def __init__(self) -> None:
        self.client, self.server = memory_pair()
        self.signaling = SlowToClose(self.client)
        self.events: list[CallEvent] = []
        self.engine = CallEngine(
            "http://unused.invalid",
            "token",
            camera=None,
            microphone=None,
            listener=self.events.append,
            signaling=self.signaling,
        )

    async def join_message(self) -> None:
        join = await self.said()
        assert join is not None and join["type"] == "join"

    async def said(self) -> Message | None:
        """The next message the engine sent (a hang here is a failure, not a wait)."""
        return await asyncio.wait_for(self.server.receive(), 5)

    def errors(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, CallError)]

    def lefts(self) -> int:
        return sum(isinstance(e, Left) for e in self.events)


def nothing_else_running() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


async def until(condition: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), timeout)


async def test_a_join_cancelled_while_waiting_for_welcome_leaves_and_closes() -> None:
    rig = Rig()
    rig.signaling.may_close.set()
    join = asyncio.create_task(rig.engine.join())
    await rig.join_message()
    join.cancel()
    with pytest.raises(asyncio.CancelledError):
        await join
    assert await rig.said() == {"type": "leave"}
    assert rig.client.closed and rig.engine.state is CallState.LEFT
    assert rig.lefts() == 1
    assert nothing_else_running()
    await rig.engine.leave()  # after it: quiet
    assert rig.lefts() == 1 and rig.signaling.closes == 1


async def test_a_failing_join_cancelled_mid_close_still_closes() -> None:
    rig = Rig()
    join = asyncio.create_task(rig.engine.join())
    await rig.join_message()
    await rig.server.send({"type": "error", "code": "token_expired", "message": "old"})
    await asyncio.wait_for(rig.signaling.closing.wait(), 5)  # the refusal is being handled
    join.cancel()  # what leave() does to a join under way
    await until(lambda: join.cancelling() > 0)
    rig.signaling.may_close.set()
    with pytest.raises((asyncio.CancelledError, JoinError)):
        await join
    assert rig.client.closed, "the signaling connection was left open"
    assert rig.engine.state is CallState.FAILED
    assert rig.errors() == ["token_expired"] and rig.lefts() == 0
    assert nothing_else_running()
    await rig.engine.leave()
    assert rig.signaling.closes == 1 and rig.lefts() == 0


async def test_leave_while_the_call_is_failing_waits_for_the_whole_shutdown() -> None:
    rig = Rig()

    async def serve() -> None:
        await rig.join_message()
        await rig.server.send(WELCOME)

    serving = asyncio.create_task(serve())
    await rig.engine.join()
    await serving
    await rig.server.close()  # the server goes away: the receive loop fails the call
    await asyncio.wait_for(rig.signaling.closing.wait(), 5)
    leave = asyncio.create_task(rig.engine.leave())
    await asyncio.sleep(0)  # one turn of the loop: leave() runs until it has to wait
    assert not leave.done()  # it waits for the close under way
    rig.signaling.may_close.set()
    await leave
    assert rig.client.closed and rig.signaling.closes == 1
    assert rig.engine.state is CallState.FAILED
    assert rig.errors() == ["server_lost"] and rig.lefts() == 0
    assert nothing_else_running()


async def test_two_leaves_at_once_leave_once() -> None:
    rig = Rig()

    async def serve() -> None:
        await rig.join_message()
        await rig.server.send(WELCOME)

    serving = asyncio.create_task(serve())
    await rig.engine.join()
    await serving
    first = asyncio.create_task(rig.engine.leave())
    second = asyncio.create_task(rig.engine.leave())
    await asyncio.wait_for(rig.signaling.closing.wait(), 5)
    assert not first.done() and not second.done()
    rig.signaling.may_close.set()
    await asyncio.gather(first, second)
    assert rig.engine.state is CallState.LEFT and rig.lefts() == 1
    assert rig.signaling.closes == 1 and rig.client.closed
    assert await rig.said() == {"type": "leave"}
    assert nothing_else_running()


async def test_the_persons_leave_during_a_refused_join_closes_the_connection() -> None:
    """The race as the call page meets it: CallSession.leave() cancels the join while the
    engine is failing it on the server's refusal."""
    rig = Rig()
    session = CallSession(DeviceFactories(), lambda devices: rig.engine, lambda problem: None)
    join = asyncio.create_task(session.join())
    await rig.join_message()
    await rig.server.send({"type": "error", "code": "room_full", "message": "full"})
    await asyncio.wait_for(rig.signaling.closing.wait(), 5)
    leave = asyncio.create_task(session.leave())
    await until(lambda: join.cancelling() > 0)
    rig.signaling.may_close.set()
    await leave
    assert join.done() and not join.cancelled()
    assert join.exception() is None and join.result() is False  # not shown as a failure
    assert rig.client.closed and rig.signaling.closes == 1
    assert rig.engine.state is CallState.FAILED and rig.errors() == ["room_full"]
    assert nothing_else_running()


class SwallowsCancellation(MemorySignaling):
    """A new connection whose connect swallows a cancellation, as asyncio.wait_for can in
    Python 3.11 when the cancellation and the result arrive together: the task that was told
    to stop goes on reconnecting."""

    def __init__(self, connecting: asyncio.Event) -> None:
        super().__init__()
        self.connecting = connecting

    async def connect(self) -> None:
        self.connecting.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
        raise ConnectionError("nobody is there")


async def test_leave_ends_even_when_a_library_swallows_the_cancellation() -> None:
    connecting = asyncio.Event()
    reconnects: list[str] = []

    def make_signaling(url: str) -> MemorySignaling:
        reconnects.append(url)
        return SwallowsCancellation(connecting)

    client, server = memory_pair()
    engine = CallEngine(
        "http://unused.invalid",
        "token",
        camera=None,
        microphone=None,
        listener=lambda event: None,
        signaling=client,
        signaling_factory=make_signaling,
    )

    async def serve() -> None:
        join = await asyncio.wait_for(server.receive(), 5)
        assert join is not None and join["type"] == "join"
        await server.send(WELCOME)

    serving = asyncio.create_task(serve())
    await engine.join()
    await serving
    await server.close()  # the server is lost: the engine reconnects
    await asyncio.wait_for(connecting.wait(), 10)
    await asyncio.wait_for(engine.leave(), 10)  # a hang here is the failure
    assert engine.state is CallState.LEFT
    assert reconnects == ["http://unused.invalid"], "a reconnect started while closing"
    assert nothing_else_running()
