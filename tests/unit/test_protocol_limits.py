"""What the codec refuses whatever it is given, and the limits on what a server may say
(app/net/signaling_protocol.py), from both sides: the server's decode and the client's."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from app.call.signaling import ProtocolError, decode, parse_welcome
from app.net import signaling_protocol as protocol
from app.net.server_messages import check_server_message, validate_server_message
from app.net.signaling_protocol import (
    MAX_FRAME_BYTES,
    MAX_HEARTBEAT_S,
    MAX_JSON_DEPTH,
    MAX_PEERS,
    MIN_HEARTBEAT_S,
    MessageError,
    nested_deeper_than,
    parse_client_message,
    welcome_msg,
)
from app.server.config import ConfigError, RoomLimits, ServerConfig
from app.server.tokens import MAX_NAME_CHARS

WELCOME = welcome_msg("me", "room", "partner", "Me", 1.0, ice_servers=[], peers=[])


def nest(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("{}", False),
        (nest(MAX_JSON_DEPTH), False),
        (nest(MAX_JSON_DEPTH + 1), True),
        ('{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1), True),
        # Brackets in strings are text, escaped quotes included.
        ('["' + "[" * 100 + '"]', False),
        ('["\\"' + "{" * 100 + '"]', False),
        # Many brackets, none deep.
        ("[" + ",".join(["[]"] * 100) + "]", False),
        # Not JSON at all: some answer, never an exception.
        ("]" * 100 + "[" * 10, False),
        ('"' + "[" * 100, True),
    ],
)
def test_nesting_depth(text: str, deeper: bool) -> None:
    assert nested_deeper_than(text, MAX_JSON_DEPTH) is deeper


@pytest.mark.parametrize(
    "text",
    [
        nest(100_000),
        '{"type":"ping","x":' + nest(MAX_JSON_DEPTH) + "}",
        '{"type":"ping","x":NaN}',
        '{"type":"ping","x":Infinity}',
        '{"type":"ping","x":-Infinity}',
        '{"type":"ping","x":1e999}',
        '{"type":"ping","x":' + "9" * 5000 + "}",
        b"\xff\xfe{}",
        b'{"type":"ping","x":' + b"[" * 50_000 + b"}",
    ],
)
def test_the_codec_refuses_in_its_own_words(text: str | bytes) -> None:
    with pytest.raises(MessageError) as refused:
        protocol.decode(text, MAX_FRAME_BYTES)
    assert refused.value.code == "bad_message"
    if isinstance(text, str):
        with pytest.raises(MessageError):
            parse_client_message(text)
        with pytest.raises(ProtocolError):
            decode(text)


def test_the_codec_still_reads_what_is_fine() -> None:
    text = '{"type":"ping","x":' + nest(MAX_JSON_DEPTH - 1) + ',"y":1.5,"z":"[[["}'
    assert protocol.decode(text)["y"] == 1.5
    assert protocol.decode(text.encode())["z"] == "[[["


def test_the_recursion_backstop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the depth check ever let one through, the parser's RecursionError is a
    bad_message too: the codec raises nothing but MessageError."""
    monkeypatch.setattr(protocol, "nested_deeper_than", lambda text, limit: False)
    with pytest.raises(MessageError) as refused:
        protocol.decode(nest(30_000))
    assert refused.value.code == "bad_message"


def test_the_room_limit_is_the_servers() -> None:
    limits = RoomLimits()
    assert limits.partner + limits.therapist + limits.oncall - 1 == MAX_PEERS
    assert protocol.MAX_NAME_CHARS == MAX_NAME_CHARS


# --- what a server may say --------------------------------------------------------------------


def peer(n: int, **changes: Any) -> dict[str, Any]:
    return {"peer_id": f"p{n}", "name": "N", "role": "partner", "v": 2, **changes}


