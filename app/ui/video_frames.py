"""Finished video images for the call page, made off the GUI thread (STYLE.md rule 5).

Remote frames arrive as decoded av.VideoFrames on the asyncio thread, the self view as BGR arrays
on the camera's reader thread. Each is scaled to its tile's current size and turned into a QImage
right there (frame_pixels: one swscale pass for video); the GUI thread only takes the newest
finished image per source and paints it 1:1.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import av
from PySide6.QtGui import QImage

from app.call.camera_watch import CAMERA_LOST_AFTER_S, CameraWatch
from app.devices.base import Camera, DeviceError, DeviceProblem, Frame
from app.ui.frame_pixels import Pixels, Scaler, fit

__all__ = ["SELF", "FrameStore", "SharedCamera", "fit", "to_image"]

log = logging.getLogger(__name__)

SELF = "self"  # the source key of the self view
# Between failed camera reads: a dead device must not spin a core, a hiccup must not show.
RETRY_PAUSE_S = 0.2


def to_image(pixels: Pixels) -> QImage:
    """BGRA pixels -> a QImage in the format Qt paints fastest (frame_pixels), owning its pixels.

    The one copy here is what lets the image outlive the decoder's buffer and cross threads."""
    return QImage(
        pixels.rows.data, pixels.width, pixels.height, pixels.stride, QImage.Format.Format_RGB32
    ).copy()


class FrameStore:
    """The newest finished image per source (peer_id or SELF); thread-safe.

    `put` converts on the producing thread (the asyncio thread for peers, the camera's reader
    for SELF; STYLE.md rule 5), scaled once to the tile's size. `notify(source)` runs there when
    a source's slot goes from empty to full, so the GUI gets one wake-up per image it can
    actually show, never a backlog. A source whose tile is not showing (hidden, the window
    minimised, a voice-only tile) is not converted at all: `set_showing` says so from the GUI.
    Counters (read by benchmarks and tests): `converted` images made, `replaced` made and then
    superseded before the GUI took them (the GUI fell behind), `skipped` frames not converted.
    """

    def __init__(self, notify: Callable[[str], None]) -> None:
        self._notify = notify
        self._lock = threading.Lock()
        self._images: dict[str, QImage] = {}
        self._boxes: dict[str, tuple[int, int]] = {}
        self._hidden: set[str] = set()
        self._scalers: dict[str, Scaler] = {}
        self.converted = 0
        self.replaced = 0
        self.skipped = 0

    def set_box(self, source: str, width: int, height: int) -> None:
        """The tile's size in device pixels (GUI thread, on resize)."""
        with self._lock:
            self._boxes[source] = (width, height)

    def set_showing(self, source: str, showing: bool) -> None:
        """Whether `source`'s tile is on screen (GUI thread). A source is showing until told
        otherwise; a hidden one's waiting image is dropped (it would be stale when shown)."""
        with self._lock:
            if showing:
                self._hidden.discard(source)
            else:
                self._hidden.add(source)
                self._images.pop(source, None)

    def showing(self, source: str) -> bool:
        with self._lock:
            return source not in self._hidden

    def put(self, source: str, frame: av.VideoFrame | Frame) -> None:
        """Convert and keep `frame`, decoded video or a BGR array (any thread but the GUI's)."""
        with self._lock:
            if source in self._hidden:
                self.skipped += 1
                return
            box = self._boxes.get(source)
            scaler = self._scalers.setdefault(source, Scaler())
        image = to_image(scaler.bgra(frame, box))
        with self._lock:
            was_empty = source not in self._images
            self._images[source] = image
            self.converted += 1
            self.replaced += not was_empty
        if was_empty:
            self._notify(source)

    def take(self, source: str) -> QImage | None:
        with self._lock:
            return self._images.pop(source, None)

    def forget(self, source: str) -> None:
        with self._lock:
            self._images.pop(source, None)
            self._boxes.pop(source, None)
            self._scalers.pop(source, None)
            # Not `_hidden`: that is the tile's to say (the self view's tile outlives a call).


