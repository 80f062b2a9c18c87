"""Local video tracks from Tandem's camera interface and a synthetic test pattern.

Local tracks pace themselves (`Pacer`) and can be switched off: a disabled track sends black
frames (tiny once encoded, and the other side's frame watchdog stays quiet). Camera calls block,
so they run on a worker thread, never on the loop.
"""

from __future__ import annotations

import fractions
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.call.camera_watch import CAMERA_LOST_AFTER_S, CameraWatch
from app.call.device_worker import DeviceWorker
from app.call.pacing import Pacer
from app.devices.base import Camera, DeviceError, DeviceProblem, Frame

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000

CameraLostCallback = Callable[[DeviceError], None]
"""Called on the loop, once per loss, with the last read's error."""


def to_i420(image: Frame) -> Frame:
    """BGR to planar YUV 4:2:0, the encoders' own format.

    Frames must leave a shared track already in yuv420p: with bgr24, every peer's encoder calls
    `frame.reformat()` on the same av.VideoFrame from aiortc's thread pool at once, which shares
    one swscale context and crashed a three-party call (SIGSEGV) here.
    """
    import cv2

    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), np.uint8)


def fit(image: Frame, size: tuple[int, int]) -> Frame:
    """`image` scaled to `size` (width, height), or itself when it already has that size."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    import cv2

    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


class LocalVideoTrack(MediaStreamTrack):
    """A paced video source; `enabled = False` sends black frames instead.

    `set_profile()` changes the size and frame rate while the call runs (the link got worse or
    better). aiortc's VP8 encoder starts afresh when the frame size changes, with a key frame,
    so the other side just sees the new size; nothing needs renegotiating.
    """

    kind = "video"

    def __init__(self, size: tuple[int, int], fps: int) -> None:
        super().__init__()
        self.size = size
        self.fps = fps
        self._enabled = True
        self.switched_off = 0  # how often `enabled` went to False: a read can tell it spanned one
        self._pacer = Pacer(fps)
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._pts = 0
        self._black = np.zeros((size[1], size[0], 3), np.uint8)

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        if not on:
            self.switched_off += 1
        self._enabled = on

    @property
    def sending_picture(self) -> bool:
        """True while real pictures go out (not black frames): only then does the bitrate say
        anything about the link, black frames being nearly free to encode."""
        return self._enabled

    def set_profile(self, size: tuple[int, int], fps: int) -> None:
        """Send `size` (width, height; both even, as 4:2:0 needs) at `fps` from the next frame on.

        Call on the loop's thread, like everything else on a track.
        """
        if size == self.size and fps == self.fps:
            return
        if size[0] <= 0 or size[1] <= 0 or size[0] % 2 or size[1] % 2 or fps <= 0:
            raise ValueError(f"cannot send {size[0]}x{size[1]} at {fps} fps")
        if size != self.size:
            self.size = size
            self._black = np.zeros((size[1], size[0], 3), np.uint8)
        if fps != self.fps:
            self.fps = fps
            self._pacer.set_rate(fps)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.wait()
        image = await self.next_image(index) if self.enabled else self._black
        # A frame read while the size changed still leaves at the size now asked for, so each
        # change costs the encoders exactly one restart.
        image = fit(image, self.size)
        frame = av.VideoFrame.from_ndarray(to_i420(image), format="yuv420p")
        # Timestamps advance by each frame's own period: a rate change keeps them monotonic.
        frame.pts = self._pts
        self._pts += round(VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = self._time_base
        return frame

    async def next_image(self, index: int) -> Frame:
        raise NotImplementedError


class PatternVideoTrack(LocalVideoTrack):
    """A moving colour gradient with a frame counter: a camera for tests and headless runs."""

    def __init__(self, size: tuple[int, int] = (640, 360), fps: int = 15) -> None:
        super().__init__(size, fps)
        self._base = _gradient(size)

    async def next_image(self, index: int) -> Frame:
        import cv2

        if (self._base.shape[1], self._base.shape[0]) != self.size:  # set_profile() resized
            self._base = _gradient(self.size)
        image = np.roll(self._base, (index * 4) % self.size[0], axis=1)
        cv2.putText(
            image,
            str(index),
            (10, max(self.size[1] // 4, 20)),
            cv2.FONT_HERSHEY_SIMPLEX,
            max(self.size[1] / 360, 0.4),
            (255, 255, 255),
            2,
        )
        return image


def _gradient(size: tuple[int, int]) -> Frame:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    return np.dstack(
        [
            np.broadcast_to(x, (height, width)),
            np.broadcast_to(y, (height, width)),
            np.broadcast_to(255 - x, (height, width)),
        ]
    ).astype(np.uint8)


class CameraVideoTrack(LocalVideoTrack):
    """Frames from a `Camera`, read on a worker thread and scaled to `size`.

    Disabling closes the device (the camera light goes off); enabling opens it again. A camera
    that gave frames and then none for `lost_after` seconds (unplugged, taken by another
    program) is reported once through `on_lost`, on the loop; black frames go out meanwhile.
    """

    def __init__(
        self,
        camera: Camera,
        size: tuple[int, int] = (640, 360),
        fps: int = 15,
        *,
        on_lost: CameraLostCallback | None = None,
        lost_after: float = CAMERA_LOST_AFTER_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(size, fps)
        self._camera = camera
        self._on_lost = on_lost
        self._lost_after = lost_after
        self._now = now
        self._opened = False
        self._failed = False
        self._watch = CameraWatch(lost_after, now)  # one per opening of the device
        self._worker = DeviceWorker("camera")

    def _read(self, size: tuple[int, int]) -> Frame:
        if self._worker.released:  # a read queued behind release() must not open the camera again
            raise DeviceError(DeviceProblem.FAILED, "the camera track has ended")
        if not self._opened:
            self._camera.open()
            self._opened = True
        return fit(self._camera.read(), size)

    def _close(self) -> None:
        if self._opened:
            self._opened = False
            self._camera.close()

    async def recv(self) -> av.VideoFrame:
        if not self.enabled and self._opened:
            await self._worker.run(self._close)
        return await super().recv()

    async def next_image(self, index: int) -> Frame:
        if self.readyState != "live":  # stopped while the pacer waited: the worker is gone
            raise MediaStreamError
        if not self._opened:  # this read opens the device afresh (the person's retry, too)
            self._watch = CameraWatch(self._lost_after, self._now)
        switched_off = self.switched_off
        try:
            image = await self._worker.run(self._read, self.size)
        except DeviceError as exc:
            if self.switched_off != switched_off:
                # Switched off while this read waited: the camera was closed under it on
                # purpose (the call page closes it as soon as the person says so).
                return self._black
            # Once, not 15 times a second. A camera still starting (switched on again, its first
            # frame not here yet) may time out a read: that is waiting, not a fault.
            starting = not self._watch.started and exc.problem is DeviceProblem.TIMEOUT
            if not self._failed and not self._worker.released and not starting:
                log.warning("camera read failed (%s); sending black frames", exc.problem.value)
            self._failed = True
            if self._opened:
                # It opened but this track may have had no frame yet (the self view may have had
                # many): the clock for "lost" starts at the first failure, so a camera that
                # dies before the peer connection pulled a frame is still reported.
                self._watch.start_clock()
            self._check_lost(exc)
            return self._black
        self._failed = False
        self._watch.frame()
        return image

    @property
    def sending_picture(self) -> bool:
        return self.enabled and not self._failed

    def _check_lost(self, exc: DeviceError) -> None:
        """A camera that never gave a frame is the opener's to report ("could not start"); one
        that did and has given none for `lost_after` is lost: said once, until a good frame or
        a reopen."""
        if self._worker.released or not self._watch.failed():
            return
        log.info("camera lost: no frame for %.1f s (%s)", self._lost_after, exc.problem.value)
        if self._on_lost is not None:
            try:
                self._on_lost(exc)
            except Exception:  # the listener's bug must not stop the video (aiortc's task)
                log.exception("camera-lost handler failed")

    async def release(self) -> None:
        """Stop and close the camera before returning (leave() means the device is let go)."""
        self.stop()
        await self._worker.closed()

    def stop(self) -> None:
        """End the track at once; the camera closes on its worker thread (see release())."""
        super().stop()
        self._worker.release(self._close)
