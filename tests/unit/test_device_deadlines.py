"""A device that opens after its deadline is closed, not left on (no hardware, no PortAudio)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from app.devices import audio, camera
from app.devices.base import DeviceError, DeviceProblem

LATE_WAIT_S = 5.0  # an upper bound for the worker to finish once released, not a sleep


class _SlowOpening:
    """Blocks inside 'open' until the test releases it, then succeeds and records close()."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = threading.Event()
        self.opened = threading.Event()

    def block_then_open(self) -> _SlowOpening:
        self.release.wait(LATE_WAIT_S)
        self.opened.set()
        return self

    def close(self) -> None:
        self.closed.set()


class _FakeSoundDevice:
    """Enough of the sounddevice module for _open_stream: a stream that opens slowly."""

    def __init__(self, slow: _SlowOpening) -> None:
        class Stream:
            def __init__(self, **options: Any) -> None:
                slow.block_then_open()

            def start(self) -> None:
                pass

            def close(self) -> None:
                slow.close()

        self.InputStream = Stream
        self.OutputStream = Stream


def test_an_audio_stream_that_opens_after_the_deadline_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audio, "START_MARGIN_S", 0.05)
    slow = _SlowOpening()
    with pytest.raises(DeviceError) as raised:
        audio._open_stream(_FakeSoundDevice(slow), "input", None, 48000)
    assert raised.value.problem is DeviceProblem.TIMEOUT
    assert not slow.closed.is_set()
    slow.release.set()  # the driver answers at last
    assert slow.closed.wait(LATE_WAIT_S), "a stream opened after the deadline was left open"


def test_an_audio_call_within_the_deadline_is_returned_not_released() -> None:
    released: list[object] = []
    value = audio._run_with_deadline(lambda: "stream", 5.0, "opening", released.append)
    assert value == "stream" and released == []


def test_a_late_failure_has_nothing_to_release() -> None:
    gate = threading.Event()
    finished = threading.Event()
    released: list[object] = []

    def fail_late() -> None:
        gate.wait(LATE_WAIT_S)
        finished.set()
        raise OSError("device unavailable")

    with pytest.raises(DeviceError):
        audio._run_with_deadline(fail_late, 0.05, "opening", released.append)
    gate.set()
    assert finished.wait(LATE_WAIT_S)
    assert released == []


class _FakeCapture:
    def __init__(self) -> None:
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


def test_a_camera_that_opens_after_the_deadline_is_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cam = camera.OpenCVCamera(0)
    capture = _FakeCapture()
    gate = threading.Event()

    def open_slowly() -> _FakeCapture:
        gate.wait(LATE_WAIT_S)
        return capture

    monkeypatch.setattr(cam, "_precheck", lambda: None)
    monkeypatch.setattr(cam, "_open_capture", open_slowly)
    with pytest.raises(DeviceError) as raised:
        cam.open(timeout=0.05)
    assert raised.value.problem is DeviceProblem.TIMEOUT
    assert not capture.released.is_set()
    gate.set()  # OpenCV finally opens the camera: its light would stay on
    assert capture.released.wait(LATE_WAIT_S), "a camera opened after the deadline was left on"


def test_a_camera_job_in_time_is_not_released() -> None:
    worker = camera._Worker("test-camera")
    capture = _FakeCapture()
    try:
        assert worker.call(lambda: capture, 5.0, "opening", release_late=_FakeCapture.release)
    finally:
        worker.stop()
    assert not capture.released.is_set()
