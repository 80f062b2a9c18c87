"""The session server's /ws signaling end to end: real aiohttp server, real WebSockets.

Nothing here waits on the clock: every step awaits the message that proves it happened. The
`wait_for` bounds only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from app.call.signaling import WebSocketSignaling, encode, websocket_url
from app.net import signaling_protocol as protocol
from app.net.signaling_protocol import MAX_MESSAGE_BYTES
from app.server.app import create_app
from app.server.config import ServerConfig
from app.server.tokens import mint_token
from tests.integration.signaling_helpers import (
    HANG_GUARD_S,
    SECRET,
    Harness,
    Ws,
    expect_closed,
    expect_error,
    leave,
    nothing_queued,
    receive,
    serving,
    token,
)


@pytest.fixture
async def server() -> AsyncIterator[Harness]:
    async for harness in serving(ServerConfig(secret=SECRET, heartbeat_s=30.0)):
        yield harness


# Joining, presence and relay


async def test_join_welcome_and_presence(server: Harness) -> None:
    a, welcome_a = await server.join(token(name="Sam"))
    assert welcome_a["peers"] == [] and welcome_a["ice_servers"] == []
    assert (welcome_a["room"], welcome_a["role"], welcome_a["name"]) == (
        "room-one",
        "partner",
        "Sam",
    )
    assert welcome_a["heartbeat_s"] == 30.0 and welcome_a["v"] == 1
    b, welcome_b = await server.join(token(name="Alex"))
    assert welcome_b["peers"] == [
        {"peer_id": welcome_a["peer_id"], "name": "Sam", "role": "partner", "v": 1}
    ]
    assert "resumed" not in welcome_b and "grace_s" not in welcome_b  # v2 fields only
    joined = await receive(a)
    assert joined == {
        "type": "peer_joined",
        "peer": {"peer_id": welcome_b["peer_id"], "name": "Alex", "role": "partner", "v": 1},
    }
    await a.close()
    await b.close()


async def test_three_members_and_offer_answer_relay(server: Harness) -> None:
    a, wa = await server.join(token(name="Sam"))
    b, wb = await server.join(token(name="Alex"))
    assert (await receive(a))["type"] == "peer_joined"
    t, wt = await server.join(token(role="therapist", name="Dr. Lee"))
    assert [p["peer_id"] for p in wt["peers"]] == [wa["peer_id"], wb["peer_id"]]
    for ws in (a, b):
        joined = await receive(ws)
        assert joined["peer"] == {
            "peer_id": wt["peer_id"],
            "name": "Dr. Lee",
            "role": "therapist",
            "v": 1,
        }
    # The newcomer offers to each peer; each answers.
    for ws, welcome in ((a, wa), (b, wb)):
        await t.send_json({"type": "offer", "to": welcome["peer_id"], "sdp": f"offer-{id(ws)}"})
        assert await receive(ws) == {
            "type": "offer",
            "from": wt["peer_id"],
            "sdp": f"offer-{id(ws)}",
        }
        await ws.send_json({"type": "answer", "to": wt["peer_id"], "sdp": "answer"})
        assert await receive(t) == {"type": "answer", "from": welcome["peer_id"], "sdp": "answer"}
    for ws in (a, b, t):
        await ws.close()


async def test_room_caps_each_role(server: Harness) -> None:
    members = [
        await server.join(token(role="partner", name="A")),
        await server.join(token(role="partner", name="B")),
        await server.join(token(role="therapist", name="T")),
    ]
    await server.refused(token(role="partner", name="C"), "room_full")
    await server.refused(token(role="therapist", name="T2"), "room_full")
    oncall, welcome = await server.join(token(role="oncall", name="O"))
    assert len(welcome["peers"]) == 3
    await server.refused(token(role="oncall", name="O2"), "room_full")
    # Another room is unaffected.
    other, welcome = await server.join(token(room="room-two", role="partner", name="X"))
    assert welcome["peers"] == []
    for ws, _ in [*members, (oncall, None), (other, None)]:
        await ws.close()


async def test_leave_then_rejoin(server: Harness) -> None:
    tok_a = token(name="Sam")
    a, wa = await server.join(tok_a)
    b, wb = await server.join(token(name="Alex"))
    assert (await receive(a))["type"] == "peer_joined"
    await a.send_json({"type": "leave"})
    await expect_closed(a)
    assert await receive(b) == {"type": "peer_left", "peer_id": wa["peer_id"], "reason": "left"}
    # After a leave the same token joins afresh, under the same (token-derived) peer_id.
    a2, wa2 = await server.join(tok_a)
    assert wa2["peer_id"] == wa["peer_id"]
    assert wa2["peers"] == [{"peer_id": wb["peer_id"], "name": "Alex", "role": "partner", "v": 1}]
    assert (await receive(b))["peer"]["peer_id"] == wa2["peer_id"]
    await a2.close()
    await b.close()


async def test_same_token_takes_its_own_place_back(server: Harness) -> None:
    """A v1 rejoin with the same token from the same device while the old socket still looks
    alive (a half-open TCP connection): the old socket is closed with `replaced`; for v1 peers
    nothing changed."""
    tok_a = token(name="Sam")
    a, wa = await server.join(tok_a, device="sams-laptop")
    b, wb = await server.join(token(name="Alex"))
    assert (await receive(a))["type"] == "peer_joined"
    a2, wa2 = await server.join(tok_a, device="sams-laptop")
    assert wa2["peer_id"] == wa["peer_id"]
    assert wa2["peers"] == [{"peer_id": wb["peer_id"], "name": "Alex", "role": "partner", "v": 1}]
    await expect_error(a, "replaced", fatal=True)
    await nothing_queued(b)  # no peer_left, no peer_joined: media is peer to peer and goes on
    # The member is whole on its new socket: relays reach it, and a third partner does not fit.
    await b.send_json({"type": "offer", "to": wa2["peer_id"], "sdp": "x"})
    assert (await receive(a2))["from"] == wb["peer_id"]
    await server.refused(token(name="Third"), "room_full")
    await a2.close()
    await b.close()


# Refused tokens


async def test_refused_tokens_and_what_is_logged(
    server: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    expired = mint_token(SECRET, "room-one", "partner", "Expired Person", 60, now=1_000_000.0)
    forged = mint_token("not-the-server-secret", "room-one", "partner", "Forger Person", 60)
    other_room = token(room="room-two", name="Other Room Person")
    therapist = token(role="therapist", name="Therapist Person")
    await server.refused(expired, "token_expired")
    await server.refused(forged, "token_invalid")
    await server.refused("garbage", "token_invalid")
    await server.refused(other_room, "token_wrong_room", room="room-one")
    await server.refused(other_room, "token_wrong_room", query="?room=room-one")
    await server.refused(therapist, "token_wrong_role", role="partner")
    await server.refused(therapist, "token_wrong_role", query="?role=partner")
    await server.refused(therapist, "token_wrong_role", query="?role=admin")
    await server.refused(therapist, "version_unsupported", v=3)
    await server.refused(therapist, "version_unsupported", v=0)
    # Matching expectations are fine.
    ws, welcome = await server.join(therapist, room="room-one", role="therapist")
    assert welcome["role"] == "therapist"
    await ws.close()
    text = caplog.text
    assert "token_expired" in text and "token_wrong_role" in text
    for secret_thing in (expired, forged, other_room, therapist, "Person", "garbage", "room-one"):
        assert secret_thing not in text


async def test_the_console_expects_a_clinician_role(server: Harness) -> None:
    """The console connects to /ws?role=therapist,oncall (app/server/console/console.js)."""
    query = "?role=therapist,oncall"
    await server.refused(token(role="partner", name="Sam"), "token_wrong_role", query=query)
    for role in ("therapist", "oncall"):
        ws = await server.connect(query)
        await ws.send_json({"type": "join", "v": 1, "token": token(role=role, name="Dr")})
        welcome = await receive(ws)
        assert (welcome["type"], welcome["role"]) == ("welcome", role)
        await leave(ws)  # a closed socket would keep the place for its grace period
    # The same list in the join message itself, and an unknown role in a list.
    therapist = token(role="therapist", name="Dr")
    await server.refused(therapist, "token_wrong_role", role="partner,oncall")
    await server.refused(therapist, "token_wrong_role", query="?role=therapist,admin")
    ws, welcome = await server.join(therapist, role="oncall,therapist")
    assert welcome["role"] == "therapist"
    await ws.close()


async def test_join_must_come_in_time() -> None:
    async for harness in serving(ServerConfig(secret=SECRET, join_timeout_s=0.2)):
        ws = await harness.connect()
        await ws.send_json({"type": "ping"})
        assert (await receive(ws, skip_pongs=False))["type"] == "pong"
        await expect_error(ws, "join_timeout", fatal=True)


# Bad messages leave the room unharmed


async def test_bad_messages_are_refused_without_harm(server: Harness) -> None:
    a, wa = await server.join(token(name="Sam"))
    b, wb = await server.join(token(name="Alex"))
    assert (await receive(a))["type"] == "peer_joined"
    bad: list[tuple[str | bytes, str]] = [
        ("{not json", "bad_message"),
        ("[]", "bad_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "offer", "to": "x"}', "bad_message"),
        (json.dumps({"type": "offer", "to": wb["peer_id"], "sdp": "x" * 70_000}), "too_large"),
        (json.dumps({"type": "offer", "to": "nobody", "sdp": "x"}), "unknown_peer"),
        (json.dumps({"type": "offer", "to": wa["peer_id"], "sdp": "x"}), "unknown_peer"),
        (json.dumps({"type": "join", "v": 1, "token": token()}), "bad_message"),
        (b"\x00binary", "bad_message"),
    ]
    for frame, code in bad:
        if isinstance(frame, bytes):
            await a.send_bytes(frame)
        else:
            await a.send_str(frame)
        await expect_error(a, code, fatal=False)
    # Same connection still works, and the other member got nothing but the real relay.
    await a.send_json({"type": "offer", "to": wb["peer_id"], "sdp": "real"})
    assert await receive(b) == {"type": "offer", "from": wa["peer_id"], "sdp": "real"}
    await b.send_json({"type": "ping"})
    assert (await receive(b, skip_pongs=False))["type"] == "pong"
    await a.close()
    await b.close()


async def test_relay_only_within_the_room(server: Harness) -> None:
    a, _ = await server.join(token(room="room-one", name="Sam"))
    x, wx = await server.join(token(room="room-two", name="X"))
    await a.send_json({"type": "offer", "to": wx["peer_id"], "sdp": "x"})
    await expect_error(a, "unknown_peer", fatal=False)
    await a.close()
    await x.close()


async def test_messages_before_join_are_refused(server: Harness) -> None:
    ws = await server.connect()
    await ws.send_json({"type": "offer", "to": "p", "sdp": "x"})
    await expect_error(ws, "not_joined", fatal=False)
    await ws.send_json({"type": "join", "v": 1, "token": token()})
    assert (await receive(ws))["type"] == "welcome"
    await ws.close()


# Heartbeat


async def test_silent_client_is_dropped_and_others_told() -> None:
    """Silent for 3 heartbeats: into the grace period; when that runs out, peer_left timeout."""
    heartbeat = 0.1
    config = ServerConfig(secret=SECRET, heartbeat_s=heartbeat, grace_s=0.3)
    async for harness in serving(config):
        silent, ws_silent = await harness.join(token(name="Sam"))
        alive, _ = await harness.join(token(name="Alex"))

        async def keep_pinging(ws: Ws) -> None:
            while True:
                await ws.send_json({"type": "ping"})
                await asyncio.sleep(heartbeat / 2)  # the client's own pace, not a sync point

        pinger = asyncio.create_task(keep_pinging(alive))
        try:
            assert (await receive(silent))["type"] == "peer_joined"
            left = await receive(alive)
            assert left == {
                "type": "peer_left",
                "peer_id": ws_silent["peer_id"],
                "reason": "timeout",
            }
            await expect_closed(silent)
        finally:
            pinger.cancel()
        await alive.close()


# TLS


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tandem-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield cert_path, key_path


async def _tls_join(base: str, cert: Path, tok: str) -> dict[str, Any]:
    trust = ssl.create_default_context(cafile=str(cert))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/health", ssl=trust) as response:
            assert (await response.json())["ok"] is True
        async with session.ws_connect(f"{base.replace('https', 'wss')}/ws", ssl=trust) as ws:
            await ws.send_json({"type": "join", "v": 1, "token": tok})
            welcome = await receive(ws)
            # An untrusting client is refused by TLS itself.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{base}/health", ssl=ssl.create_default_context())
    return welcome


async def test_tls_in_process(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    config = ServerConfig(secret=SECRET, cert=cert, key=key)
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=config.ssl_context())
    await site.start()
    try:
        port = runner.addresses[0][1]
        welcome = await _tls_join(f"https://127.0.0.1:{port}", cert, token())
        assert welcome["type"] == "welcome"
    finally:
        await runner.cleanup()


async def test_tandem_server_command_with_tls(self_signed: tuple[Path, Path]) -> None:
    """`tandem server --cert --key` and `tandem token` as a clinic would run them."""
    cert, key = self_signed
    env = {**os.environ, "TANDEM_SECRET": SECRET}
    tok = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.cli import main; raise SystemExit(main())",
            "token",
            "--room",
            "cli-room",
            "--role",
            "therapist",
            "--name",
            "Dr",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from app.cli import main; raise SystemExit(main())",
        "server", "--port", "0", "--cert", str(cert), "--key", str(key),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), HANG_GUARD_S)).decode()
        assert line.startswith("tandem server listening on https://127.0.0.1:"), line
        base = line.split()[-1]
        welcome = await _tls_join(base, cert, tok)
        assert (welcome["room"], welcome["role"]) == ("cli-room", "therapist")
    finally:
        process.terminate()
        await process.wait()


# The desktop client's transport against the real server


def sdp_of_size(target_bytes: int, to: str) -> str:
    """An SDP with many candidate lines whose offer to `to` encodes to exactly `target_bytes`."""

    def size(lines: list[str]) -> int:
        sdp = "\r\n".join([*lines, "a=x-pad:"])
        return len(protocol.encode({"type": "offer", "to": to, "sdp": sdp}))

    lines = ["v=0", "o=- 1 2 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    for i in range(100_000):
        host = f"10.{i // 250 % 250}.{i % 250}.7 {50000 + i % 10000}"
        lines.append(f"a=candidate:{i} 1 udp 2122260223 {host} typ host")
        if size(lines) > target_bytes:
            lines.pop()
            break
    padding = "x" * (target_bytes - size(lines))
    return "\r\n".join([*lines, "a=x-pad:" + padding])


async def test_an_offer_at_the_size_limit_reaches_the_desktop_client(server: Harness) -> None:
    """The server relays what it accepted; the client must read it, though the relay (with its
    own envelope) is a few bytes larger than the offer was."""
    url = websocket_url(str(server.client.make_url("")))
    sender, receiver = WebSocketSignaling(url), WebSocketSignaling(url)
    try:
        await sender.connect()
        await sender.send({"type": "join", "v": 1, "token": token(name="Sam")})
        assert (await sender.receive() or {}).get("type") == "welcome"
        await receiver.connect()
        await receiver.send({"type": "join", "v": 1, "token": token(name="Alex")})
        welcome = await receiver.receive()
        assert welcome is not None and welcome["type"] == "welcome"
        assert (await sender.receive() or {}).get("type") == "peer_joined"
        target = welcome["peer_id"]
        sdp = sdp_of_size(MAX_MESSAGE_BYTES, target)
        offer = {"type": "offer", "to": target, "sdp": sdp}
        assert len(encode(offer).encode()) == MAX_MESSAGE_BYTES
        await sender.send(offer)
        relayed = await asyncio.wait_for(receiver.receive(), HANG_GUARD_S)
        assert relayed is not None, "the client dropped the connection on a relayed offer"
        assert (relayed["type"], relayed["sdp"]) == ("offer", sdp)
    finally:
        await sender.close()
        await receiver.close()


async def test_the_desktop_client_ignores_proxy_settings(
    server: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    signaling = WebSocketSignaling(websocket_url(str(server.client.make_url(""))))
    try:
        await signaling.connect()
        await signaling.send({"type": "join", "v": 1, "token": token(name="Sam")})
        assert (await signaling.receive() or {}).get("type") == "welcome"
    finally:
        await signaling.close()
