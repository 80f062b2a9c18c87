"""One participant's video: the newest finished image painted 1:1, their name and role, and
(for remote people) the connection bars. Images are made off the GUI thread (video_frames)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui.assets import icon
from app.ui.quality_indicator import QualityIndicator
from app.ui.video_frames import FrameStore

ROLE_WORDS = {"therapist": "Therapist", "partner": "Partner", "oncall": "On-call clinician"}
TILE_BACKGROUND = QColor("#26303d")
TILE_TEXT = QColor("#e9edf2")


def role_words(role: str) -> str:
    return ROLE_WORDS.get(role, role.capitalize() or "Participant")


class VideoTile(QWidget):
    """Paints `store`'s newest image for `source`; `frames_drawn` counts images painted."""

    def __init__(
        self,
        store: FrameStore,
        source: str,
        name: str,
        role: str = "",
        *,
        remote: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("videoTile")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._store = store
        self.source = source
        self._image: QImage | None = None
        self._painted: QImage | None = None
        self.frames_drawn = 0
        self.message = "Connecting video…" if remote else "Starting your camera…"

        self.name_label = QLabel()
        self.name_label.setObjectName("tileName")
        self.quality = QualityIndicator() if remote else None
        top = QHBoxLayout()
        top.addStretch(1)
        if self.quality is not None:
            top.addWidget(self.quality)
        bottom = QHBoxLayout()
        bottom.addWidget(self.name_label)
        bottom.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addLayout(top)
        layout.addStretch(1)
        layout.addLayout(bottom)
        self.set_person(name, role)

    def set_person(self, name: str, role: str) -> None:
        self.name = name
        self.role = role
        text = f"{name} · {role_words(role)}" if role else name
        self.name_label.setText(text)
        self.setAccessibleName(f"Video of {name}" if role else name)
        self.setAccessibleDescription(text)

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def set_message(self, message: str) -> None:
        """Shown instead of video (camera off, connecting); the last image is dropped."""
        self.message = message
        self._image = None
        self.update()

    def take_frame(self) -> None:
        """GUI thread: pick up the newest finished image, if any, and repaint."""
        image = self._store.take(self.source)
        if image is not None:
            self._image = image
            self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        size = event.size()
        self._store.set_box(self.source, int(size.width() * ratio), int(size.height() * ratio))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, TILE_BACKGROUND)
        image = self._image
        if image is not None and not image.isNull():
            ratio = self.devicePixelRatioF()
            width, height = image.width() / ratio, image.height() / ratio
            # Already scaled off the GUI thread: drawn 1:1 (only a resize can make it differ).
            if width > rect.width() + 1 or height > rect.height() + 1:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                target = QRectF(rect)
            else:
                target = QRectF(
                    QPointF(
                        rect.x() + (rect.width() - width) / 2,
                        rect.y() + (rect.height() - height) / 2,
                    ),
                    QSize(int(width), int(height)).toSizeF(),
                )
            painter.drawImage(target, image)
            if image is not self._painted:
                self._painted = image
                self.frames_drawn += 1
        else:
            side = min(44.0, rect.height() / 4)
            icon_rect = QRectF(rect.center().x() - side / 2, rect.center().y() - side, side, side)
            icon("camera-off").paint(painter, icon_rect.toRect())
            painter.setPen(TILE_TEXT)
            painter.drawText(
                rect.adjusted(16, rect.height() / 2 + 6, -16, -8),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                | int(Qt.TextFlag.TextWordWrap),
                self.message,
            )
        painter.end()
