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

from app.net.server_messages import validate_server_message
from app.net.signaling_protocol import (
    MAX_CHAT_ID_CHARS,
    MAX_CHAT_TEXT_CHARS,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Chat,
    ChatAck,
    Join,
    Leave,
    MessageError,
    Ping,
    Relay,
    Restart,
    error_msg,
    join_msg,
    parse_client_message,
    peer_info,
    peer_joined_msg,
    peer_left_msg,
    peer_reconnecting_msg,
    peer_resumed_msg,
    relayed_msg,
    welcome_msg,
)
from app.server.config import ConfigError, RoomLimits, ServerConfig
from app.server.ice import ice_servers, turn_credentials
from app.server.rooms import InMemoryRegistry, Member, RoomFull, peer_id_for


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


def test_version_2_client_messages_parse_to_types() -> None:
    assert (PROTOCOL_VERSION, SUPPORTED_VERSIONS) == (2, frozenset({1, 2}))
    assert _parse({"type": "join", "v": 2, "token": "t", "resume": True}) == Join(
        v=2, token="t", resume=True
    )
    assert _parse({"type": "join", "v": 2, "token": "t"}) == Join(v=2, token="t", resume=False)
    assert _parse({"type": "restart", "to": "p"}) == Restart(to="p")
    text = "é" * MAX_CHAT_TEXT_CHARS
    chat_id = "i" * MAX_CHAT_ID_CHARS
    assert _parse({"type": "chat", "to": "p", "id": chat_id, "text": text}) == Chat(
        "p", chat_id, text
    )
    assert _parse({"type": "chat_ack", "to": "p", "id": "1"}) == ChatAck("p", "1")
    # What the server relays: the sender as `from`, never `to`.
    assert Restart("p").delivered("me") == {"type": "restart", "from": "me"}
    assert Chat("p", "1", "hi").delivered("me") == {
        "type": "chat",
        "from": "me",
        "id": "1",
        "text": "hi",
    }
    assert ChatAck("p", "1").delivered("me") == {"type": "chat_ack", "from": "me", "id": "1"}
    assert Relay("offer", "p", "v=0").delivered("me") == relayed_msg("offer", "me", "v=0")


def test_join_msg_names_its_version() -> None:
    assert join_msg("t") == {"type": "join", "v": 1, "token": "t"}
    assert join_msg("t", v=2, resume=True) == {"type": "join", "v": 2, "token": "t", "resume": True}


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
        ('{"type": "join", "v": 2, "token": "t", "resume": "yes"}', "bad_message"),
        ('{"type": "join", "v": 2, "token": "t", "resume": 1}', "bad_message"),
        ('{"type": "restart"}', "bad_message"),
        ('{"type": "restart", "to": ""}', "bad_message"),
        ('{"type": "chat", "to": "p", "id": "1"}', "bad_message"),
        ('{"type": "chat", "to": "p", "id": "1", "text": ""}', "bad_message"),
        ('{"type": "chat", "to": "p", "id": "", "text": "hi"}', "bad_message"),
        ('{"type": "chat", "to": "p", "id": 1, "text": "hi"}', "bad_message"),
        (json.dumps({"type": "chat", "to": "p", "id": "i" * 65, "text": "hi"}), "bad_message"),
        (json.dumps({"type": "chat", "to": "p", "id": "1", "text": "x" * 2001}), "bad_message"),
        ('{"type": "chat_ack", "to": "p"}', "bad_message"),
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
        welcome_msg("p2", "r", "partner", "N", 1.0, [], [peer], v=2, resumed=True, grace_s=30),
        welcome_msg("p2", "r", "partner", "N", 1.0, [], [peer], v=1),
        {**welcome_msg("p2", "r", "partner", "N", 1.0, [], [], v=1), "peers": [{
            "peer_id": "p", "name": "n", "role": "partner"}]},  # from a v1 server: no `v`
        peer_reconnecting_msg("p1"),
        peer_resumed_msg("p1"),
        Restart("p").delivered("p1"),
        Chat("p", "1", "hi").delivered("p1"),
        ChatAck("p", "1").delivered("p1"),
    ):  # fmt: skip
        validate_server_message(json.loads(json.dumps(message)))