class SharedCamera:
    """One camera feeding both the self view and the call.

    A reader thread owns the device: it reads at the camera's pace, puts a finished image in
    the self view (on its own thread) and keeps the newest frame for the call's video track,
    whose `read()` waits for the next one. The self view so works in the waiting room, before
    anyone is there to send video to. `close()` (the call switching the camera off) stops the
    reader and lets go of the device; `open()` starts it again.

    A failed read does not stop the reader: a USB camera drops a frame now and then, and the
    self view picks up again by itself. It pauses `retry_pause` seconds between failed reads
    (a dead device must not spin a core), and the call's track gets the failure meanwhile. A
    camera that gave frames and then none for `lost_after` seconds is reported once per loss
    through `on_lost`, on the reader thread: the track only notices while someone pulls video,
    the self view also in the waiting room.

    A device that fails to open is not tried again until `close()`: the call's video track
    calls `open()` before every frame it wants, and a real camera can take seconds to fail, 15
    times a second. Only the person switching the camera off and on again retries it.
    """

    def __init__(
        self,
        camera: Camera,
        store: FrameStore,
        *,
        on_lost: Callable[[DeviceError], None] | None = None,
        lost_after: float = CAMERA_LOST_AFTER_S,
        retry_pause: float = RETRY_PAUSE_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._camera = camera
        self._store = store
        self._on_lost = on_lost
        self._lost_after = lost_after
        self._retry_pause = retry_pause
        self._now = now
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._serial = 0
        self._read_serial = 0
        self._error: DeviceError | None = None  # the last read's, until a frame comes
        self._open_error: DeviceError | None = None  # why the last open() failed, until close()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def open(self, timeout: float = 3.0) -> None:
        with self._cond:
            if self._stop is not None:
                return
            if self._open_error is not None:
                raise self._open_error
            try:
                self._camera.open(timeout)
            except DeviceError as exc:
                self._open_error = exc
                raise
            self._error = None
            stop = self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(stop,), name="tandem-self-view", daemon=True
            )
            self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        watch = CameraWatch(self._lost_after, self._now)  # a fresh one per open
        try:
            while not stop.is_set():
                try:
                    frame = self._camera.read(timeout=1.0)
                except DeviceError as exc:
                    if stop.is_set():  # closed under the read: not a failure
                        break
                    self._failed(exc, watch)
                    stop.wait(self._retry_pause)
                    continue
                if stop.is_set():
                    break
                self._store.put(SELF, frame)
                with self._cond:
                    self._frame = frame
                    self._serial += 1
                    self._error = None
                    self._cond.notify_all()
                if watch.frame():
                    log.info("camera back: frames again")
        except Exception:  # e.g. the window went away under us: stop, never kill the thread
            log.exception("self view stopped")
            with self._cond:
                self._error = DeviceError(DeviceProblem.FAILED, "the self view stopped")
                self._cond.notify_all()
        finally:
            self._camera.close()

    def _failed(self, exc: DeviceError, watch: CameraWatch) -> None:
        with self._cond:
            first = self._error is None
            self._error = exc
            self._cond.notify_all()
        if first:
            log.info("camera read failed (%s); trying again", exc.problem.value)
        if not watch.failed():
            return
        log.info("camera lost: no frame for %.1f s (%s)", self._lost_after, exc.problem.value)
        if self._on_lost is not None:
            try:
                self._on_lost(exc)
            except Exception:  # the listener's bug must not stop the self view
                log.exception("camera-lost handler failed")

    def read(self, timeout: float = 1.0) -> Frame:
        with self._cond:
            stop = self._stop
            if stop is None:
                raise DeviceError(DeviceProblem.FAILED, "the camera is closed")
            self._cond.wait_for(
                lambda: (
                    self._serial != self._read_serial
                    or self._error is not None
                    or self._stop is not stop
                ),
                timeout,
            )
            if self._stop is not stop:  # closed (and maybe opened again) while we waited
                raise DeviceError(DeviceProblem.FAILED, "the camera was closed")
            if self._error is not None:
                raise self._error
            if self._frame is None:
                raise DeviceError(DeviceProblem.TIMEOUT, "no frame from the camera in time")
            self._read_serial = self._serial
            return self._frame

    def close(self) -> None:
        with self._cond:
            stop, self._stop = self._stop, None
            thread, self._thread = self._thread, None
            self._frame = None
            self._open_error = None
            self._cond.notify_all()
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(3.0)
