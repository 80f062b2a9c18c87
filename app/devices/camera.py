"""The real camera: OpenCV's VideoCapture, from a device index, a video file or a stream URL.

OpenCV calls can block for a long time (a stuck driver, a dead network stream), so every call runs
on the camera's own worker thread and the caller waits with a deadline. A video file loops and is
paced at its own frame rate, so it stands in for a webcam.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from app.devices.base import Camera, DeviceError, DeviceInfo, DeviceProblem, Frame

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_FILE_FPS = 30.0
CLOSE_TIMEOUT_S = 2.0
PROBE_TIMEOUT_S = 2.0


class _Worker:
    """One daemon thread that runs every OpenCV call of one camera, in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def call(
        self,
        fn: Callable[[], T],
        timeout: float,
        what: str,
        release_late: Callable[[T], None] | None = None,
    ) -> T:
        """Run `fn` on this thread, waiting at most `timeout`.

        A job already running when the deadline passes cannot be stopped; if it then succeeds,
        what it opened belongs to nobody. `release_late` gets that value (on this worker, after
        the job) so a camera that opened too late is closed instead of staying on, light and all.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as error:  # handed to the caller, not lost on this thread
                future.set_exception(error)

        self._jobs.put(job)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            if not future.cancel() and release_late is not None:
                future.add_done_callback(_released_if_succeeded(release_late, what))
            raise DeviceError(
                DeviceProblem.TIMEOUT, f"{what} took longer than {timeout:g} s"
            ) from None

    def stop(self) -> None:
        self._jobs.put(None)


def _released_if_succeeded(
    release: Callable[[T], None], what: str
) -> Callable[[concurrent.futures.Future[T]], None]:
    def done(future: concurrent.futures.Future[T]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        log.info("%s finished after its deadline; releasing what it opened", what)
        try:
            release(future.result())
        except Exception as error:  # nobody is waiting for it any more
            log.warning("releasing after %s failed: %s", what, error)

    return done


def _cv2() -> Any:
    import cv2

    _quiet_opencv(cv2)
    return cv2


_quieted = False


def _quiet_opencv(cv2: Any) -> None:
    """OpenCV logs a warning per missing device; our DeviceError already says it."""
    global _quieted
    if _quieted:
        return
    _quieted = True
    try:
        logging_module = cv2.utils.logging
        logging_module.setLogLevel(logging_module.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


def _device_path(index: int) -> Path:
    return Path(f"/dev/video{index}")


class OpenCVCamera:
    """A camera from a device index, a video file path or a stream URL (opened by `open`)."""

    def __init__(self, source: int | str) -> None:
        self.source = source
        self.fps = 0.0
        self.size = (0, 0)
        self._capture: Any = None
        self._worker: _Worker | None = None
        self._is_file = isinstance(source, str) and "://" not in source
        self._next_due = 0.0
        self._first: Frame | None = None

    def open(self, timeout: float = 3.0) -> None:
        if self._capture is not None:
            return
        self._precheck()
        worker = _Worker(f"camera-{self.source}")
        try:
            capture = worker.call(
                self._open_capture, timeout, "opening the camera", release_late=_release
            )
        except DeviceError:
            worker.stop()
            raise
        except Exception as error:
            worker.stop()
            raise DeviceError(DeviceProblem.FAILED, f"opening {self.source}: {error}") from error
        self._worker, self._capture = worker, capture
        try:
            # A camera another program holds often opens and then delivers nothing.
            self._first = self._read_once(timeout)
        except DeviceError as error:
            self.close()
            if isinstance(self.source, int) and error.problem is DeviceProblem.FAILED:
                raise DeviceError(DeviceProblem.BUSY, error.detail) from None
            raise
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))
        self._next_due = time.monotonic()
        log.info("camera %s open: %dx%d at %.1f fps", self.source, *self.size, self.fps)

    def _precheck(self) -> None:
        """Name the common problems before OpenCV hides them behind 'could not open'."""
        if isinstance(self.source, int):
            path = _device_path(self.source)
            if sys.platform.startswith("linux"):
                if not path.exists():
                    raise DeviceError(DeviceProblem.NOT_FOUND, f"no {path}")
                if not os.access(path, os.R_OK | os.W_OK):
                    raise DeviceError(DeviceProblem.PERMISSION, f"no access to {path}")
        elif self._is_file:
            path = Path(self.source)
            if not path.is_file():
                raise DeviceError(DeviceProblem.NOT_FOUND, f"no video file {path}")
            if not os.access(path, os.R_OK):
                raise DeviceError(DeviceProblem.PERMISSION, f"cannot read {path}")

    def _open_capture(self) -> Any:
        cv2 = _cv2()
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            capture.release()
            problem = DeviceProblem.FAILED if self._is_file else DeviceProblem.NOT_FOUND
            raise DeviceError(problem, f"OpenCV could not open {self.source}")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        self.fps = fps if np.isfinite(fps) and 0 < fps <= 240 else DEFAULT_FILE_FPS
        return capture

    def _read_once(self, timeout: float) -> Frame:
        worker, capture = self._worker, self._capture
        if worker is None or capture is None:
            raise DeviceError(DeviceProblem.FAILED, "camera read before open")

        def read() -> Frame:
            cv2 = _cv2()
            ok, frame = capture.read()
            if not ok and self._is_file:  # the end of the file: loop like a live camera
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
            if not ok or frame is None or frame.size == 0:
                raise DeviceError(DeviceProblem.FAILED, f"no picture from {self.source}")
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            elif frame.shape[2] == 4:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
            return np.ascontiguousarray(frame, dtype=np.uint8)

        return worker.call(read, timeout, "reading a picture")

    def read(self, timeout: float = 1.0) -> Frame:
        if self._capture is None:
            raise DeviceError(DeviceProblem.FAILED, "camera read before open")
        deadline = time.monotonic() + timeout
        if self._is_file:
            # Pace a file at its own frame rate; a live camera paces itself.
            wait = self._next_due - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, timeout))
            self._next_due = max(self._next_due + 1.0 / self.fps, time.monotonic() - 1.0)
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        return self._read_once(max(0.01, deadline - time.monotonic()))

    def close(self) -> None:
        worker, capture = self._worker, self._capture
        self._worker = self._capture = None
        self._first = None
        if worker is None:
            return
        if capture is not None:
            try:
                worker.call(capture.release, CLOSE_TIMEOUT_S, "closing the camera")
            except DeviceError as error:
                log.warning("camera %s did not close: %s", self.source, error)
        worker.stop()


def _release(capture: Any) -> None:
    capture.release()


def open_camera(source: str | None) -> Camera:
    """A camera for `source` (None: the first camera; "2": device 2; else a file or URL).

    Nothing is opened here: `open()` does that.
    """
    if source is None:
        return OpenCVCamera(0)
    if source.strip().isdigit():
        return OpenCVCamera(int(source))
    return OpenCVCamera(source)


def _camera_name(index: int) -> str:
    try:
        return Path(f"/sys/class/video4linux/video{index}/name").read_text().strip()
    except OSError:
        return f"Camera {index + 1}"


def list_cameras(max_index: int = 4) -> list[DeviceInfo]:
    """The cameras that open, probing indexes 0..max_index-1 (each probe has a deadline)."""
    found: list[DeviceInfo] = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not _device_path(index).exists():
            continue
        worker = _Worker(f"camera-probe-{index}")
        try:

            def probe(index: int = index) -> bool:
                capture = _cv2().VideoCapture(index)
                try:
                    return bool(capture.isOpened())
                finally:
                    capture.release()

            if worker.call(probe, PROBE_TIMEOUT_S, f"probing camera {index}"):
                found.append(DeviceInfo(str(index), _camera_name(index)))
        except DeviceError as error:
            log.info("camera %d not usable: %s", index, error)
        finally:
            worker.stop()
    return found
