"""What a server may say (docs/protocol.md): the limits a client checks on every message it
receives, and the full schema check of each server message (tests use it).

A client never takes a hostile server's word for more than an honest one could mean: no string
longer, no list longer and no number further out than the protocol allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.net.signaling_protocol import (
    ERROR_CODES,
    MAX_CHAT_ID_CHARS,
    MAX_CHAT_TEXT_CHARS,
    MAX_ERROR_CODE_CHARS,
    MAX_ERROR_TEXT_CHARS,
    MAX_HEARTBEAT_S,
    MAX_ICE_SERVERS,
    MAX_ICE_TEXT_CHARS,
    MAX_ICE_URLS,
    MAX_ID_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_NAME_CHARS,
    MAX_PEERS,
    MAX_ROOM_CHARS,
    MIN_HEARTBEAT_S,
    PEER_LEFT_REASONS,
    SUPPORTED_VERSIONS,
    MessageError,
    Schema,
    check_fields,
)

_PEER_SCHEMA: Schema = {
    "peer_id": (str, True),
    "name": (str, True),
    "role": (str, True),
    "v": (int, False),  # absent from a v1 server: read as 1
}
_SERVER_SCHEMAS: dict[str, Schema] = {
    "welcome": {
        "v": (int, True),
        "peer_id": (str, True),
        "room": (str, True),
        "role": (str, True),
        "name": (str, True),
        "heartbeat_s": (float, True),
        "ice_servers": (list, True),
        "peers": (list, True),
        "resumed": (bool, False),  # required from v2 on (checked below)
        "grace_s": (float, False),
    },
    "error": {"code": (str, True), "message": (str, True), "fatal": (bool, True)},
    "peer_joined": {"peer": (dict, True)},
    "peer_left": {"peer_id": (str, True), "reason": (str, True)},
    "peer_reconnecting": {"peer_id": (str, True)},
    "peer_resumed": {"peer_id": (str, True)},
    "peer_replaced": {"peer_id": (str, True)},
    "offer": {"from": (str, True), "sdp": (str, True)},
    "answer": {"from": (str, True), "sdp": (str, True)},
    "restart": {"from": (str, True)},
    "chat": {"from": (str, True), "id": (str, True), "text": (str, True)},
    "chat_ack": {"from": (str, True), "id": (str, True)},
    "pong": {},
}


# The strings a server message may carry, per type: field -> most characters.
_SERVER_TEXT_LIMITS: dict[str, dict[str, int]] = {
    "welcome": {
        "peer_id": MAX_ID_CHARS,
        "room": MAX_ROOM_CHARS,
        "role": MAX_ID_CHARS,
        "name": MAX_NAME_CHARS,
    },
    "error": {"code": MAX_ERROR_CODE_CHARS, "message": MAX_ERROR_TEXT_CHARS},
    "peer_left": {"peer_id": MAX_ID_CHARS, "reason": MAX_ERROR_CODE_CHARS},
    "peer_reconnecting": {"peer_id": MAX_ID_CHARS},
    "peer_resumed": {"peer_id": MAX_ID_CHARS},
    # A relayed SDP is the one a client sent: at most a client message's size.
    "offer": {"from": MAX_ID_CHARS, "sdp": MAX_MESSAGE_BYTES},
    "answer": {"from": MAX_ID_CHARS, "sdp": MAX_MESSAGE_BYTES},
    "restart": {"from": MAX_ID_CHARS},
    "chat": {"from": MAX_ID_CHARS, "id": MAX_CHAT_ID_CHARS, "text": MAX_CHAT_TEXT_CHARS},
    "chat_ack": {"from": MAX_ID_CHARS, "id": MAX_CHAT_ID_CHARS},
}
_PEER_TEXT_LIMITS = {"peer_id": MAX_ID_CHARS, "name": MAX_NAME_CHARS, "role": MAX_ID_CHARS}


def _check_texts(obj: Mapping[str, Any], limits: Mapping[str, int], kind: str) -> None:
    for name, limit in limits.items():
        value = obj.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise MessageError("bad_message", f"{kind}: {name!r} is longer than {limit}")


def _check_count(value: object, limit: int, what: str) -> None:
    if isinstance(value, list) and len(value) > limit:
        raise MessageError("bad_message", f"{what}: at most {limit}, not {len(value)}")


def _number(value: object) -> float | None:
    """A JSON number as a float; None for anything else (bool included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _check_welcome_limits(obj: dict[str, Any]) -> None:
    heartbeat = _number(obj.get("heartbeat_s"))
    if heartbeat is not None and not MIN_HEARTBEAT_S <= heartbeat <= MAX_HEARTBEAT_S:
        raise MessageError(
            "bad_message",
            f"welcome: heartbeat_s must be {MIN_HEARTBEAT_S}-{MAX_HEARTBEAT_S} s",
        )
    grace = _number(obj.get("grace_s"))
    if grace is not None and not (math.isfinite(grace) and grace >= 0):
        raise MessageError("bad_message", "welcome: grace_s must be a number of seconds")
    peers = obj.get("peers")
    _check_count(peers, MAX_PEERS, "welcome: the others in a room")
    for peer in peers if isinstance(peers, list) else ():
        if isinstance(peer, dict):
            _check_texts(peer, _PEER_TEXT_LIMITS, "welcome.peers")
    servers = obj.get("ice_servers")
    _check_count(servers, MAX_ICE_SERVERS, "welcome: ice_servers")
    for server in servers if isinstance(servers, list) else ():
        if not isinstance(server, dict):
            continue
        urls = server.get("urls")
        _check_count(urls, MAX_ICE_URLS, "welcome: the urls of an ICE server")
        for url in urls if isinstance(urls, list) else [urls]:
            _check_texts({"urls": url}, {"urls": MAX_ICE_TEXT_CHARS}, "welcome.ice_servers")
        limits = {"username": MAX_ICE_TEXT_CHARS, "credential": MAX_ICE_TEXT_CHARS}
        _check_texts(server, limits, "welcome.ice_servers")


def check_server_message(obj: dict[str, Any]) -> None:
    """Raise MessageError (bad_message) if a server message breaks the protocol's limits.

    What a client checks of everything it receives, before it acts on it: no string longer,
    no list longer and no number further out than an honest server could send (a room holds
    at most MAX_PEERS others; heartbeat_s is MIN_HEARTBEAT_S-MAX_HEARTBEAT_S). Types and
    missing fields are left to the reader of each message, and unknown types and fields pass:
    a newer server may add them.
    """
    kind = obj.get("type")
    if not isinstance(kind, str):
        return
    _check_texts(obj, _SERVER_TEXT_LIMITS.get(kind, {}), kind)
    if kind == "welcome":
        _check_welcome_limits(obj)
    elif kind == "peer_joined" and isinstance(obj.get("peer"), dict):
        _check_texts(obj["peer"], _PEER_TEXT_LIMITS, "peer_joined.peer")


def validate_server_message(obj: dict[str, Any]) -> None:
    """Raise MessageError unless `obj` is a well-formed server message within the limits."""
    check_server_message(obj)
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _SERVER_SCHEMAS:
        raise MessageError("unknown_type", f"unknown server message type {kind!r}")
    check_fields(obj, _SERVER_SCHEMAS[kind], kind)
    if kind == "welcome":
        if obj["v"] not in SUPPORTED_VERSIONS:
            raise MessageError("bad_message", "welcome: unknown version")
        if obj["v"] >= 2 and not ("resumed" in obj and "grace_s" in obj):
            raise MessageError("bad_message", "welcome: v2 needs 'resumed' and 'grace_s'")
        for peer in obj["peers"]:
            if not isinstance(peer, dict):
                raise MessageError("bad_message", "welcome: peers must be objects")
            check_fields(peer, _PEER_SCHEMA, "welcome.peers")
        for server in obj["ice_servers"]:
            if not isinstance(server, dict) or not isinstance(server.get("urls"), list):
                raise MessageError("bad_message", "welcome: ice_servers need a 'urls' list")
    elif kind == "peer_joined":
        check_fields(obj["peer"], _PEER_SCHEMA, "peer_joined.peer")
    elif kind == "peer_left" and obj["reason"] not in PEER_LEFT_REASONS:
        raise MessageError("bad_message", "peer_left: unknown reason")
    elif kind == "error" and obj["code"] not in ERROR_CODES:
        raise MessageError("bad_message", "error: unknown code")
