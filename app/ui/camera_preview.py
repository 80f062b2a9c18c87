"""Live camera preview: frames are read and turned into a finished QImage on a worker thread;
a GUI timer picks up only the newest one (about 12 fps) and paints it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.devices.base import Camera, DeviceError, Frame
from app.ui.assets import icon
from app.ui.bridge import Bridge
from app.ui.buffers import LatestSlot
from app.ui.device_words import device_problem_words

log = logging.getLogger(__name__)

PREVIEW_FPS = 12
MAX_PREVIEW_WIDTH = 640


def frame_to_image(frame: Frame, max_width: int = MAX_PREVIEW_WIDTH) -> QImage:
    """BGR frame -> an RGB QImage that owns its pixels (safe to hand to another thread)."""
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    if width > max_width:
        image = image.scaledToWidth(max_width, Qt.TransformationMode.SmoothTransformation)
    return image


def read_frames(
    make_camera: Callable[[], Camera], slot: LatestSlot[QImage], stop: threading.Event
) -> None:
    """Worker loop: open the camera, put finished images into `slot` until `stop` is set."""
    camera = make_camera()
    camera.open(timeout=3.0)
    try:
        while not stop.is_set():
            slot.put(frame_to_image(camera.read(timeout=1.0)))
            stop.wait(1.0 / PREVIEW_FPS)
    finally:
        camera.close()


class CameraPreview(QWidget):
    """Paints the newest camera image, or a calm message when there is none."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraPreview")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName("Camera preview")
        self.setAccessibleDescription("Shows what your camera sees")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 150)
        self._bridge = bridge
        self._slot: LatestSlot[QImage] = LatestSlot()
        self._stop: threading.Event | None = None
        self._image: QImage | None = None
        self._message = "Camera is off"
        self.frames_shown = 0
        # Workers that may still hold the camera (stop() only asks them to let go), and who is
        # waiting for them to finish: the call must not open a camera the preview still holds.
        self._holders = 0
        self._release_waiters: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // PREVIEW_FPS)
        self._timer.timeout.connect(self._take_frame)

    def sizeHint(self) -> QSize:
        return QSize(480, 270)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width * 9 // 16

    @property
    def running(self) -> bool:
        return self._stop is not None

    @property
    def message(self) -> str:
        return self._message

    @property
    def holds_camera(self) -> bool:
        """True while a worker may still have the camera open (even after stop())."""
        return self._holders > 0

    def when_released(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the GUI thread once no worker holds the camera (now if none does).

        Only stop() makes that happen; a start() meanwhile delays it until that one ends too.
        """
        if self._holders == 0:
            callback()
        else:
            self._release_waiters.append(callback)

    def _worker_ended(self) -> None:
        self._holders -= 1
        if self._holders == 0:
            waiters, self._release_waiters = self._release_waiters, []
            for waiter in waiters:
                waiter()

    def start(self, make_camera: Callable[[], Camera]) -> None:
        self.stop("Starting the camera…")
        stop = threading.Event()
        self._stop = stop
        self._slot = LatestSlot()
        slot = self._slot

        def ended(_: None) -> None:
            self._worker_ended()
            if self._stop is stop:
                self.stop("Camera is off")

        def failed(exc: BaseException) -> None:
            self._worker_ended()
            if self._stop is not stop:
                return
            if isinstance(exc, DeviceError):
                text = device_problem_words("camera", exc)
            else:
                log.warning("camera preview stopped: %s", exc)
                text = "The camera preview stopped."
            self.stop(text)

        self._bridge.run_blocking(
            read_frames, make_camera, slot, stop, on_done=ended, on_error=failed, context=self
        )
        self._holders += 1
        self._timer.start()

    def stop(self, message: str = "Camera is off") -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        self._timer.stop()
        self._image = None
        self._message = message
        self.setAccessibleDescription(message)
        self.update()

    def _take_frame(self) -> None:
        image = self._slot.take()
        if image is not None:
            self._image = image
            self.frames_shown += 1
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        rect = QRectF(self.rect())
        if self._image is not None and not self._image.isNull():
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(
                rect.x() + (rect.width() - size.width()) / 2,
                rect.y() + (rect.height() - size.height()) / 2,
                size.width(),
                size.height(),
            )
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        else:
            side = min(48.0, rect.height() / 3)
            icon_rect = QRectF(rect.center().x() - side / 2, rect.center().y() - side, side, side)
            icon("camera-off").paint(painter, icon_rect.toRect())
            text_rect = rect.adjusted(12, rect.height() / 2 + 8, -12, -8)
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(
                text_rect,
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                | int(Qt.TextFlag.TextWordWrap),
                self._message,
            )
        painter.end()