@pytest.mark.parametrize(
    "message",
    [
        {**WELCOME, "peers": [peer(n) for n in range(MAX_PEERS + 1)]},
        {**WELCOME, "heartbeat_s": 0},
        {**WELCOME, "heartbeat_s": MIN_HEARTBEAT_S / 2},
        {**WELCOME, "heartbeat_s": MAX_HEARTBEAT_S * 2},
        {**WELCOME, "heartbeat_s": float("nan")},
        {**WELCOME, "heartbeat_s": float("inf")},
        {**WELCOME, "grace_s": -1},
        {**WELCOME, "grace_s": float("nan")},
        {**WELCOME, "peer_id": "p" * 129},
        {**WELCOME, "name": "n" * (MAX_NAME_CHARS + 1)},
        {**WELCOME, "room": "r" * 129},
        {**WELCOME, "peers": [peer(1, name="n" * 65)]},
        {**WELCOME, "ice_servers": [{"urls": ["stun:x"]}] * 9},
        {**WELCOME, "ice_servers": [{"urls": ["stun:x"] * 17}]},
        {**WELCOME, "ice_servers": [{"urls": "stun:" + "x" * 600}]},
        {**WELCOME, "ice_servers": [{"urls": ["turn:x"], "credential": "c" * 600}]},
        {"type": "peer_joined", "peer": peer(1, peer_id="p" * 129)},
        {"type": "peer_left", "peer_id": "p", "reason": "r" * 65},
        {"type": "peer_reconnecting", "peer_id": "p" * 129},
        {"type": "offer", "from": "p", "sdp": "x" * (protocol.MAX_MESSAGE_BYTES + 1)},
        {"type": "chat", "from": "p", "id": "1", "text": "x" * 2001},
        {"type": "chat_ack", "from": "p", "id": "1" * 65},
        {"type": "error", "code": "c" * 65, "message": "m", "fatal": False},
        {"type": "error", "code": "c", "message": "m" * 1001, "fatal": False},
    ],
)
def test_over_the_limits_of_a_server_message(message: dict[str, Any]) -> None:
    with pytest.raises(MessageError):
        check_server_message(message)
    with pytest.raises(ProtocolError):
        decode(json.dumps(message, allow_nan=True))
    if message["type"] == "welcome":
        with pytest.raises(ProtocolError):
            parse_welcome(message)


@pytest.mark.parametrize(
    "message",
    [
        {**WELCOME, "peers": [peer(n) for n in range(MAX_PEERS)]},
        {**WELCOME, "heartbeat_s": MIN_HEARTBEAT_S},
        {**WELCOME, "heartbeat_s": MAX_HEARTBEAT_S},
        {**WELCOME, "ice_servers": [{"urls": "stun:x"}, {"urls": ["turn:x"], "username": "u"}]},
        # Wrong types and missing fields are for the reader of each message, not for limits.
        {**WELCOME, "peers": "not a list", "ice_servers": [3], "heartbeat_s": "1"},
        {**WELCOME, "peers": [7]},
        {"type": "peer_joined", "peer": 5},
        {"type": "something_new", "x": "y" * 10_000},
        {"type": 5},
    ],
)
def test_within_the_limits(message: dict[str, Any]) -> None:
    check_server_message(message)


def test_the_strict_validator_checks_the_limits_too() -> None:
    validate_server_message({**WELCOME, "peers": [peer(n) for n in range(MAX_PEERS)]})
    with pytest.raises(MessageError):
        validate_server_message({**WELCOME, "peers": [peer(n) for n in range(MAX_PEERS + 1)]})


@pytest.mark.parametrize("heartbeat", [MIN_HEARTBEAT_S / 2, MAX_HEARTBEAT_S + 1])
def test_a_server_is_not_configured_past_what_clients_accept(heartbeat: float) -> None:
    with pytest.raises(ConfigError, match="heartbeat_s\\) must be 0.01-60 s"):
        ServerConfig(secret=secrets.token_urlsafe(32), heartbeat_s=heartbeat).validate()
    ServerConfig(secret=secrets.token_urlsafe(32), heartbeat_s=MAX_HEARTBEAT_S).validate()
