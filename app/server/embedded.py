"""A session server on a background thread, for practice mode and for tests.

The desktop app starts one on 127.0.0.1 when no clinic server is configured, so a new user
sees the whole check (and later a whole session) work on their own machine.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import web

from app.server.app import create_app
from app.server.config import ServerConfig
from app.server.listen import GuardedSite, make_runner


@dataclass
class EmbeddedServer:
    config: ServerConfig
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL (http://127.0.0.1:PORT)."""
        self._thread = threading.Thread(
            target=self._run, name="tandem-embedded-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("The practice server did not start in time")
        if self._error is not None:
            raise RuntimeError(f"The practice server could not start: {self._error}")
        return self.url

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()'s caller, not lost on this thread
            self._error = exc
            self._ready.set()
            return
        loop.run_forever()
        if self._runner is not None:
            loop.run_until_complete(self._runner.cleanup())
        loop.close()

    async def _serve(self) -> None:
        self._runner = make_runner(create_app(self.config))
        await self._runner.setup()
        site = GuardedSite(self._runner, self.config.host, self.config.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.config.host}:{port}"
        self._ready.set()

    def stop(self) -> None:
        """Stop serving; safe to call more than once."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)


def start_practice_server() -> EmbeddedServer:
    server = EmbeddedServer(ServerConfig.for_practice())
    server.start()
    return server
