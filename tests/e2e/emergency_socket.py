"""A raw `/emergency/ws` client for browser tests (docs/emergency.md): a couple raising the
alarm, or a second clinician racing the page to accept.

Playwright's sync API owns the test's thread, so the socket lives on its own thread with its own
event loop; messages arrive on a queue and `wait_for` takes them with a deadline.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp

Message = dict[str, Any]


class EmergencySocket:
    """One connection: `hello` as `side` with `token`; pings as the protocol asks."""

    def __init__(self, server_url: str, token: str, side: str) -> None:
        self.url = server_url.replace("http://", "ws://", 1) + "/emergency/ws"
        self.token = token
        self.side = side
        self.messages: queue.Queue[Message | None] = queue.Queue()
        self.seen: list[Message] = []
        self._loop = asyncio.new_event_loop()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._opened = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emergency-socket", daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise AssertionError("the emergency socket did not open within 10 s")
        if self._error is not None:
            raise AssertionError(f"the emergency socket did not open: {self._error!r}")

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self.messages.put(None)
            self._loop.close()

    async def _main(self) -> None:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(self.url, timeout=aiohttp.ClientWSTimeout(ws_close=2))
            except (aiohttp.ClientError, OSError) as exc:
                self._error = exc
                self._opened.set()
                return
            self._ws = ws
            await ws.send_json({"type": "hello", "v": 1, "token": self.token, "as": self.side})
            self._opened.set()
            pinger = asyncio.create_task(self._ping(ws))
            try:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        obj = msg.json()
                        if obj.get("type") != "pong":
                            self.messages.put(obj)
            finally:
                pinger.cancel()

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(1.0)  # the server's heartbeat_s in tests; only keeps it open
            if not ws.closed:
                await ws.send_json({"type": "ping"})

    def send(self, **message: Any) -> None:
        ws = self._ws
        assert ws is not None, "not connected"
        future = asyncio.run_coroutine_threadsafe(ws.send_json(message), self._loop)
        future.result(timeout=5)

    def wait_for(self, kind: str, timeout: float = 15, **match: Any) -> Message:
        """The first message of `kind` (with fields equal to `match`), seen or arriving."""
        return self.wait_until(
            lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in match.items()),
            timeout,
            kind,
        )

    def wait_until(
        self, predicate: Callable[[Message], bool], timeout: float, what: str
    ) -> Message:
        for message in self.seen:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                arrived = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if arrived is None:  # the socket closed; keep the marker for the next caller
                self.messages.put(None)
                break
            self.seen.append(arrived)
            if predicate(arrived):
                return arrived
        kinds = [m.get("type") for m in self.seen]
        raise AssertionError(f"{self.side} socket: no {what} within {timeout:.0f} s; saw {kinds}")

    def close(self) -> None:
        ws = self._ws
        if ws is not None and not self._loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(ws.close(), self._loop).result(timeout=5)
            except (RuntimeError, TimeoutError, aiohttp.ClientError):
                pass
        self._thread.join(timeout=10)
