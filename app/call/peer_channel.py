"""The data channel of one peer connection (Qt-free): a heartbeat and a path for chat.

The offerer makes one channel ("tandem", ordered, reliable) before its offer; the answerer gets
it from aiortc's `datachannel` event. It runs peer to peer inside the connection's DTLS, never
through the server. Messages are small JSON objects:

    {"t": "beat"}                          every BEAT_S while the channel is open, plus
                                           "sending": "none" while we send no media on it
    {"t": "chat", "id": ..., "text": ...}  a chat line (app.call.chat)
    {"t": "chat_ack", "id": ...}           its acknowledgement

Any message received is a sign of life (`last_beat_at`). The media watchdog takes only the
beats that say "I send you no media" (`quiet_beat_at`): those keep a peer with no microphone
and no video from looking gone, while a peer whose media stops although it sends some (a path
that lost only RTP, a stuck sender) is still said interrupted and its link rebuilt. The channel
counts as usable for chat only while the other side has spoken on it lately (`usable`): a peer
that accepted the channel but never speaks on it (the clinicians' browser console) or whose path
died (aiortc's SCTP notices only after ~30 s) gets chat over signaling instead. Text is never
logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCDataChannel

log = logging.getLogger(__name__)

LABEL = "tandem"
BEAT_S = 0.5
# Three beats missed: the path (or the peer) is not there now; chat takes signaling meanwhile.
FRESH_S = 1.5
# Bounds what is sent and read. A longest legal chat line (2000 characters, UTF-8, up to four
# bytes each) fits, so no line changes path for its size alone.
MAX_MESSAGE_BYTES = 16 * 1024
MAX_ID_CHARS = 64

DataMessage = dict[str, str]


def parse(data: object) -> DataMessage | None:
    """A well-formed message, or None (unknown kinds too: a newer peer may say more)."""
    if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_MESSAGE_BYTES:
        return None
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    kind = raw.get("t")
    if kind == "beat":
        return {"t": "beat", "sending": "none"} if raw.get("sending") == "none" else {"t": "beat"}
    message_id = raw.get("id")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_ID_CHARS:
        return None
    if kind == "chat_ack":
        return {"t": kind, "id": message_id}
    text = raw.get("text")
    if kind == "chat" and isinstance(text, str):
        return {"t": kind, "id": message_id, "text": text}
    return None


class PeerChannel:
    """The one data channel of a RemotePeer (none until attached)."""

    def __init__(
        self,
        peer_id: str,
        *,
        now: Callable[[], float],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        on_message: Callable[[DataMessage], None],
        sending_media: Callable[[], bool] = lambda: True,
    ) -> None:
        self._peer_id = peer_id
        self._now = now
        self._spawn = spawn
        self._on_message = on_message
        self._sending_media = sending_media
        self._channel: RTCDataChannel | None = None
        self.last_beat_at: float | None = None  # our clock, at the last message received
        self.quiet_beat_at: float | None = None  # ... at the last beat saying "no media"

    @property
    def open(self) -> bool:
        return self._channel is not None and self._channel.readyState == "open"

    @property
    def usable(self) -> bool:
        """Open, and the other side spoke on it within FRESH_S."""
        return (
            self.open
            and self.last_beat_at is not None
            and self._now() - self.last_beat_at <= FRESH_S
        )

    def attach(self, channel: RTCDataChannel) -> None:
        if channel.label != LABEL or self._channel is not None:
            log.debug("peer %s: extra data channel ignored", self._peer_id)
            return
        self._channel = channel
        channel.on("open", self._opened)
        channel.on("message", self._received)
        if channel.readyState == "open":  # an answerer's channel is open when it is announced
            self._opened()

    def send(self, message: DataMessage) -> bool:
        """Send now; False when the channel is not usable or the message too big."""
        if not self.usable:
            return False
        return self._send(message)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def _send(self, message: DataMessage) -> bool:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        if self._channel is None or len(data.encode("utf-8")) > MAX_MESSAGE_BYTES:
            return False
        try:
            self._channel.send(data)
        except Exception as exc:  # closing under us: the caller takes signaling
            log.debug("peer %s: data channel send failed: %s", self._peer_id, type(exc).__name__)
            return False
        return True

    def _opened(self) -> None:
        log.debug("peer %s: data channel open", self._peer_id)
        self._spawn(self._beat())

    async def _beat(self) -> None:
        while self.open and self._send(
            {"t": "beat"} if self._sending_media() else {"t": "beat", "sending": "none"}
        ):
            await asyncio.sleep(BEAT_S)

    def _received(self, data: object) -> None:
        """aiortc's callback: never raises back into it."""
        if isinstance(data, str) and len(data.encode("utf-8")) <= MAX_MESSAGE_BYTES:
            self.last_beat_at = self._now()  # the path carries something: life
        message = parse(data)
        if message is None:
            log.debug("peer %s: ignored a malformed data channel message", self._peer_id)
            return
        if message["t"] == "beat":
            if message.get("sending") == "none":
                self.quiet_beat_at = self.last_beat_at
            return
        try:
            self._on_message(message)
        except Exception:
            log.exception("data channel message handler failed")
