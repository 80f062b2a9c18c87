"""Listening sockets with an accept loop that decides at accept() and never spins.

asyncio's own accept loop (Python 3.11) takes up to `backlog` sockets per wake-up before any of
them reaches a protocol, so a burst can use a thousand descriptors before one is refused; and on
EMFILE it logs a traceback for every remaining slot of the backlog, every second. Here each
accepted socket is handed at once to `on_accept`, which keeps it or closes it there and then;
and when the process is out of descriptors the listener logs one line and pauses for a second.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

from app.server.fd_limit import ACCEPT_BURST

log = logging.getLogger(__name__)

PAUSE_S = 0.25  # after running out of descriptors: not a spin, and not long for a real client
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)

OnAccept = Callable[[socket.socket, Any], None]


async def bind(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Listening, non-blocking sockets on every address `host` resolves to (like asyncio's
    create_server: SO_REUSEADDR, IPv6 sockets v6-only)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(
            (info[0], info[1], info[2], "", info[4]) for info in infos
        ):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Listener(asyncio.AbstractServer):
    """Accepts on `sockets` and hands each new socket and its address to `on_accept`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        on_accept: OnAccept,
    ) -> None:
        self._loop = loop
        self._sockets = sockets
        self._on_accept = on_accept
        self._serving = False
        self._resume: asyncio.TimerHandle | None = None

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def start(self) -> None:
        self._serving = True
        for sock in self._sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                conn, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # gone before we took it
            except OSError as exc:
                self._accept_failed(exc)
                return
            conn.setblocking(False)
            self._on_accept(conn, address)

    def _accept_failed(self, exc: OSError) -> None:
        if exc.errno not in _OUT_OF_RESOURCES:
            log.warning("accepting a connection failed: %s", exc.strerror or exc)
            return
        # Linux keeps reporting the socket readable: stop listening for a moment.
        log.warning(
            "out of file descriptors or memory (%s); new connections wait %g s",
            exc.strerror,
            PAUSE_S,
        )
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
        if self._resume is None:
            self._resume = self._loop.call_later(PAUSE_S, self._resume_accepting)

    def _resume_accepting(self) -> None:
        self._resume = None
        if self._serving:
            self.start()

    def close(self) -> None:
        if not self._serving and not self._sockets:
            return
        self._serving = False
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        self.start()

    async def serve_forever(self) -> None:
        raise NotImplementedError("serve through aiohttp's runner")

    async def wait_closed(self) -> None:
        return None
