"""The one crossing between Qt and everything else (asyncio, worker threads, core callbacks).

An asyncio loop runs on its own thread (network work, later the call engine); blocking work
(the equipment check, opening devices) runs on a small thread pool. Results and core callbacks
(Progress, CheckResult, CallEvent) come back as Qt signals queued to the GUI thread. Widgets call
the bridge; workers and coroutines never see a widget.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.call.events import CallEvent, RemoteFrame
from app.checks.result import CheckResult
from app.progress import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")

DoneCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


class Bridge(QObject):
    """Owns the asyncio thread and the worker pool; re-emits core callbacks on the GUI thread."""

    progress = Signal(object)  # Progress
    check_result = Signal(object)  # CheckResult
    call_event = Signal(object)  # CallEvent (never RemoteFrame: see call_listener)
    video_frame = Signal(str)  # a finished image is ready for this source (FrameStore)

    # Internal: a zero-argument callable to run on the GUI thread.
    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None, max_workers: int = 4) -> None:
        super().__init__(parent)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="tandem-worker"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._loop_ready = threading.Event()
        self._closed = False
        # Queued even when emitted from the GUI thread: callbacks never run re-entrantly.
        self._deliver.connect(self._run_delivery, Qt.ConnectionType.QueuedConnection)

    # --- asyncio ---------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop_thread = threading.Thread(
                target=self._run_loop, name="tandem-asyncio", daemon=True
            )
            self._loop_thread.start()
            self._loop_ready.wait()
        assert self._loop is not None
        return self._loop

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._loop_ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def submit(
        self,
        coro: Coroutine[Any, Any, T],
        on_done: Callable[[T], None] | None = None,
        on_error: ErrorCallback | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run a coroutine on the asyncio thread; optional callbacks run on the GUI thread."""
        if self._closed:
            coro.close()
            raise RuntimeError("the bridge is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        self._route(future, on_done, on_error, context)
        return future

    # --- worker threads --------------------------------------------------------------------
    def run_blocking(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None] | None = None,
        on_error: ErrorCallback | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run blocking work on a worker thread; optional callbacks run on the GUI thread.

        `context`: a QObject whose deletion cancels the callbacks (a page that went away).
        """
        if self._closed:
            # The window is going away, but late work is usually letting go of a device that
            # finished opening after shutdown began: it must still run. Nobody is left to call
            # back, so it runs alone on a daemon thread.
            return _run_detached(fn, *args)
        future = self._pool.submit(fn, *args)
        self._route(future, on_done, on_error, context)
        return future

    def call_soon_in_gui(self, fn: Callable[[], None], context: QObject | None = None) -> None:
        """Run `fn` on the GUI thread; safe to call from any thread."""
        self._deliver.emit(self._guarded(fn, context))

    # --- core callbacks as signals ---------------------------------------------------------
    def progress_callback(self) -> Callable[[Progress], None]:
        """A ProgressCallback for core code; safe from any thread."""
        return self.progress.emit

    def result_callback(self) -> Callable[[CheckResult], None]:
        return self.check_result.emit

    def call_listener(
        self, on_frame: Callable[[RemoteFrame], None] | None = None
    ) -> Callable[[CallEvent], None]:
        """A CallListener for the call engine; events arrive as `call_event` on the GUI thread.

        RemoteFrame never crosses as a signal: `on_frame` handles it on the asyncio thread
        (convert and scale there, e.g. FrameStore.put) and announces it with `video_frame`.
        """
        if on_frame is None:
            return self.call_event.emit

        def listen(event: CallEvent) -> None:
            if isinstance(event, RemoteFrame):
                on_frame(event)
            else:
                self.call_event.emit(event)

        return listen

    def video_frame_callback(self) -> Callable[[str], None]:
        """FrameStore's `notify`: safe from any thread."""
        return self.video_frame.emit

    # --- plumbing --------------------------------------------------------------------------
    def _route(
        self,
        future: concurrent.futures.Future[T],
        on_done: Callable[[T], None] | None,
        on_error: ErrorCallback | None,
        context: QObject | None,
    ) -> None:
        if on_done is None and on_error is None:
            future.add_done_callback(_log_unhandled)
            return

        def finished(f: concurrent.futures.Future[T]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                if on_error is not None:
                    self.call_soon_in_gui(lambda: on_error(exc), context)
                else:
                    log.error("background work failed", exc_info=exc)
            elif on_done is not None:
                value = f.result()
                self.call_soon_in_gui(lambda: on_done(value), context)

        future.add_done_callback(finished)

    @staticmethod
    def _guarded(fn: Callable[[], None], context: QObject | None) -> Callable[[], None]:
        if context is None:
            return fn

        def run() -> None:
            if shiboken6.isValid(context):
                fn()

        return run

    @Slot(object)
    def _run_delivery(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a bug in one callback must not take the window down
            log.exception("GUI callback failed")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the asyncio loop and the workers; waits up to `timeout` for the loop thread."""
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout)
        # Workers watch their cancel events; do not block the GUI on a stuck device.
        self._pool.shutdown(wait=False, cancel_futures=True)


def _run_detached(fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # reported through the future, like the pool's work
            future.set_exception(exc)
            log.info("work after the window closed failed: %s", type(exc).__name__)

    threading.Thread(target=run, name="tandem-after-close", daemon=True).start()
    return future


def _log_unhandled(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("background work failed", exc_info=future.exception())
