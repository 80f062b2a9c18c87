"""SharedCamera, the one reader of the camera behind the self view and the call's video track:
a read waiting for the next frame ends as soon as the camera is closed (the person switched it
off), rather than running into its timeout or a frame from the camera opened again."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.devices.base import DeviceError, DeviceProblem, Frame
from app.ui.video_frames import FrameStore, SharedCamera

pytestmark = pytest.mark.gui


class OneFrameCamera:
    """Gives one frame, then none: later reads wait out their timeout (a stalled camera)."""

    def __init__(self) -> None:
        self.frames = 0
        self.is_open = False
        self._never = threading.Event()

    def open(self, timeout: float = 3.0) -> None:
        self.is_open = True

    def read(self, timeout: float = 1.0) -> Frame:
        if self.frames == 0:
            self.frames += 1
            return np.zeros((36, 64, 3), np.uint8)
        self._never.wait(timeout)
        raise DeviceError(DeviceProblem.TIMEOUT, "no frame")

    def close(self) -> None:
        self.is_open = False


def test_a_read_waiting_for_a_frame_ends_when_the_camera_is_closed() -> None:
    shared = SharedCamera(OneFrameCamera(), FrameStore(lambda source: None))
    shared.open()
    try:
        assert shared.read(timeout=30).shape == (36, 64, 3)
        outcome: list[BaseException] = []
        waiting = threading.Event()

        def read() -> None:
            waiting.set()
            try:
                shared.read(timeout=30)
            except DeviceError as exc:
                outcome.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        assert waiting.wait(30)
        shared.close()
        reader.join(60)  # a hang guard: the read returns at once with the close
        assert len(outcome) == 1 and isinstance(outcome[0], DeviceError)
        assert outcome[0].problem is DeviceProblem.FAILED and "closed" in str(outcome[0])
    finally:
        shared.close()
