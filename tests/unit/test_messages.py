"""Message schemas (app/net/signaling_protocol.py), ICE server hand-out (ice.py), settings."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from app.net.signaling_protocol import (
    MAX_MESSAGE_BYTES,
    Join,
    Leave,
    MessageError,
    Ping,
    Relay,
    error_msg,
    parse_client_message,
    peer_info,
    peer_joined_msg,
    peer_left_msg,
    relayed_msg,
    validate_server_message,
    welcome_msg,
)
from app.server.config import ConfigError, RoomLimits, ServerConfig
from app.server.ice import ice_servers, turn_credentials


def _parse(obj: Any) -> object:
    return parse_client_message(json.dumps(obj))


def test_valid_client_messages_parse_to_types() -> None:
    assert _parse({"type": "join", "v": 1, "token": "t"}) == Join(v=1, token="t")
    assert _parse({"type": "join", "v": 1, "token": "t", "room": "r", "role": "oncall"}) == Join(
        v=1, token="t", room="r", role="oncall"
    )
    assert _parse({"type": "offer", "to": "p", "sdp": "v=0"}) == Relay("offer", "p", "v=0")
    assert _parse({"type": "answer", "to": "p", "sdp": "v=0"}) == Relay("answer", "p", "v=0")
    assert _parse({"type": "ping"}) == Ping()
    assert _parse({"type": "leave", "extra": "ignored"}) == Leave()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('"join"', "bad_message"),
        ("{}", "bad_message"),
        ('{"type": 5}', "bad_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "join", "token": "t"}', "bad_message"),
        ('{"type": "join", "v": "1", "token": "t"}', "bad_message"),
        ('{"type": "join", "v": true, "token": "t"}', "bad_message"),
        ('{"type": "join", "v": 1, "token": 5}', "bad_message"),
        ('{"type": "join", "v": 1, "token": "t", "room": 3}', "bad_message"),
        ('{"type": "offer", "sdp": "v=0"}', "bad_message"),
        ('{"type": "offer", "to": "", "sdp": "v=0"}', "bad_message"),
        ('{"type": "answer", "to": "p", "sdp": ""}', "bad_message"),
        ('{"type": "answer", "to": "p", "sdp": null}', "bad_message"),
    ],
)
def test_malformed_client_messages_are_refused(text: str, code: str) -> None:
    with pytest.raises(MessageError) as info:
        parse_client_message(text)
    assert info.value.code == code
    assert not info.value.fatal


def test_join_with_an_unknown_expected_role_is_fatal() -> None:
    with pytest.raises(MessageError) as info:
        _parse({"type": "join", "v": 1, "token": "t", "role": "admin"})
    assert (info.value.code, info.value.fatal) == ("token_wrong_role", True)


def test_size_limit_counts_utf8_bytes() -> None:
    padding = "x" * (MAX_MESSAGE_BYTES - 40)
    assert _parse({"type": "offer", "to": "p", "sdp": padding}) == Relay("offer", "p", padding)
    with pytest.raises(MessageError) as info:
        _parse({"type": "offer", "to": "p", "sdp": "x" * MAX_MESSAGE_BYTES})
    assert info.value.code == "too_large"
    # Under the limit in characters, over it in bytes.
    wide = json.dumps({"type": "offer", "to": "p", "sdp": "é" * 40_000}, ensure_ascii=False)
    with pytest.raises(MessageError) as info:
        parse_client_message(wide)
    assert info.value.code == "too_large"


def test_server_messages_follow_their_schemas() -> None:
    peer = peer_info("p1", "Sam", "partner")
    for message in (
        welcome_msg("p2", "r", "therapist", "Dr", 2.0, [{"urls": ["stun:x"]}], [peer]),
        welcome_msg("p2", "r", "therapist", "Dr", 2, [], []),
        error_msg("room_full", "full", True),
        peer_joined_msg(peer),
        peer_left_msg("p1", "timeout"),
        relayed_msg("offer", "p1", "v=0"),
        relayed_msg("answer", "p1", "v=0"),
        {"type": "pong"},
    ):
        validate_server_message(json.loads(json.dumps(message)))


@pytest.mark.parametrize(
    "message",
    [
        {"type": "nope"},
        {"type": "error", "code": "room_full", "message": "m", "fatal": "yes"},
        {"type": "error", "code": "made_up", "message": "m", "fatal": True},
        {"type": "peer_left", "peer_id": "p", "reason": "bored"},
        {"type": "peer_joined", "peer": {"peer_id": "p", "name": "n"}},
        {"type": "offer", "sdp": "v=0"},
        dict(welcome_msg("p", "r", "partner", "n", 2.0, [{"urls": "stun:x"}], [])),
        dict(welcome_msg("p", "r", "partner", "n", 2.0, [], ["p1"])),  # type: ignore[list-item]
    ],
)
def test_malformed_server_messages_are_caught(message: dict[str, Any]) -> None:
    with pytest.raises(MessageError):
        validate_server_message(message)


# ICE servers


def test_no_ice_servers_unless_configured() -> None:
    assert ice_servers(ServerConfig(secret="s")) == []


def test_stun_and_turn_with_time_limited_credentials() -> None:
    config = ServerConfig(
        secret="s",
        stun_urls=("stun:turn.example:3478",),
        turn_urls=("turn:turn.example:3478", "turns:turn.example:5349"),
        turn_secret="coturn-static-auth-secret",
        turn_ttl_s=600,
    )
    servers = ice_servers(config, now=1000.0)
    assert servers[0] == {"urls": ["stun:turn.example:3478"]}
    turn = servers[1]
    assert turn["urls"] == ["turn:turn.example:3478", "turns:turn.example:5349"]
    expiry, _, random_part = turn["username"].partition(":")
    assert expiry == "1600" and len(random_part) >= 8
    expected = hmac.new(b"coturn-static-auth-secret", turn["username"].encode(), hashlib.sha1)
    assert turn["credential"] == base64.b64encode(expected.digest()).decode()
    assert ice_servers(config, now=1000.0)[1]["username"] != turn["username"]


def test_turn_credentials_for_a_known_user() -> None:
    # coturn's documented example shape: "<timestamp>:<user>", base64(HMAC-SHA1).
    username, credential = turn_credentials("secret", ttl_s=0, now=1_700_000_000, user="alice")
    assert username == "1700000000:alice"
    digest = hmac.new(b"secret", b"1700000000:alice", hashlib.sha1).digest()
    assert credential == base64.b64encode(digest).decode()


# Settings


def _args(**values: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {
        "host": None,
        "port": None,
        "config": None,
        "cert": None,
        "key": None,
        "heartbeat": None,
        "insecure_dev_secret": False,
    }
    defaults.update(values)
    return argparse.Namespace(**defaults)


def test_config_file_then_environment_then_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        "[server]\n"
        'host = "0.0.0.0"\nport = 9000\nsecret = "file-secret"\n'
        'stun = "stun:a:3478"\nturn_url = ["turn:a:3478"]\nturn_secret = "ts"\nturn_ttl = 60\n'
        'cert = "c.pem"\nkey = "k.pem"\n'
    )
    monkeypatch.delenv("TANDEM_SECRET", raising=False)
    monkeypatch.delenv("TANDEM_TURN_SECRET", raising=False)
    config = ServerConfig.from_args(_args(config=str(path)))
    assert (config.host, config.port, config.secret) == ("0.0.0.0", 9000, "file-secret")
    assert config.stun_urls == ("stun:a:3478",) and config.turn_urls == ("turn:a:3478",)
    assert (config.turn_secret, config.turn_ttl_s) == ("ts", 60)
    assert config.cert == Path("c.pem") and config.tls
    monkeypatch.setenv("TANDEM_SECRET", "env-secret")
    config = ServerConfig.from_args(
        _args(config=str(path), host="127.0.0.1", port=1, heartbeat=0.5)
    )
    assert (config.host, config.port, config.secret, config.heartbeat_s) == (
        "127.0.0.1",
        1,
        "env-secret",
        0.5,
    )


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (ServerConfig(), "TANDEM_SECRET"),
        (ServerConfig(secret="s", cert=Path("c.pem")), "--key"),
        (ServerConfig(secret="s", turn_urls=("turn:a",)), "turn_secret"),
        (ServerConfig(secret="s", heartbeat_s=0), "heartbeat"),
    ],
)
def test_settings_that_cannot_work_are_refused(config: ServerConfig, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        config.validate()


def test_practice_config_is_valid_and_random() -> None:
    first, second = ServerConfig.for_practice(), ServerConfig.for_practice()
    first.validate()
    assert first.secret != second.secret and first.host == "127.0.0.1"


def test_room_limits_by_role() -> None:
    limits = RoomLimits()
    assert [limits.for_role(r) for r in ("partner", "therapist", "oncall", "admin")] == [2, 1, 1, 0]
