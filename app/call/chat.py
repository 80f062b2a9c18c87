"""The in-call chat (Qt-free): each line delivered once and in order, retried until every
participant has it, and kept out of logs and off the server (which only relays it).

A line goes to each participant as its own relayed `chat` message; each acknowledges with
`chat_ack`. A line not acknowledged within RESEND_S is sent again (its state says "retrying")
until it is, or until that participant leaves. Ids are `<sender nonce>:<sequence>`, so a
receiver can put one sender's lines in order and drop a repeat, and a sender that restarts
(a new nonce) is not mistaken for repeats of the old one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from app.call.events import CallEvent, ChatReceived, ChatStatus
from app.call.signaling import Message

log = logging.getLogger(__name__)

RESEND_S = 2.0
SENDING, DELIVERED, RETRYING = "sending", "delivered", "retrying"


@dataclass
class _Outgoing:
    message_id: str
    text: str
    waiting: set[str]  # participants who have not acknowledged it yet
    sent_at: float
    state: str = SENDING


@dataclass
class _Incoming:
    """One sender's lines (one nonce): the next sequence number due, and early arrivals."""

    next_seq: int = 1
    early: dict[int, str] = field(default_factory=dict)


def _split_id(message_id: str) -> tuple[str, int] | None:
    nonce, _, seq = message_id.rpartition(":")
    return (nonce, int(seq)) if nonce and seq.isdigit() else None


class Chat:
    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        emit: Callable[[CallEvent], None],
        now: Callable[[], float],
    ) -> None:
        self._send = send
        self._emit = emit
        self._now = now
        self._nonce = secrets.token_hex(4)
        self._seq = 0
        self._outgoing: dict[str, _Outgoing] = {}
        self._incoming: dict[tuple[str, str], _Incoming] = {}

    async def say(self, text: str, to: Iterable[str]) -> str:
        """Send `text` to the participants `to`; returns the line's id."""
        self._seq += 1
        message_id = f"{self._nonce}:{self._seq}"
        line = _Outgoing(message_id, text, set(to), self._now())
        self._outgoing[message_id] = line
        self._emit(ChatStatus(self._now(), message_id, SENDING))
        if not line.waiting:  # nobody else here: nothing to wait for
            self._delivered(line)
            return message_id
        for peer_id in sorted(line.waiting):
            await self._offer(line, peer_id)
        return message_id

    async def _offer(self, line: _Outgoing, peer_id: str) -> None:
        message = {"type": "chat", "to": peer_id, "id": line.message_id, "text": line.text}
        try:
            await self._send(message)
        except Exception as exc:  # signaling is down: resent when it is back (tick)
            log.debug("chat line not sent yet: %s", type(exc).__name__)
            self._set(line, RETRYING)

    async def tick(self) -> None:
        """Resend what is overdue (call about once a second, and when signaling is back)."""
        now = self._now()
        for line in list(self._outgoing.values()):
            if now - line.sent_at < RESEND_S:
                continue
            line.sent_at = now
            self._set(line, RETRYING)
            for peer_id in sorted(line.waiting):
                await self._offer(line, peer_id)

    def acknowledged(self, peer_id: str, message_id: str) -> None:
        line = self._outgoing.get(message_id)
        if line is not None:
            line.waiting.discard(peer_id)
            if not line.waiting:
                self._delivered(line)

    def participant_gone(self, peer_id: str) -> None:
        """Who left cannot acknowledge: a line waiting only for them is done."""
        for line in list(self._outgoing.values()):
            if peer_id in line.waiting:
                self.acknowledged(peer_id, line.message_id)

    async def received(self, sender: str, message_id: str, text: str) -> None:
        """A line from `sender`: acknowledged always (the ack may have been lost), shown once,
        in the sender's order."""
        try:
            await self._send({"type": "chat_ack", "to": sender, "id": message_id})
        except Exception as exc:  # the sender sends it again; we acknowledge then
            log.debug("chat ack not sent: %s", type(exc).__name__)
        parts = _split_id(message_id)
        if parts is None:
            return
        nonce, seq = parts
        stream = self._incoming.setdefault((sender, nonce), _Incoming())
        if seq < stream.next_seq or seq in stream.early:
            return  # a repeat
        stream.early[seq] = text
        while stream.next_seq in stream.early:
            line = stream.early.pop(stream.next_seq)
            stream.next_seq += 1
            self._emit(ChatReceived(self._now(), sender, line))

    def _delivered(self, line: _Outgoing) -> None:
        self._outgoing.pop(line.message_id, None)
        self._set(line, DELIVERED)

    def _set(self, line: _Outgoing, state: str) -> None:
        if line.state != state:
            line.state = state
            self._emit(ChatStatus(self._now(), line.message_id, state))
