"""The WebSocket under both emergency clients: `GET /emergency/ws` on the session server.

`Transport` is what the clients need from a connection (the in-memory fake server of the tests
implements it too). Connecting raises `ConnectFailed` with an Offline reason, so every way of
not getting through (refused, no route, TLS, a server without emergency connect, a timeout)
reads the same to the client.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from app.emergency.events import (
    OFFLINE_PROTOCOL,
    OFFLINE_TIMEOUT,
    OFFLINE_UNREACHABLE,
    OFFLINE_UNSUPPORTED,
)
from app.emergency.protocol import MAX_SERVER_FRAME_BYTES, PATH


class ConnectFailed(Exception):
    """No connection; `reason` is an Offline reason (app.emergency.events)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transport(Protocol):
    async def send(self, text: str) -> None:
        """Raises ConnectionError when the connection is gone."""
        ...

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the connection is closed."""
        ...

    async def close(self) -> None: ...


Connector = Callable[[], Awaitable[Transport]]


def emergency_url(server_url: str) -> str:
    """http[s]://host:port[/base] -> ws[s]://host:port[/base]/emergency/ws. ValueError for an
    address that is not http(s) or ws(s)."""
    parts = urlsplit(server_url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError("the server address must look like http://host:port or https://host:port")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + PATH, "", ""))


class WebSocketTransport:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self._session = session
        self._ws = ws

    async def send(self, text: str) -> None:
        if self._ws.closed:
            raise ConnectionError("the emergency connection is closed")
        await self._ws.send_str(text)

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            data: str | bytes = message.data
            return data
        return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            await self._session.close()


def websocket_connector(
    server_url: str, *, ca_file: str | None = None, timeout_s: float = 5.0
) -> Connector:
    """Connects straight to the server (never through a proxy from the environment, as the
    call's signaling does); `ca_file` trusts a clinic's own certificate authority."""
    url = emergency_url(server_url)
    context: ssl.SSLContext | bool = True
    if ca_file is not None:
        context = ssl.create_default_context(cafile=ca_file)

    async def connect() -> Transport:
        session = aiohttp.ClientSession(trust_env=False)
        try:
            ws = await asyncio.wait_for(
                session.ws_connect(
                    url, ssl=context, max_msg_size=MAX_SERVER_FRAME_BYTES, autoping=True
                ),
                timeout_s,
            )
        except BaseException as exc:
            await session.close()
            if isinstance(exc, TimeoutError):
                raise ConnectFailed(OFFLINE_TIMEOUT) from None
            if isinstance(exc, aiohttp.WSServerHandshakeError):
                status = exc.status
                reason = OFFLINE_UNSUPPORTED if status == 404 else OFFLINE_PROTOCOL
                raise ConnectFailed(reason) from None
            if isinstance(exc, aiohttp.ClientError | OSError | ValueError):
                raise ConnectFailed(OFFLINE_UNREACHABLE) from None
            raise
        return WebSocketTransport(session, ws)

    return connect
