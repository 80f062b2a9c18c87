"""Fake camera, microphone and speaker: synthetic frames and sine waves for tests and practice.

With `realtime=True` (the default) they pace themselves like hardware; with `realtime=False` they
answer at once and keep a virtual clock (`clock()`) that advances as if they were real, so tests
measure frame rates and durations without depending on the wall clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Literal

import numpy as np

from app.devices.base import AudioBlock, AudioStream, DeviceError, DeviceProblem, Frame

CameraMode = Literal["pattern", "black", "dark", "overexposed", "frozen"]
MicMode = Literal["tone", "silence", "noise", "clipping"]


class _VirtualClock:
    def __init__(self, realtime: bool) -> None:
        self.realtime = realtime
        self._now = 0.0
        self._start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self._start if self.realtime else self._now

    def wait(self, seconds: float) -> None:
        if self.realtime:
            time.sleep(max(0.0, seconds))
        else:
            self._now += max(0.0, seconds)


class FakeCamera:
    """A camera producing a moving test pattern, or the picture of a given fault."""

    def __init__(
        self,
        mode: CameraMode = "pattern",
        size: tuple[int, int] = (640, 360),
        fps: float = 15.0,
        fail: DeviceProblem | None = None,
        *,
        realtime: bool = True,
        fail_on_read: DeviceProblem | None = None,
    ) -> None:
        self.mode = mode
        self.size = size
        self.fps = fps
        self.fail = fail
        self.fail_on_read = fail_on_read
        self.clock = _VirtualClock(realtime)
        self.is_open = False
        self.frames_read = 0
        self._next_due = 0.0

    def open(self, timeout: float = 3.0) -> None:
        if self.fail is not None:
            raise DeviceError(self.fail, f"fake camera configured to fail: {self.fail.value}")
        self.is_open = True
        self._next_due = self.clock()

    def read(self, timeout: float = 1.0) -> Frame:
        if not self.is_open:
            raise DeviceError(DeviceProblem.FAILED, "fake camera read before open")
        if self.fail_on_read is not None:
            raise DeviceError(self.fail_on_read, "fake camera configured to fail on read")
        period = 1.0 / self.fps
        wait = self._next_due - self.clock()
        if wait > timeout:
            self.clock.wait(timeout)
            raise DeviceError(DeviceProblem.TIMEOUT, "fake camera too slow")
        self.clock.wait(wait)
        self._next_due = max(self._next_due + period, self.clock())
        frame = self._frame(self.frames_read)
        self.frames_read += 1
        return frame

    def close(self) -> None:
        self.is_open = False

    def _frame(self, index: int) -> Frame:
        width, height = self.size
        if self.mode == "black":
            return np.zeros((height, width, 3), np.uint8)
        if self.mode == "dark":
            return _pattern(width, height, index, low=5, high=50)
        if self.mode == "overexposed":
            frame = np.full((height, width, 3), 255, np.uint8)
            frame[: height // 4] = _pattern(width, height // 4, index, low=180, high=255)
            return frame
        if self.mode == "frozen":
            return _pattern(width, height, 0, low=30, high=220)
        return _pattern(width, height, index, low=30, high=220)


def _pattern(width: int, height: int, index: int, low: int, high: int) -> Frame:
    """Diagonal colour bands that slide by 8 pixels per frame."""
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    phase = ((x + y + 8 * index) % 64) / 63.0
    span = high - low
    blue = low + span * phase
    green = low + span * (1.0 - phase)
    red = np.broadcast_to(low + span * ((x * 4 // max(width, 1)) % 2), (height, width))
    return np.stack([blue, green, red], axis=2).astype(np.uint8)


class _FakeStream:
    def __init__(self, stop: threading.Event, thread: threading.Thread) -> None:
        self._stop = stop
        self._thread = thread

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


class FakeMicrophone:
    """A microphone hearing a tone, silence, noise or a clipped (overdriven) sound.

    What a linked FakeSpeaker plays is added to what it records next (an echo).
    """

    def __init__(
        self,
        mode: MicMode = "tone",
        frequency: float = 440.0,
        level_dbfs: float = -20.0,
        samplerate: int = 48000,
        fail: DeviceProblem | None = None,
        *,
        realtime: bool = True,
        seed: int = 1,
    ) -> None:
        self.mode = mode
        self.frequency = frequency
        self.level_dbfs = level_dbfs
        self.samplerate = samplerate
        self.fail = fail
        self.clock = _VirtualClock(realtime)
        self._rng = np.random.default_rng(seed)
        self._position = 0  # samples produced so far, so the tone continues across blocks
        self._echo = np.zeros(0, np.float32)
        self._echo_lock = threading.Lock()
        self._echo_arrived = threading.Event()
        self.expects_echo = False  # set by a linked FakeSpeaker

    def hear(self, samples: AudioBlock) -> None:
        """Called by a linked speaker: mix `samples` into the next recording."""
        with self._echo_lock:
            self._echo = np.concatenate([self._echo, samples.astype(np.float32)])
        self._echo_arrived.set()

    def record(self, seconds: float) -> AudioBlock:
        if self.fail is not None:
            raise DeviceError(self.fail, f"fake microphone configured to fail: {self.fail.value}")
        if seconds < 0 or not math.isfinite(seconds):
            raise DeviceError(DeviceProblem.FAILED, f"cannot record {seconds} seconds")
        if self.expects_echo and not self.clock.realtime:
            # Like real time: the recording spans the moment the linked speaker plays.
            self._echo_arrived.wait(timeout=seconds + 2.0)
        self.clock.wait(seconds)
        return self._next(int(round(seconds * self.samplerate)))

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        if self.fail is not None:
            raise DeviceError(self.fail, f"fake microphone configured to fail: {self.fail.value}")
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                on_block(self._next(blocksize))
                # Not in real time, a short wait still lets other threads run and stop us.
                stop.wait(blocksize / self.samplerate if self.clock.realtime else 0.001)

        thread = threading.Thread(target=run, name="fake-microphone", daemon=True)
        thread.start()
        return _FakeStream(stop, thread)

    def _next(self, count: int) -> AudioBlock:
        amplitude = math.sqrt(2.0) * 10 ** (self.level_dbfs / 20)
        if self.mode == "silence":
            block = np.zeros(count, np.float64)
        elif self.mode == "noise":
            block = self._rng.normal(0.0, 10 ** (self.level_dbfs / 20), count)
        else:
            t = (self._position + np.arange(count)) / self.samplerate
            block = amplitude * np.sin(2 * math.pi * self.frequency * t)
            if self.mode == "clipping":  # overdriven far past full scale, then cut off
                block = 3.0 * block / amplitude if amplitude > 0 else block
        self._position += count
        with self._echo_lock:
            echo, self._echo = self._echo[:count], self._echo[count:]
        block[: echo.size] += echo
        return np.clip(block, -1.0, 1.0).astype(np.float32)


class FakeSpeaker:
    """A speaker that 'plays' instantly or in real time; `echo_into` lets a fake mic hear it."""

    def __init__(
        self,
        samplerate: int = 48000,
        fail: DeviceProblem | None = None,
        echo_into: FakeMicrophone | None = None,
        *,
        realtime: bool = True,
        echo_gain: float = 0.3,
    ) -> None:
        self.samplerate = samplerate
        self.fail = fail
        self.echo_into = echo_into
        self.echo_gain = echo_gain
        self.clock = _VirtualClock(realtime)
        self.played: list[AudioBlock] = []
        if echo_into is not None:
            echo_into.expects_echo = True

    def play(self, samples: AudioBlock) -> None:
        if self.fail is not None:
            if self.echo_into is not None:
                self.echo_into.hear(np.zeros(0, np.float32))  # nothing will come: stop waiting
            raise DeviceError(self.fail, f"fake speaker configured to fail: {self.fail.value}")
        self.played.append(samples)
        if self.echo_into is not None:
            self.echo_into.hear(samples * np.float32(self.echo_gain))
        self.clock.wait(samples.size / self.samplerate)
