"""The in-call chat (Qt-free): each line delivered once and in order, retried until every
participant has it, and kept out of logs and off the server where it can be.

A line goes to each participant as its own `chat` message; each acknowledges with `chat_ack`.
Each attempt takes one path: the peer connection's data channel when it is usable (peer to
peer, encrypted end to end by DTLS, alive while the server is away), else the server, which
only relays it. A line not acknowledged within RESEND_S is sent again (its state says
"retrying"), by whichever path is usable then, until it is, or until that participant
leaves; the receiver shows a line once whichever paths it came by. Ids are
`<sender nonce>:<sequence>`, so a receiver can put one sender's lines in order and drop a
repeat, and a sender that restarts (a new nonce) is not mistaken for repeats of the old one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from app.call.events import CallEvent, ChatReceived, ChatStatus
from app.call.signaling import Message

log = logging.getLogger(__name__)

# Sends one data-channel message ({"t": "chat" | "chat_ack", ...}) to a peer now; False when
# that peer's data channel cannot take it (the caller then uses signaling).
Direct = Callable[[str, dict[str, str]], bool]

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
        direct: Direct | None = None,
    ) -> None:
        """`send`: a message to the server (relayed to its `to`); `direct`: the data channel."""
        self._send = send
        self._direct = direct
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

    def _sent_direct(self, peer_id: str, message: dict[str, str]) -> bool:
        if self._direct is None:
            return False
        try:
            return self._direct(peer_id, message)
        except Exception as exc:  # the signaling path is still there
            log.debug("chat: data channel refused: %s", type(exc).__name__)
            return False

    async def _offer(self, line: _Outgoing, peer_id: str) -> None:
        if self._sent_direct(peer_id, {"t": "chat", "id": line.message_id, "text": line.text}):
            return
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
        in the sender's order. The same whichever path it came by."""
        if not self._sent_direct(sender, {"t": "chat_ack", "id": message_id}):
            await self._ack_by_signaling(sender, message_id)
        self._show(sender, message_id, text)

    async def _ack_by_signaling(self, sender: str, message_id: str) -> None:
        try:
            await self._send({"type": "chat_ack", "to": sender, "id": message_id})
        except Exception as exc:  # the sender sends it again; we acknowledge then
            log.debug("chat ack not sent: %s", type(exc).__name__)

    def _show(self, sender: str, message_id: str, text: str) -> None:
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
