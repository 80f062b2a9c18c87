"""Prints call events as JSON lines (one object per line, flushed) for `tandem join --headless`.

Every line has `type` and `t` (unix seconds). Frames are never printed; names appear only in the
roster events (`joined`, `peer_joined`), which is what stdout is for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TextIO

from app.call.events import (
    CallError,
    CallEvent,
    ChatReceived,
    ChatStatus,
    FirstFrame,
    Joined,
    Left,
    LocalDeviceProblem,
    MediaModeChanged,
    Peer,
    PeerConnected,
    PeerInterrupted,
    PeerJoined,
    PeerLeft,
    PeerRestored,
    Reconnected,
    Reconnecting,
    RemoteFrame,
    ServerSwitched,
    StateChanged,
    StatsReport,
)


def _peer(peer: Peer) -> dict[str, str]:
    return {"peer_id": peer.peer_id, "name": peer.name, "role": peer.role}


def _peer_field(peer_id: str | None) -> dict[str, str]:
    return {} if peer_id is None else {"peer_id": peer_id}


def event_to_json(event: CallEvent, *, chat: bool = False) -> dict[str, Any] | None:
    """The JSON object for `event` (without `t`), or None for events that are not printed.
    Chat lines are printed only with `chat=True` (--chat-echo): they are the couple's words."""
    match event:
        case PeerInterrupted():
            return {"type": "peer_interrupted", "peer_id": event.peer_id, "reason": event.reason}
        case PeerRestored():
            return {
                "type": "peer_restored",
                "peer_id": event.peer_id,
                "ms_interrupted": round(event.ms_interrupted, 1),
            }
        case Reconnecting():
            return {
                "type": "reconnecting",
                "what": event.what,
                "attempt": event.attempt,
                **_peer_field(event.peer_id),
            }
        case Reconnected():
            return {
                "type": "reconnected",
                "what": event.what,
                "ms": round(event.ms, 1),
                **_peer_field(event.peer_id),
            }
        case MediaModeChanged():
            return {
                "type": "media_mode",
                "peer_id": event.peer_id,
                "direction": event.direction,
                "mode": event.mode,
                "reason": event.reason,
            }
        case ServerSwitched():
            return {"type": "server_switched", "from": event.from_server, "to": event.to_server}
        case ChatReceived():
            return {"type": "chat", "from": event.from_peer, "text": event.text} if chat else None
        case ChatStatus():
            return {"type": "chat_status", "id": event.message_id, "state": event.state}
        case Joined():
            return {
                "type": "joined",
                "peer_id": event.peer_id,
                "room": event.room,
                "peers": [_peer(p) for p in event.peers],
            }
        case StateChanged():
            return {"type": "state", "old": event.old.value, "new": event.new.value}
        case PeerJoined():
            return {"type": "peer_joined", **_peer(event.peer)}
        case PeerConnected():
            return {"type": "peer_connected", "peer_id": event.peer_id}
        case FirstFrame():
            return {
                "type": "first_frame",
                "peer_id": event.peer_id,
                "ms_since_join": round(event.ms_since_join, 1),
            }
        case StatsReport():
            stats = {
                k: round(v, 3) if isinstance(v, float) else v
                for k, v in asdict(event.stats).items()
            }
            return {"type": "stats", **stats}
        case PeerLeft():
            return {"type": "peer_left", "peer_id": event.peer_id, "reason": event.reason}
        case Left():
            return {"type": "left", "reason": event.reason}
        case CallError():
            error = {"type": "error", "code": event.code, "message": event.message}
            # Only errors about one peer (peer_unreachable) name it; the call goes on after them.
            return error if event.peer_id is None else {**error, "peer_id": event.peer_id}
        case LocalDeviceProblem():
            return {
                "type": "device_problem",
                "device": event.device,
                "problem": event.problem.value,
            }
        case RemoteFrame():
            return None
    return None


class JsonLinesPrinter:
    """A CallListener writing one JSON line per event to `out`."""

    def __init__(
        self, out: TextIO, *, clock: Callable[[], float] = time.time, chat: bool = False
    ) -> None:
        self._out = out
        self._clock = clock
        self._chat = chat

    def __call__(self, event: CallEvent) -> None:
        body = event_to_json(event, chat=self._chat)
        if body is not None:
            self.write(body)

    def write(self, body: dict[str, Any]) -> None:
        line = json.dumps({"t": round(self._clock(), 3), **body}, separators=(",", ":"))
        self._out.write(line + "\n")
        self._out.flush()
