"""SharedCamera, the one reader of the camera behind the self view and the call's video track:
a read waiting for the next frame ends as soon as the camera is closed (the person switched it
off), rather than running into its timeout or a frame from the camera opened again; a failed
read is tried again after a pause, and a camera that stops after good frames is reported once
per loss, without anyone pulling video (the waiting room)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.call.camera_watch import CAMERA_LOST_AFTER_S
from app.devices.base import DeviceError, DeviceProblem, Frame
from app.devices.fakes import FakeCamera
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


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingCamera(FakeCamera):
    """A small fake camera that counts reads and says when one has failed."""

    def __init__(self) -> None:
        super().__init__(size=(64, 36))
        self.reads = 0
        self.failures = 0
        self.failed = threading.Event()

    def read(self, timeout: float = 1.0) -> Frame:
        self.reads += 1
        try:
            return super().read(timeout)
        except DeviceError:
            self.failures += 1
            self.failed.set()
            raise


class SelfView:
    """The self view's side of the FrameStore: counts the images it is woken for."""

    def __init__(self) -> None:
        self.images = 0
        self.arrived = threading.Event()
        self.store = FrameStore(self._notify)

    def _notify(self, source: str) -> None:
        assert self.store.take(source) is not None
        self.images += 1
        self.arrived.set()

    def wait_for_images(self, count: int) -> None:
        while self.images < count:
            self.arrived.clear()
            if self.images >= count:
                break
            assert self.arrived.wait(30)


def test_a_failed_read_is_tried_again_and_the_self_view_picks_up_by_itself() -> None:
    camera = CountingCamera()
    view = SelfView()
    lost: list[DeviceError] = []
    shared = SharedCamera(camera, view.store, on_lost=lost.append, retry_pause=0.01)
    shared.open()
    try:
        view.wait_for_images(2)
        camera.fail_on_read = DeviceProblem.TIMEOUT  # one slow read, as USB cameras have
        assert camera.failed.wait(30)
        with pytest.raises(DeviceError) as failure:
            shared.read(timeout=30)  # the call's track gets the failure meanwhile
        assert failure.value.problem is DeviceProblem.TIMEOUT
        camera.fail_on_read = None
        images = view.images
        view.wait_for_images(images + 2)
        assert shared.running and camera.is_open
        assert shared.read(timeout=30).shape == (36, 64, 3)
        assert lost == []  # a hiccup, not a loss
    finally:
        shared.close()
    assert not camera.is_open


def test_a_dead_camera_is_tried_again_only_after_a_pause() -> None:
    camera = CountingCamera()
    camera.fail_on_read = DeviceProblem.FAILED
    shared = SharedCamera(camera, FrameStore(lambda source: None), retry_pause=60.0)
    shared.open()
    try:
        assert camera.failed.wait(30)
        with pytest.raises(DeviceError):
            shared.read(timeout=30)
        assert camera.reads == 1  # waiting out the pause, not spinning
    finally:
        shared.close()  # the pause ends with the close
    assert not camera.is_open and camera.reads == 1


def test_a_camera_that_stops_is_reported_once_per_loss() -> None:
    clock = Clock()
    camera = CountingCamera()
    view = SelfView()
    lost: list[DeviceError] = []
    reported = threading.Event()

    def on_lost(exc: DeviceError) -> None:
        lost.append(exc)
        reported.set()

    shared = SharedCamera(camera, view.store, on_lost=on_lost, retry_pause=0.01, now=clock)
    shared.open()
    try:
        view.wait_for_images(1)
        camera.fail_on_read = DeviceProblem.FAILED  # unplugged
        assert camera.failed.wait(30)
        clock.now += CAMERA_LOST_AFTER_S + 1.0  # no frame since: lost
        assert reported.wait(30)
        failures = camera.failures
        while camera.failures < failures + 5:  # more failed reads: still the same loss
            camera.failed.clear()
            assert camera.failed.wait(30)
        assert [exc.problem for exc in lost] == [DeviceProblem.FAILED]

        # Plugged back in: frames again, and a new loss is a new report.
        camera.fail_on_read = None
        images = view.images
        view.wait_for_images(images + 1)
        reported.clear()
        camera.failed.clear()
        camera.fail_on_read = DeviceProblem.TIMEOUT
        assert camera.failed.wait(30)
        clock.now += CAMERA_LOST_AFTER_S + 1.0
        assert reported.wait(30)
        assert [exc.problem for exc in lost] == [DeviceProblem.FAILED, DeviceProblem.TIMEOUT]
    finally:
        shared.close()
