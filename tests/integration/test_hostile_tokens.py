"""Hostile tokens against the real server on loopback: respellings, text that is not text, a
lifetime to the year 3026, and revocation while the server runs (docs/protocol.md, "Join
tokens"). Every step awaits the message that proves it; bounds only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.cli import main
from app.server.config import ServerConfig
from app.server.revocation import parse_revoked
from app.server.tokens import TokenLifetimes, mint_token, verify_token
from tests.integration.signaling_helpers import (
    SECRET,
    Harness,
    expect_error,
    receive,
    serving,
    token,
)

ROOT = Path(__file__).resolve().parents[2]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: dict[str, object]) -> str:
    """Signed with the server's secret by something other than mint_token (a leaked secret's
    owner, another tool): only the server's own checks stand in the way."""
    body = _b64(json.dumps(payload).encode())
    return f"{body}.{_b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())}"


def _payload(**claims: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "v": 1,
        "room": "room-one",
        "role": "partner",
        "name": "Sam",
        "exp": int(time.time()) + 600,
        "jti": "hand-made-1",
    }
    payload.update(claims)
    return payload


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Harness]:
    config = ServerConfig(
        secret=SECRET, heartbeat_s=30.0, revoked_tokens=tmp_path / "revoked-tokens.txt"
    )
    async for harness in serving(config):
        yield harness


async def test_respelled_tokens_are_refused_and_the_real_one_joins(server: Harness) -> None:
    good = token(name="Sam")
    body, signature = good.split(".")
    for respelled in (
        f"{good}=",
        f"{good}==",
        f"{good}!!",
        f"{body}.{signature[:5]}!!{signature[5:]}",
        f"{body}.{signature}\n\n",
    ):
        await server.refused(respelled, "token_invalid")
    ws, welcome = await server.join(good)
    assert welcome["name"] == "Sam"
    await ws.close()


async def test_a_room_that_is_not_text_breaks_nothing(server: Harness) -> None:
    """A lone surrogate (bytes that were not UTF-8) signed into a room id: refused at the door,
    and the room's real members still join."""
    await server.refused(_signed(_payload(room="\udcff\udcfe")), "token_invalid")
    await server.refused(_signed(_payload(name="Sam\x1b[2J")), "token_invalid")
    ws, _ = await server.join(token(name="Sam"))
    await ws.close()


async def test_a_token_valid_until_3026_is_refused(server: Harness) -> None:
    year_3026 = int(time.time()) + 1000 * 365 * 24 * 3600
    await server.refused(_signed(_payload(role="therapist", exp=year_3026)), "token_invalid")
    # A partner's standing code within its 180 days joins.
    ws, _ = await server.join(_signed(_payload(exp=int(time.time()) + 170 * 24 * 3600)))
    await ws.close()


async def test_lifetimes_come_from_the_server_config(tmp_path: Path) -> None:
    config = ServerConfig(secret=SECRET, token_lifetimes=TokenLifetimes(partner=3600))
    async for server in serving(config):
        await server.refused(token(ttl=2 * 3600 + 600), "token_invalid")
        ws, _ = await server.join(token(ttl=3600))
        await ws.close()


def test_tandem_token_refuses_a_room_that_is_not_utf8() -> None:
    """The real command, with the bytes a shell would pass: a clear error, no token."""
    env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "app", "token", "--role", "partner", "--name", "Sam"]
    result = subprocess.run(
        [*argv, "--room", os.fsdecode(b"room-\xff\xfe")],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    assert b"room must be text" in result.stderr and b"Traceback" not in result.stderr


# Revocation


def _revoke(list_path: Path, tok: str) -> None:
    assert main(["token", "revoke", "--token", tok, "--file", str(list_path)]) == 0


async def test_a_revoked_token_is_removed_from_its_room_without_a_restart(
    server: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.server")
    listed = tmp_path / "revoked-tokens.txt"
    leaked = token(name="Sam")
    sam, welcome = await server.join(leaked, v=2)
    alex, _ = await server.join(token(name="Alex"), v=2)
    assert (await receive(sam))["type"] == "peer_joined"
    _revoke(listed, leaked)
    # The server notices the change by itself (within REVOCATION_POLL_S): no join needed.
    error = await expect_error(sam, "token_revoked", fatal=True)
    assert "revoked" in error["message"]
    gone = {"type": "peer_left", "peer_id": welcome["peer_id"], "reason": "revoked"}
    assert await receive(alex) == gone
    # The token opens nothing any more, in any spelling; a new one for Sam does.
    await server.refused(leaked, "token_revoked")
    await server.refused(f"{leaked}=", "token_invalid")
    sam2, welcome2 = await server.join(token(name="Sam"), v=2)
    assert welcome2["peer_id"] != welcome["peer_id"]
    assert (await receive(alex))["type"] == "peer_joined"
    await sam2.close()
    await alex.close()
    assert verify_token(SECRET, leaked).jti in parse_revoked(listed.read_text())[0]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert leaked not in logged and verify_token(SECRET, leaked).jti not in logged
    assert "Sam" not in logged


async def test_a_revoked_member_in_its_grace_period_loses_its_place(
    server: Harness, tmp_path: Path
) -> None:
    leaked = token(name="Sam")
    sam, welcome = await server.join(leaked, v=2)
    alex, _ = await server.join(token(name="Alex"), v=2)
    assert (await receive(sam))["type"] == "peer_joined"
    await sam.close()
    assert (await receive(alex))["type"] == "peer_reconnecting"
    _revoke(tmp_path / "revoked-tokens.txt", leaked)
    gone = {"type": "peer_left", "peer_id": welcome["peer_id"], "reason": "revoked"}
    assert await receive(alex) == gone
    await server.refused(leaked, "token_revoked", resume=True)
    await alex.close()


async def test_a_join_sees_a_revocation_at_once(server: Harness, tmp_path: Path) -> None:
    """Revoked before it was ever used: the join itself reads the list (no poll to wait for)."""
    leaked = token(name="Sam")
    listed = tmp_path / "revoked-tokens.txt"
    listed.write_text("# nothing yet\n")
    await server.refused(token(name="Other")[:-3], "token_invalid")  # the list is read now
    _revoke(listed, leaked)
    await server.refused(leaked, "token_revoked")


async def test_an_expired_token_still_resumes_its_place_but_not_once_revoked(
    tmp_path: Path,
) -> None:
    """Resuming with a token that expired mid-session still works (a session outlasts its
    link), and revocation ends even that."""
    listed = tmp_path / "revoked.txt"
    config = ServerConfig(secret=SECRET, heartbeat_s=30.0, revoked_tokens=listed)
    async for server in serving(config):
        short = mint_token(SECRET, "room-one", "partner", "Sam", 2)
        sam, _ = await server.join(short, v=2)
        expiry = verify_token(SECRET, short).exp
        await sam.close()
        while time.time() < expiry:  # a condition on the real clock, bounded: 2 s at most
            await asyncio.sleep(0.05)
        back, welcome = await server.join(short, v=2, resume=True)
        assert welcome["resumed"] is True
        _revoke(listed, short)
        await expect_error(back, "token_revoked", fatal=True)
