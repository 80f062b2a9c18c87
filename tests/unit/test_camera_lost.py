"""A camera that stops mid-call (unplugged after a good start): the video track notices that no
good frame came for CAMERA_LOST_AFTER_S, says so once, and keeps sending black frames. Time is
a fake clock; frames are asked for directly (no pacing)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from app.call.camera_watch import CAMERA_LOST_AFTER_S
from app.call.engine import CallEngine
from app.call.events import CallEvent, CallState, LocalDeviceProblem
from app.call.signaling import memory_pair
from app.call.video_tracks import CameraVideoTrack
from app.devices.base import DeviceError, DeviceProblem, Frame
from app.devices.fakes import FakeCamera
from app.net.signaling_protocol import welcome_msg

pytestmark = pytest.mark.allow_log_warnings("app.call.video_tracks")  # "camera read failed"

SIZE = (64, 36)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self) -> None:
        self.clock = Clock()
        self.camera = FakeCamera(size=SIZE, realtime=False)
        self.lost: list[DeviceError] = []
        self.track = CameraVideoTrack(
            self.camera, SIZE, 15, on_lost=self.lost.append, now=self.clock
        )
        self.index = 0

    async def frame_at(self, at: float) -> bool:
        """Ask for the next frame at time `at`; True if it shows a picture (not black)."""
        self.clock.now = at
        image = await self.track.next_image(self.index)
        self.index += 1
        return bool(image.any())


async def test_a_camera_that_stops_is_reported_once_after_the_grace_time() -> None:
    rig = Rig()
    try:
        assert await rig.frame_at(100.0)
        rig.camera.fail_on_read = DeviceProblem.FAILED  # unplugged
        assert not await rig.frame_at(100.5)
        assert not await rig.frame_at(100.0 + CAMERA_LOST_AFTER_S - 0.01)
        assert rig.lost == []  # a stall shorter than the grace time is not a loss
        assert not await rig.frame_at(100.0 + CAMERA_LOST_AFTER_S)
        assert [e.problem for e in rig.lost] == [DeviceProblem.FAILED]
        for later in (103.0, 110.0, 200.0):  # black frames go on; the report does not repeat
            assert not await rig.frame_at(later)
        assert len(rig.lost) == 1
    finally:
        await rig.track.release()


async def test_a_camera_that_comes_back_and_stops_again_is_reported_again() -> None:
    rig = Rig()
    try:
        assert await rig.frame_at(100.0)
        rig.camera.fail_on_read = DeviceProblem.TIMEOUT
        assert not await rig.frame_at(103.0)
        assert len(rig.lost) == 1
        rig.camera.fail_on_read = None
        assert await rig.frame_at(104.0)
        rig.camera.fail_on_read = DeviceProblem.FAILED
        assert not await rig.frame_at(105.0)
        assert len(rig.lost) == 1  # 1 s since the last good frame
        assert not await rig.frame_at(106.5)
        assert [e.problem for e in rig.lost] == [DeviceProblem.TIMEOUT, DeviceProblem.FAILED]
    finally:
        await rig.track.release()


async def test_a_camera_that_cannot_open_is_not_called_lost() -> None:
    rig = Rig()
    rig.camera.fail = DeviceProblem.BUSY
    try:
        for at in (100.0, 105.0, 150.0):
            assert not await rig.frame_at(at)
        assert rig.lost == []  # "could not start" is the opener's to say, not this track's
    finally:
        await rig.track.release()


async def test_a_camera_that_opens_but_never_gives_a_frame_is_reported_after_the_grace_time() -> (
    None
):
    # The call's self view may have drawn frames before this track pulled its first one.
    rig = Rig()
    rig.camera.fail_on_read = DeviceProblem.FAILED
    try:
        assert not await rig.frame_at(100.0)
        assert not await rig.frame_at(100.0 + CAMERA_LOST_AFTER_S - 0.01)
        assert rig.lost == []
        assert not await rig.frame_at(100.0 + CAMERA_LOST_AFTER_S)
        assert [e.problem for e in rig.lost] == [DeviceProblem.FAILED]
    finally:
        await rig.track.release()


async def test_switching_the_camera_off_and_on_starts_afresh() -> None:
    rig = Rig()
    try:
        assert await rig.frame_at(100.0)
        rig.camera.fail_on_read = DeviceProblem.FAILED
        assert not await rig.frame_at(103.0)
        assert len(rig.lost) == 1
        rig.track.enabled = False
        await rig.track.recv()  # a disabled track closes the device
        assert not rig.camera.is_open
        rig.track.enabled = True
        # Still broken after the retry: it never gave a frame since, so no second report...
        assert not await rig.frame_at(110.0)
        assert rig.camera.is_open and len(rig.lost) == 1
        # ...and once it works again, a new loss is a new report.
        rig.camera.fail_on_read = None
        assert await rig.frame_at(111.0)
        rig.camera.fail_on_read = DeviceProblem.FAILED
        assert not await rig.frame_at(114.0)
        assert len(rig.lost) == 2
    finally:
        await rig.track.release()


class ClosedUnderTheRead(FakeCamera):
    """Once `hold` is set, the next read waits for the test, then fails as a camera closed
    under it does (the call page closes the camera the moment the person switches it off)."""

    def __init__(self) -> None:
        super().__init__(size=SIZE, realtime=False)
        self.hold = False
        self.reading = threading.Event()
        self.go_on = threading.Event()

    def read(self, timeout: float = 1.0) -> Frame:
        if self.hold:
            self.reading.set()
            self.go_on.wait(30)
            raise DeviceError(DeviceProblem.FAILED, "the camera was closed")
        return super().read(timeout)


async def test_a_read_cut_short_by_switching_off_is_neither_a_warning_nor_a_loss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    camera = ClosedUnderTheRead()
    lost: list[DeviceError] = []
    track = CameraVideoTrack(camera, SIZE, 15, on_lost=lost.append, now=clock)
    try:
        assert (await track.next_image(0)).any()
        camera.hold = True
        clock.now += 10.0
        read = asyncio.create_task(track.next_image(1))
        assert await asyncio.to_thread(camera.reading.wait, 30)
        track.enabled = False  # off and on again while that read waits
        track.enabled = True
        camera.go_on.set()
        with caplog.at_level(logging.INFO, logger="app.call.video_tracks"):
            assert not (await read).any()
        assert lost == []
        assert not [r for r in caplog.records if r.name == "app.call.video_tracks"]
    finally:
        await track.release()


async def test_the_engine_says_it_as_a_local_device_problem() -> None:
    client, server = memory_pair()
    clock = Clock()
    events: list[CallEvent] = []
    camera = FakeCamera(size=SIZE, realtime=False)
    engine = CallEngine(
        "http://unused.invalid",
        "token",
        camera=camera,
        microphone=None,
        listener=events.append,
        signaling=client,
        video_size=SIZE,
        now=clock,
    )
    welcome = welcome_msg("me", "r", "partner", "N", 30.0, ice_servers=[], peers=[])
    await server.send(welcome)
    await engine.join()
    try:
        track = engine.media.video
        assert isinstance(track, CameraVideoTrack)
        assert (await track.next_image(0)).any()
        camera.fail_on_read = DeviceProblem.FAILED
        clock.now += CAMERA_LOST_AFTER_S
        await track.next_image(1)
        problems = [e for e in events if isinstance(e, LocalDeviceProblem)]
        assert problems == [LocalDeviceProblem(clock.now, "camera", DeviceProblem.FAILED)]
        assert engine.state is CallState.WAITING  # the call goes on
    finally:
        await engine.leave()
    assert not camera.is_open


async def test_black_frames_from_a_failing_camera_are_not_a_picture() -> None:
    # The video adapter reads the send rate as a link figure only while pictures go out.
    rig = Rig()
    try:
        assert await rig.frame_at(100.0)
        assert rig.track.sending_picture
        rig.camera.fail_on_read = DeviceProblem.FAILED
        assert not await rig.frame_at(100.1)
        assert not rig.track.sending_picture
        rig.camera.fail_on_read = None
        assert await rig.frame_at(100.2)
        assert rig.track.sending_picture
        rig.track.enabled = False
        assert not rig.track.sending_picture
    finally:
        await rig.track.release()
