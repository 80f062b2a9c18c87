"""Listening with every connection guarded: the runner and site that `tandem server` and the
embedded practice server both use, so both get the caps and timeouts of connection_limits.py.

Each socket is judged the moment it is accepted (app/server/acceptor.py): over a cap it gets a
503 and is closed there and then, holding its descriptor for no longer than that; admitted, it
is wrapped in a GuardedProtocol around aiohttp's own and handed to asyncio (TLS included).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

from aiohttp import web

from app.server import fd_limit
from app.server.acceptor import Listener, bind
from app.server.connection_guard import GUARD_KEY, REPORT_S, ConnectionGuard, address_key
from app.server.guarded_protocol import GuardedProtocol

BUSY_BODY = b"The session server is busy. Please try again in a minute.\n"
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 10\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
) % (len(BUSY_BODY), BUSY_BODY)


def make_runner(app: web.Application) -> web.AppRunner:
    """A runner for `app` (made by app.server.app.create_app) whose idle keep-alive connections
    close soon after the idle timeout instead of aiohttp's hour: GuardedProtocol closes them at
    the idle timeout, aiohttp's own timer a second later is the backstop."""
    limits = app[GUARD_KEY].limits
    return web.AppRunner(app, access_log=None, keepalive_timeout=limits.idle_timeout_s + 1)


class GuardedSite(web.BaseSite):
    """Like aiohttp's TCPSite, with each accepted socket judged by the app's ConnectionGuard."""

    __slots__ = ("_guard", "_host", "_port", "_reporter")

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._guard = runner.app[GUARD_KEY]
        self._host = host
        self._port = port
        self._reporter: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def guard(self) -> ConnectionGuard:
        return self._guard

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._guard.use_fd_limit(fd_limit.soft_limit())
        listener = Listener(loop, await bind(self._host, self._port, self._backlog), self._accept)
        self._server = listener
        listener.start()
        self._reporter = loop.create_task(self._report_every_while())

    def _accept(self, sock: socket.socket, address: Any) -> None:
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        protocol = GuardedProtocol(self._guard, server, loop, sock)
        tls = self._ssl_context is not None
        if not self._guard.admit(protocol, address_key(address), waiting=not tls):
            if not tls:  # a TLS client could not read it
                with contextlib.suppress(OSError):
                    sock.send(BUSY_RESPONSE)
                    # What the client has sent already: closed unread, it would make the close
                    # a reset, which can destroy the 503 before the client reads it.
                    sock.recv(65536)
            sock.close()
            return
        # A stalled TLS handshake holds a socket too (asyncio allows a timeout with TLS only).
        handshake_s = self._guard.limits.header_timeout_s if tls else None
        connecting = loop.create_task(
            loop.connect_accepted_socket(
                lambda: protocol, sock, ssl=self._ssl_context, ssl_handshake_timeout=handshake_s
            )
        )
        connecting.add_done_callback(lambda task: self._connected(task, protocol, sock))

    def _connected(
        self, task: asyncio.Task[Any], protocol: GuardedProtocol, sock: socket.socket
    ) -> None:
        if task.cancelled() or task.exception() is not None:
            # A failed TLS handshake, or a server shutting down: asyncio closed the transport,
            # but the protocol never heard of it.
            self._guard.closed(protocol)
            sock.close()

    async def stop(self) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporter
        await super().stop()

    async def _report_every_while(self) -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            self._guard.report()
