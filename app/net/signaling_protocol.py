"""The signaling protocol of docs/protocol.md, shared by the session server and the client.

One place for the version, the size limits, the roles, the JSON codec and every message's
schema: `parse_client_message` turns a client's text frame into a typed message (the server
uses it), the `*_msg` builders make each message; app/net/server_messages.py checks what the server
sends. Unknown extra fields are ignored, so either side
can add optional fields without breaking the other.

Version 2 (call continuity) adds the grace period and resume, `restart` and chat; a server
accepts every version in SUPPORTED_VERSIONS and answers each client in its own.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, ClassVar

PROTOCOL_VERSION = 2
# Every version a server accepts in `join.v`. v1 clients (the clinicians' console) keep working:
# v2 only adds messages and fields (resume, restart, chat, the grace period), all optional for v1.
SUPPORTED_VERSIONS = frozenset({1, 2})
# The server's defaults, told to clients in the welcome (heartbeat_s, and grace_s for v2).
DEFAULT_HEARTBEAT_S = 1.0
DEFAULT_GRACE_S = 30.0
# A message a client sends, in UTF-8 bytes; the server refuses a larger one (`too_large`).
MAX_MESSAGE_BYTES = 64 * 1024
# Any frame either side reads. What the server sends can be larger than MAX_MESSAGE_BYTES (a
# relayed SDP with its JSON escapes), so clients accept frames up to this size; above it the
# WebSocket layer closes the connection (1009) without reading the frame into memory.
MAX_FRAME_BYTES = 1024 * 1024
assert MAX_MESSAGE_BYTES < MAX_FRAME_BYTES  # a too large message is read, and refused in words
MAX_ID_CHARS = 128
MAX_CHAT_ID_CHARS = 64
MAX_CHAT_TEXT_CHARS = 2000
# How deep a message's JSON may nest. The deepest real message is 3 levels (welcome ->
# ice_servers -> one server -> urls); the bound leaves room for optional fields and keeps the
# parser far from Python's recursion limit, which a 64 KiB message of brackets would pass.
MAX_JSON_DEPTH = 32
# Bounds on what a server says, so a client never takes a hostile server's word for more than
# an honest one could mean (docs/protocol.md, "Limits on server messages").
MAX_PEERS = 3  # the others in a room: 2 partners, a therapist and an on-call clinician, less us
MIN_HEARTBEAT_S = 0.01  # a client pings every heartbeat_s: not a flood
MAX_HEARTBEAT_S = 60.0  # and notices a silent server after 3 of them: within minutes
MAX_NAME_CHARS = 64  # a participant's name, as a join token carries it (app/server/tokens.py)
MAX_ROOM_CHARS = 128  # a room id, as a join token carries it
MAX_ICE_SERVERS = 8  # ours sends at most 2 (STUN, TURN)
MAX_ICE_URLS = 16  # per ICE server
MAX_ICE_TEXT_CHARS = 512  # an ICE URL, TURN username or credential
MAX_ERROR_CODE_CHARS = 64  # an error code or a peer_left reason
MAX_ERROR_TEXT_CHARS = 1000  # an error's words for a person
ROLES = frozenset({"partner", "therapist", "oncall"})
PEER_LEFT_REASONS = frozenset({"left", "timeout", "replaced", "revoked"})
MAX_DEVICE_CHARS = 64
ERROR_CODES = frozenset(
    {
        "token_invalid",
        "token_expired",
        "token_revoked",
        "token_wrong_room",
        "token_wrong_role",
        "room_full",
        "bad_message",
        "too_large",
        "unknown_type",
        "unknown_peer",
        "version_unsupported",
        "join_timeout",
        "not_joined",
        "replaced",
        "rate_limited",
    }
)


class MessageError(Exception):
    """A refused message. `code` is the protocol's error code; `fatal` closes the connection."""

    def __init__(self, code: str, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


# --- the codec ---------------------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> str:
    """One message as the text of a frame: compact JSON (non-ASCII escaped, so always valid)."""
    if not isinstance(message.get("type"), str):
        raise MessageError("bad_message", "a message needs a string field 'type'")
    return json.dumps(message, separators=(",", ":"))


def over_limit(text: str | bytes, limit: int) -> bool:
    """Whether `text` takes more than `limit` bytes in UTF-8."""
    if isinstance(text, bytes) or len(text) > limit:
        return len(text) > limit
    # UTF-8 takes at most 4 bytes a character: short texts need no encoding to be measured.
    return len(text) > limit // 4 and len(text.encode("utf-8")) > limit


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes and all
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the JSON in `text` nests arrays and objects more than `limit` deep.

    Linear and without recursion: brackets inside strings are dropped first, then the depth is
    the highest running sum of the rest. Text that is not JSON gets some answer; the parser
    refuses it anyway.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: too few brackets to nest that deep
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but no number a message can mean
        raise ValueError("a number out of range")
    return value


# One decoder for every message (json.loads with options would build one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def decode(text: str | bytes, limit: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """A JSON object with a string `type`, from one text frame of at most `limit` bytes.

    Raises MessageError and nothing else, whatever `text` is: `too_large` above `limit`,
    `bad_message` for anything that is not such an object (NaN and Infinity, which JSON does
    not have, numbers too large for a float, and nesting deeper than MAX_JSON_DEPTH included).
    """
    if over_limit(text, limit):
        raise MessageError("too_large", f"messages are limited to {limit} bytes")
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if nested_deeper_than(text, MAX_JSON_DEPTH):
            raise MessageError("bad_message", f"a message nests at most {MAX_JSON_DEPTH} deep")
        obj = _DECODER.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: never past the depth check, but the codec raises nothing else.
        raise MessageError("bad_message", "the message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise MessageError("bad_message", "a message must be a JSON object")
    if not isinstance(obj.get("type"), str):
        raise MessageError("bad_message", "a message needs a string field 'type'")
    return obj


def expected_roles(text: str) -> frozenset[str]:
    """The roles a client says it expects: one role, or several separated by commas.

    Raises MessageError (token_wrong_role, fatal) for an unknown or empty role.
    """
    roles = frozenset(part.strip() for part in text.split(","))
    if not roles or not roles <= ROLES:
        raise MessageError("token_wrong_role", "join: unknown role", fatal=True)
    return roles


# --- what a client sends -------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    v: int
    token: str
    room: str | None = None  # the room the client expects; must match the token's
    role: str | None = None  # the role(s) the client expects; the token's must be one of them
    resume: bool = False  # v2: the client was in the room and wants its place back
    # Which device this is (random, the same on all its reconnects): a join from another
    # device while the older connection is still there is a takeover (peer_replaced).
    device: str | None = None


@dataclass(frozen=True)
class Relay:
    """An offer or answer for one peer; `type` is "offer" or "answer"."""

    type: str
    to: str
    sdp: str

    def delivered(self, sender: str) -> dict[str, Any]:
        return relayed_msg(self.type, sender, self.sdp)


@dataclass(frozen=True)
class Restart:
    """v2: "please send me a fresh offer" (the other side offers when its peer_id is smaller)."""

    type: ClassVar[str] = "restart"
    to: str

    def delivered(self, sender: str) -> dict[str, Any]:
        return {"type": "restart", "from": sender}


@dataclass(frozen=True)
class Chat:
    """v2: one chat line for one peer; `id` lets the receiver acknowledge it and drop repeats."""

    type: ClassVar[str] = "chat"
    to: str
    id: str
    text: str

    def delivered(self, sender: str) -> dict[str, Any]:
        return {"type": "chat", "from": sender, "id": self.id, "text": self.text}


@dataclass(frozen=True)
class ChatAck:
    """v2: the chat line `id` arrived."""

    type: ClassVar[str] = "chat_ack"
    to: str
    id: str

    def delivered(self, sender: str) -> dict[str, Any]:
        return {"type": "chat_ack", "from": sender, "id": self.id}


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Leave:
    pass


PeerMessage = Relay | Restart | Chat | ChatAck  # relayed to the peer named in `to`
ClientMessage = Join | PeerMessage | Ping | Leave
# The relayed types a v1 client may not send (v1 had only offer and answer).
V2_ONLY_TYPES = frozenset({"restart", "chat", "chat_ack"})

# A field's expected type: `float` accepts an int too; bool is accepted only where asked for
# (Python counts it as an int).
Schema = dict[str, tuple[type, bool]]  # field -> (python type, required)
_CLIENT_SCHEMAS: dict[str, Schema] = {
    "join": {
        "v": (int, True),
        "token": (str, True),
        "room": (str, False),
        "role": (str, False),
        "resume": (bool, False),
        "device": (str, False),
    },
    "offer": {"to": (str, True), "sdp": (str, True)},
    "answer": {"to": (str, True), "sdp": (str, True)},
    "restart": {"to": (str, True)},
    "chat": {"to": (str, True), "id": (str, True), "text": (str, True)},
    "chat_ack": {"to": (str, True), "id": (str, True)},
    "ping": {},
    "leave": {},
}


def _type_ok(value: object, expected: type) -> bool:
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def check_fields(obj: dict[str, Any], schema: Schema, kind: str) -> None:
    for name, (expected, required) in schema.items():
        if name not in obj:
            if required:
                raise MessageError("bad_message", f"{kind}: missing field {name!r}")
            continue
        if not _type_ok(obj[name], expected):
            raise MessageError("bad_message", f"{kind}: field {name!r} must be {expected.__name__}")


def _check_length(obj: dict[str, Any], name: str, limit: int, kind: str) -> str:
    value: str = obj[name]
    if not value or len(value) > limit:
        raise MessageError("bad_message", f"{kind}: {name!r} must be 1-{limit} characters")
    return value


def parse_client_message(text: str) -> ClientMessage:
    """Validate one client message against its schema; raises MessageError."""
    obj = decode(text)
    kind: str = obj["type"]
    schema = _CLIENT_SCHEMAS.get(kind)
    if schema is None:
        raise MessageError("unknown_type", f"unknown message type {kind[:32]!r}")
    check_fields(obj, schema, kind)
    if kind == "join":
        role = obj.get("role")
        if role is not None:
            expected_roles(role)
        device = _check_length(obj, "device", MAX_DEVICE_CHARS, kind) if "device" in obj else None
        return Join(
            v=obj["v"],
            token=obj["token"],
            room=obj.get("room"),
            role=role,
            resume=obj.get("resume", False),
            device=device,
        )
    if kind == "ping":
        return Ping()
    if kind == "leave":
        return Leave()
    if not obj["to"] or len(obj["to"]) > MAX_ID_CHARS:
        raise MessageError("bad_message", f"{kind}: 'to' must be a peer_id")
    to: str = obj["to"]
    if kind == "restart":
        return Restart(to=to)
    if kind == "chat":
        chat_id = _check_length(obj, "id", MAX_CHAT_ID_CHARS, kind)
        return Chat(to=to, id=chat_id, text=_check_length(obj, "text", MAX_CHAT_TEXT_CHARS, kind))
    if kind == "chat_ack":
        return ChatAck(to=to, id=_check_length(obj, "id", MAX_CHAT_ID_CHARS, kind))
    if not obj["sdp"]:
        raise MessageError("bad_message", f"{kind}: 'sdp' must not be empty")
    return Relay(type=kind, to=to, sdp=obj["sdp"])


def join_msg(
    token: str,
    room: str | None = None,
    role: str | None = None,
    *,
    v: int = 1,
    resume: bool = False,
    device: str | None = None,
) -> dict[str, Any]:
    """A join. `v` stays 1 by default until a caller handles v2's messages (restart, chat,
    peer_reconnecting, peer_resumed) and says so with `v=2`; `resume` is v2 only; `device`
    names this client across its reconnects (any version)."""
    message: dict[str, Any] = {"type": "join", "v": v, "token": token}
    if room is not None:
        message["room"] = room
    if role is not None:
        message["role"] = role
    if resume:
        message["resume"] = True
    if device is not None:
        message["device"] = device
    return message


# --- what the server sends -----------------------------------------------------------------------


def peer_info(peer_id: str, name: str, role: str, v: int = PROTOCOL_VERSION) -> dict[str, Any]:
    """A participant as others see it; `v` is the version it joined with (v1 never `restart`s)."""
    return {"peer_id": peer_id, "name": name, "role": role, "v": v}


def welcome_msg(
    peer_id: str,
    room: str,
    role: str,
    name: str,
    heartbeat_s: float,
    ice_servers: list[dict[str, Any]],
    peers: list[dict[str, Any]],
    *,
    v: int = PROTOCOL_VERSION,
    resumed: bool = False,
    grace_s: float = DEFAULT_GRACE_S,
) -> dict[str, Any]:
    """The welcome in the version the client joined with (`resumed`, `grace_s`: v2 only)."""
    message: dict[str, Any] = {
        "type": "welcome",
        "v": v,
        "peer_id": peer_id,
        "room": room,
        "role": role,
        "name": name,
        "heartbeat_s": heartbeat_s,
        "ice_servers": ice_servers,
        "peers": peers,
    }
    if v >= 2:
        message["resumed"] = resumed
        message["grace_s"] = grace_s
    return message


def error_msg(code: str, message: str, fatal: bool) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "fatal": fatal}


def peer_joined_msg(peer: dict[str, Any]) -> dict[str, Any]:
    return {"type": "peer_joined", "peer": peer}


def peer_left_msg(peer_id: str, reason: str) -> dict[str, Any]:
    return {"type": "peer_left", "peer_id": peer_id, "reason": reason}


def peer_reconnecting_msg(peer_id: str) -> dict[str, Any]:
    """v2: the peer's socket is gone; it keeps its place for grace_s (media may go on)."""
    return {"type": "peer_reconnecting", "peer_id": peer_id}


def peer_resumed_msg(peer_id: str) -> dict[str, Any]:
    """v2: the peer is back in its place on a new socket (no peer_left, no peer_joined)."""
    return {"type": "peer_resumed", "peer_id": peer_id}


def peer_replaced_msg(peer_id: str) -> dict[str, Any]:
    """v2: the peer's join code was just used on another device, which took its place while
    the older connection was still there (after peer_resumed: the place is the same)."""
    return {"type": "peer_replaced", "peer_id": peer_id}


def relayed_msg(kind: str, sender: str, sdp: str) -> dict[str, Any]:
    return {"type": kind, "from": sender, "sdp": sdp}


PONG: dict[str, Any] = {"type": "pong"}
