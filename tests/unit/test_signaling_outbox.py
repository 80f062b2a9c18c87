"""The server's per-client Outbox (app/server/signaling.py): order, direct replies, overflow, close.

A fake WebSocket records frames; a gate on it plays a client that does not read. Nothing waits
on the clock: each step awaits the outbox itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from app.server.outbox import OTHERS_LIMIT, SENDER_SHARE
from app.server.signaling import OUTBOX_LIMIT, Outbox


class FakeWs:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.reading = asyncio.Event()  # cleared: the client does not read, writes never finish
        self.reading.set()
        self.wrote = asyncio.Event()
        self.fail = fail

    async def send_str(self, text: str) -> None:
        if self.fail:
            raise ConnectionResetError("gone")
        self.sent.append(text)
        self.wrote.set()
        await self.reading.wait()

    async def close(self, code: int) -> None:
        self.closed_with = code


class FakeTransport:
    def __init__(self, buffered: int = 0) -> None:
        self.buffered = buffered

    def get_write_buffer_size(self) -> int:
        return self.buffered


def outbox(ws: FakeWs, transport: FakeTransport | None = None) -> tuple[Outbox, list[str]]:
    overflows: list[str] = []
    box = Outbox(
        cast(Any, ws),
        cast(Any, transport or FakeTransport()),
        on_overflow=lambda: overflows.append("overflow"),
    )
    return box, overflows


async def test_reply_is_written_at_once_when_nothing_waits() -> None:
    ws = FakeWs()
    box, _ = outbox(ws)
    await box.reply("welcome")
    assert ws.sent == ["welcome"]  # written within the call, not by a later task
    await box.wait_closed()
    assert ws.closed_with == 1000


async def test_reply_keeps_its_place_behind_queued_frames() -> None:
    ws = FakeWs()
    box, _ = outbox(ws)
    box.send("peer_joined")
    await box.reply("pong")
    box.send("offer")
    await box.wait_closed()
    assert ws.sent == ["peer_joined", "pong", "offer"]


async def test_reply_is_queued_while_the_transport_has_a_backlog() -> None:
    ws = FakeWs()
    box, _ = outbox(ws, FakeTransport(buffered=1))
    await box.reply("pong")
    assert ws.sent == []  # left to the drain task: the session never waits on this client
    await box.wait_closed()
    assert ws.sent == ["pong"]


async def test_close_writes_what_was_queued_then_closes_with_the_code() -> None:
    ws = FakeWs()
    box, _ = outbox(ws)
    box.send("error")
    box.close(1008)
    box.send("after close")
    await box.reply("after close too")
    await box.wait_closed()
    assert (ws.sent, ws.closed_with) == (["error"], 1008)


async def test_a_client_that_does_not_read_overflows_once() -> None:
    ws = FakeWs()
    ws.reading.clear()
    box, overflows = outbox(ws)
    for i in range(OUTBOX_LIMIT + 10):
        box.send(f"m{i}")
    await box.reply("pong")  # queued: a write is still pending
    assert overflows == ["overflow"] and box.closing
    ws.reading.set()
    await box.wait_closed()
    assert ws.closed_with == 1000


async def test_a_failed_write_drops_the_rest_and_closes() -> None:
    ws = FakeWs(fail=True)
    box, overflows = outbox(ws)
    box.send("a")
    box.send("b")
    await box.wait_closed()
    box.send("c")
    await box.reply("d")
    assert (ws.sent, ws.closed_with, overflows) == ([], 1000, [])


async def test_sending_again_after_the_queue_emptied_starts_a_new_drain() -> None:
    ws = FakeWs()
    box, _ = outbox(ws)
    box.send("first")
    await ws.wrote.wait()  # the drain wrote it and, with nothing left, ended
    await box.reply("second")
    assert ws.sent == ["first", "second"]  # nothing waited, so written at once
    box.send("third")
    await box.wait_closed()
    assert ws.sent == ["first", "second", "third"]


# --- each sender's share ------------------------------------------------------------------------


async def test_a_sender_past_its_share_is_refused_and_the_reader_kept() -> None:
    ws = FakeWs()
    ws.reading.clear()  # the reader is slow: nothing leaves while the burst comes in
    box, overflows = outbox(ws)
    accepted = [box.send(f"a{i}", sender="attacker") for i in range(SENDER_SHARE + 10)]
    assert accepted == [True] * SENDER_SHARE + [False] * 10
    assert box.send("t0", sender="therapist")  # another sender is untouched
    assert box.send("own")  # so are the reader's own replies
    assert overflows == [] and not box.closing
    ws.reading.set()
    await box.wait_closed()
    assert ws.sent == [f"a{i}" for i in range(SENDER_SHARE)] + ["t0", "own"]
    assert ws.closed_with == 1000


async def test_a_share_is_given_back_as_frames_are_written() -> None:
    ws = FakeWs()
    box, _ = outbox(ws)
    for round_ in range(1, 4):
        for i in range(SENDER_SHARE):
            assert box.send(f"{round_}-{i}", sender="busy")
        await written(ws, round_ * SENDER_SHARE)
    await box.wait_closed()


async def test_others_together_leave_room_for_the_readers_own_replies() -> None:
    ws = FakeWs()
    ws.reading.clear()
    box, overflows = outbox(ws)
    senders = [f"peer{n}" for n in range(OTHERS_LIMIT // SENDER_SHARE + 1)]
    taken = sum(box.send("x", sender=s) for s in senders for _ in range(SENDER_SHARE))
    assert taken == OTHERS_LIMIT  # the last sender found no room
    for _ in range(OUTBOX_LIMIT - OTHERS_LIMIT):
        box.send("own")
    assert overflows == []
    box.send("own")  # the reader's own replies past the limit: it does not read
    assert overflows == ["overflow"]
    ws.reading.set()
    await box.wait_closed()


async def test_a_closing_outbox_drops_what_others_send_without_refusing() -> None:
    box, _ = outbox(FakeWs())
    box.close()
    assert box.send("late", sender="peer")  # not the sender's fault: no rate_limited
    await box.wait_closed()


async def written(ws: FakeWs, count: int) -> None:
    """Until `count` frames were written (each write sets `wrote`)."""
    async with asyncio.timeout(10):
        while len(ws.sent) < count:
            ws.wrote.clear()
            await ws.wrote.wait()
