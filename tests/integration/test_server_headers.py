"""The session server's response headers against a hostile Host header, over plain HTTP and
TLS, on every kind of response (the real server on loopback)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from app.server.config import ServerConfig
from app.server.headers import CONSOLE_POLICY, HSTS
from tests.integration.signaling_helpers import HANG_GUARD_S, SECRET, Harness, serving
from tests.integration.tls_helpers import make_clinic_pki, tls_server

HOSTILE_HOST = "evil.example; frame-ancestors *; connect-src *"


@pytest.fixture
async def server() -> AsyncIterator[Harness]:
    async for harness in serving(ServerConfig(secret=SECRET)):
        yield harness


async def test_the_console_policy_ignores_the_host_header(server: Harness) -> None:
    for path in ("/console", "/console/console.js"):
        response = await server.client.get(path, headers={"Host": HOSTILE_HOST})
        policy = response.headers["Content-Security-Policy"]
        assert policy == CONSOLE_POLICY
        assert "evil" not in policy and "*" not in policy
        assert "frame-ancestors 'none'" in policy and "connect-src 'self';" in policy


async def test_no_response_names_aiohttp_or_python(server: Harness) -> None:
    responses = [
        await server.client.get("/health"),
        await server.client.get("/console"),
        await server.client.get("/no-such-page"),
        await server.client.post("/health"),  # 405
        await server.client.get("/ws"),  # not an upgrade: refused by the handler
    ]
    for response in responses:
        assert response.headers["Server"] == "Tandem", response.url
        assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS
    async with server.client.ws_connect("/ws") as ws:
        assert ws._response.headers["Server"] == "Tandem"


async def test_a_request_aiohttp_cannot_parse_gets_no_versions(server: Harness) -> None:
    """Answered by aiohttp itself (400) before any handler or signal of ours runs."""
    assert server.client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", server.client.port)
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.read(4096), HANG_GUARD_S)
    finally:
        writer.close()
    text = head.decode("latin-1")
    assert text.split("\r\n")[0].endswith("400 Bad Request"), text
    assert "Server: Tandem" in text
    assert "aiohttp" not in text.lower() and "python" not in text.lower()


async def test_hsts_over_tls(tmp_path: Path) -> None:
    pki = make_clinic_pki(tmp_path)
    config = ServerConfig(secret=SECRET, cert=pki.cert, key=pki.key)
    trust = ssl.create_default_context(cafile=str(pki.ca))
    async with tls_server(config) as base, aiohttp.ClientSession() as session:
        for path in ("/health", "/console", "/missing"):
            async with session.get(f"{base}{path}", ssl=trust) as response:
                assert response.headers["Strict-Transport-Security"] == HSTS
                assert response.headers["Server"] == "Tandem"
