"""One worker thread per device a local track uses: opens, reads and the final close run there in
order, so a close asked for while an open is still running waits its turn and always happens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeviceWorker:
    def __init__(self, device: str) -> None:
        self._device = device
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tandem-{device}")
        self._closed: Future[None] | None = None

    @property
    def released(self) -> bool:
        """True once release() was asked for: no job may open the device after that."""
        return self._closed is not None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def release(self, close: Callable[[], None]) -> None:
        """Queue `close` behind whatever is running and let the thread end; at most once."""
        if self._closed is None:
            self._closed = self._pool.submit(close)
            self._pool.shutdown(wait=False)

    async def closed(self) -> None:
        """Return once the queued close has run (release() must have been called)."""
        assert self._closed is not None
        try:
            await asyncio.wrap_future(self._closed)
        except Exception as exc:  # the call goes on: a device that fails to close is gone anyway
            log.warning("%s did not close cleanly: %s", self._device, type(exc).__name__)
