"""Writes to one signaling client from its own task, so a slow or dead client stalls no one.

The session's own replies (welcome, pong) are written at once when nothing is queued for that
client, without a hop through the outbox: in a burst of joins each welcome leaves as soon as its
join is handled, not after the whole batch.

What others send the client (relays, and news about them) waits in each sender's share
(app/server/shares.py): a sender whose share is full has its message refused, never the reader
dropped. Only the client's own replies piling up past OUTBOX_LIMIT mean that it does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from app.net.signaling_protocol import MAX_PEERS, encode
from app.server.rate_limit import BYTE_BURST, MESSAGE_BURST
from app.server.shares import Shares

# Messages waiting for a client that does not read them; past this it is dropped as timed out.
OUTBOX_LIMIT = 256
# What one other participant may have waiting for this client: more than a burst the rate limit
# lets through (so a burst to a client that reads is never refused), and all of them together
# (a room holds MAX_PEERS others) leave a quarter of the outbox to the client's own replies.
SENDER_SHARE = 64
SENDER_SHARE_BYTES = 2 * BYTE_BURST
OTHERS_LIMIT = MAX_PEERS * SENDER_SHARE
assert MESSAGE_BURST < SENDER_SHARE and OTHERS_LIMIT <= OUTBOX_LIMIT * 3 // 4
# A reply up to this size may be written straight from the session's task (see Outbox.reply).
DIRECT_REPLY_LIMIT = 16 * 1024
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008


class Outbox:
    """Writes text frames to one client in order, then closes it with the code given to close().

    A drain task exists only while frames wait, so an idle connection costs no task.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        on_overflow: Callable[[], None],
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._on_overflow = on_overflow
        self._pending: deque[tuple[str | None, str]] = deque()  # (sender, text)
        self._shares = Shares(SENDER_SHARE, SENDER_SHARE_BYTES, OTHERS_LIMIT)
        self._task: asyncio.Task[None] | None = None
        self._close_code = CLOSE_NORMAL
        self._broken = False  # a write failed: the client is gone
        self.closing = False

    def send(self, text: str, sender: str | None = None) -> bool:
        """Queue `text`; safe from any task, never waits on this client.

        `sender` is the peer_id of the participant whose message (or news) this is; None for
        the client's own replies. False when it is refused: that sender's share is full, or
        others' messages fill all but the room kept for the client's own replies. Frames for
        a connection that is closing are dropped without a word (True).
        """
        if self.closing or self._broken:
            return True
        if sender is not None:
            if not self._shares.admit(sender, len(text)):
                return False
        elif len(self._pending) >= OUTBOX_LIMIT:
            self.closing = True
            self._on_overflow()
            self._start_drain()
            return True
        self._pending.append((sender, text))
        self._start_drain()
        return True

    def send_obj(self, obj: dict[str, Any]) -> None:
        self.send(encode(obj))

    async def reply(self, text: str) -> None:
        """Send from this client's own session task: written at once if nothing waits before it.

        Only when the transport's buffer is empty: then one small frame cannot make aiohttp wait
        for the client to read, so the session never blocks on a client that does not read (its
        replies queue up in the outbox instead, and overflow as usual).
        """
        if self.closing or self._broken:
            return
        if (
            self._task is not None
            or self._transport is None
            or self._transport.get_write_buffer_size()
            or len(text) > DIRECT_REPLY_LIMIT
        ):
            self.send(text)
            return
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self._broken = True  # the client is gone; the session notices on its side

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Close after everything queued so far has been written."""
        if not self.closing:
            self.closing = True
            self._close_code = code
            self._start_drain()

    async def wait_closed(self) -> None:
        self.close()
        if self._task is not None:
            await self._task

    def _start_drain(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending and not self._broken:
            sender, text = self._pending.popleft()
            if sender is not None:
                self._shares.release(sender, len(text))
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self._broken = True  # the client is gone; the session notices on its side
        if not (self.closing or self._broken):
            self._task = None  # all written; the next send starts a new drain
            return
        self._pending.clear()
        self._shares.clear()
        with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
            await self._ws.close(code=self._close_code)
