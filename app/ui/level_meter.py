"""The live microphone level: the audio callback fills a LevelBuffer, a QTimer drains it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from app.devices.base import AudioStream, DeviceError, Microphone
from app.ui.bridge import Bridge
from app.ui.buffers import SILENCE_DBFS, LevelBuffer
from app.ui.device_words import device_problem_words

log = logging.getLogger(__name__)

T = TypeVar("T")

DRAIN_MS = 50
FALL_PER_TICK = 3.0  # dB: the bar falls smoothly instead of flickering


class LevelMeter(QWidget):
    """Shows how loud the microphone hears the room, with a line of plain words under it."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._buffer = LevelBuffer()
        self._stream: AudioStream | None = None
        self._generation = 0
        self._shown = SILENCE_DBFS
        # Worker jobs that open or close the microphone; stop() returns before they finish.
        self._pending = 0
        self._release_waiters: list[Callable[[], None]] = []

        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Microphone level")
        self.bar.setAccessibleDescription("Moves when the microphone hears you")
        self.status = QLabel("Microphone is off")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)

        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def holds_microphone(self) -> bool:
        """True while the microphone is open or a worker is still opening or closing it."""
        return self._pending > 0 or self._stream is not None

    def when_released(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the GUI thread once the microphone is closed (now if it is)."""
        if self.holds_microphone:
            self._release_waiters.append(callback)
        else:
            callback()

    def _run_tracked(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run `fn` on a worker, counted as holding the microphone until its callback ran."""

        def done(value: T) -> None:
            self._pending -= 1
            if on_done is not None:
                on_done(value)
            self._notify_if_released()

        def error(exc: BaseException) -> None:
            self._pending -= 1
            if on_error is not None:
                on_error(exc)
            else:
                log.warning("closing the microphone failed: %s", exc)
            self._notify_if_released()

        self._bridge.run_blocking(fn, on_done=done, on_error=error, context=self)
        self._pending += 1

    def _notify_if_released(self) -> None:
        if not self.holds_microphone:
            waiters, self._release_waiters = self._release_waiters, []
            for waiter in waiters:
                waiter()

    def start(self, make_microphone: Callable[[], Microphone]) -> None:
        """Open the microphone on a worker thread and start showing its level."""
        self.stop()
        self._generation += 1
        generation = self._generation
        buffer = self._buffer
        self.status.setText("Starting the microphone…")

        def open_stream() -> AudioStream:
            return make_microphone().start(buffer.push)

        def opened(stream: AudioStream) -> None:
            if generation != self._generation:  # stopped meanwhile
                self._run_tracked(stream.stop)
                return
            self._stream = stream
            self.status.setText("Say something: the bar moves when the microphone hears you.")
            self._timer.start()

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.bar.setValue(0)
            if isinstance(exc, DeviceError):
                self.status.setText(device_problem_words("microphone", exc))
            else:
                log.warning("microphone level unavailable: %s", exc)
                self.status.setText("The microphone level cannot be shown right now.")

        self._run_tracked(open_stream, on_done=opened, on_error=failed)

    def stop(self, message: str = "Microphone is off") -> None:
        self._generation += 1
        self._timer.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            self._run_tracked(stream.stop)
        self._buffer.drain()
        self._shown = SILENCE_DBFS
        self.bar.setValue(0)
        self.status.setText(message)

    def _drain(self) -> None:
        level = self._buffer.drain()
        target = SILENCE_DBFS if level is None else level
        self._shown = max(target, self._shown - FALL_PER_TICK)
        self.bar.setValue(round(100 * (self._shown - SILENCE_DBFS) / -SILENCE_DBFS))