def test_the_welcome_speaks_the_clients_version() -> None:
    v1 = welcome_msg("p", "r", "partner", "n", 1.0, [], [], v=1, resumed=True, grace_s=5)
    assert v1["v"] == 1 and "resumed" not in v1 and "grace_s" not in v1
    v2 = welcome_msg("p", "r", "partner", "n", 1.0, [], [], v=2, resumed=True, grace_s=5)
    assert (v2["v"], v2["resumed"], v2["grace_s"]) == (2, True, 5)
    assert peer_info("p", "n", "partner", 1) == {
        "peer_id": "p",
        "name": "n",
        "role": "partner",
        "v": 1,
    }


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
        {
            k: v
            for k, v in welcome_msg("p", "r", "partner", "n", 1.0, [], []).items()
            if k != "resumed"
        },
        {**welcome_msg("p", "r", "partner", "n", 1.0, [], []), "resumed": 1},
        {**welcome_msg("p", "r", "partner", "n", 1.0, [], []), "v": 3},
        {**welcome_msg("p", "r", "partner", "n", 1.0, [], []), "grace_s": "30"},
        peer_joined_msg({**peer_info("p", "n", "partner"), "v": "2"}),
        {"type": "peer_reconnecting"},
        {"type": "peer_resumed", "peer_id": 5},
        {"type": "restart", "to": "p"},
        {"type": "chat", "from": "p", "id": "1"},
        {"type": "chat_ack", "from": "p"},
    ],
)
def test_malformed_server_messages_are_caught(message: dict[str, Any]) -> None:
    with pytest.raises(MessageError):
        validate_server_message(message)


# Stable identity


def test_peer_id_is_derived_from_the_token_id() -> None:
    digest = hmac.new(b"the-secret", b"peer:abc123", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).decode()[:16]
    assert peer_id_for("the-secret", "abc123") == expected
    assert "=" not in expected and len(expected) == 16
    assert peer_id_for("the-secret", "abc123") == peer_id_for("the-secret", "abc123")
    assert peer_id_for("the-secret", "abc124") != expected
    assert peer_id_for("another-secret", "abc123") != expected


def _member(jti: str, role: str = "partner", v: int = 2) -> Member:
    return Member(peer_id_for("s", jti), jti, f"name-{jti}", role, v=v)


async def test_registry_puts_a_returning_token_back_in_its_place() -> None:
    registry = InMemoryRegistry()
    first = await registry.join("r", _member("a"))
    assert (first.others, first.previous) == ((), None)
    await registry.join("r", _member("b"))
    await registry.join("r", _member("t", role="therapist"))
    back = await registry.join("r", _member("a", v=1))
    assert back.previous is not None and (back.previous.jti, back.previous.v) == ("a", 2)
    assert [m.jti for m in back.others] == ["b", "t"]
    # Its place in the joining order, its new version, and the partner cap still counts it.
    assert [(m.jti, m.v) for m in await registry.members("r")] == [("a", 1), ("b", 2), ("t", 2)]
    with pytest.raises(RoomFull):
        await registry.join("r", _member("c"))
    assert await registry.leave("r", peer_id_for("s", "a")) is not None
    assert await registry.leave("r", peer_id_for("s", "a")) is None


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
        "grace": None,
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
    assert (config.heartbeat_s, config.grace_s) == (1.0, 30.0)  # the defaults
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


def test_grace_from_the_file_then_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("[server]\ngrace_s = 12\nheartbeat_s = 0.5\n")
    config = ServerConfig.from_args(_args(config=str(path)))
    assert (config.grace_s, config.heartbeat_s) == (12.0, 0.5)
    assert ServerConfig.from_args(_args(config=str(path), grace=3.5)).grace_s == 3.5


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (ServerConfig(), "TANDEM_SECRET"),
        (ServerConfig(secret="s", cert=Path("c.pem")), "--key"),
        (ServerConfig(secret="s", turn_urls=("turn:a",)), "turn_secret"),
        (ServerConfig(secret="s", heartbeat_s=0), "heartbeat"),
        (ServerConfig(secret="s", grace_s=float("inf")), "grace period"),
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
