"""One participant's video: the newest finished image painted 1:1, their name and role, and
(for remote people) the connection bars. Images are made off the GUI thread (video_frames).

Two states a call's continuity adds: interrupted (the last picture dimmed under "Reconnecting to
Sam… 4 s") and voice only (their video paused for a weak link: name, role and initials)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QImage,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui.assets import icon
from app.ui.quality_indicator import QualityIndicator
from app.ui.video_frames import FrameStore

ROLE_WORDS = {"therapist": "Therapist", "partner": "Partner", "oncall": "On-call clinician"}
TILE_BACKGROUND = QColor("#26303d")
TILE_TEXT = QColor("#e9edf2")
DIM = QColor(12, 16, 22, 170)  # over the last picture while the person is interrupted
VOICE_CIRCLE = QColor("#3d4b5e")
VOICE_ONLY_WORDS = "Audio only — weak connection"


def role_words(role: str) -> str:
    return ROLE_WORDS.get(role, role.capitalize() or "Participant")


def initials(name: str) -> str:
    """Up to two letters for a voice tile ("Dr. Rivera" -> "DR"); "?" for no name."""
    letters = [word[0] for word in name.replace(".", " ").split() if word[0].isalnum()]
    return "".join(letters[:1] + letters[1:][-1:]).upper() or "?"


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
        self.interrupted: str | None = None  # "Reconnecting to Sam… 4 s" while they are out
        self.voice_only = False
        self._on_screen = True  # as the store assumes until a hide event says otherwise

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
        self._describe()

    def set_interrupted(self, text: str | None) -> None:
        """Dim the last picture and say `text` over it; None: back to normal at once."""
        if text == self.interrupted:
            return
        self.interrupted = text
        self._describe()
        self.update()

    def set_voice_only(self, on: bool) -> None:
        """Their video is paused (weak link): a voice tile instead of a frozen or black one."""
        if on == self.voice_only:
            return
        self.voice_only = on
        if on:
            self._image = None
        self._tell_showing(self._on_screen)
        self._describe()
        self.update()

    @property
    def status_text(self) -> str:
        """What the tile says over or instead of the picture ("" while video plays)."""
        if self.interrupted:
            return self.interrupted
        if self.voice_only:
            return VOICE_ONLY_WORDS
        return self.message if self._image is None else ""

    def _describe(self) -> None:
        # Screen readers get what the picture shows: who, and why there is no video.
        parts = [self.name_label.text()]
        if self.voice_only:
            parts.append(VOICE_ONLY_WORDS)
        if self.interrupted:
            parts.append(self.interrupted)
        self.setAccessibleDescription(". ".join(parts))

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
        if image is not None and not self.voice_only:
            self._image = image
            self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        size = event.size()
        self._store.set_box(self.source, int(size.width() * ratio), int(size.height() * ratio))

    # Frames for a tile nobody sees are not converted (FrameStore.set_showing). A minimised
    # window sends its widgets spontaneous hide events and show events when restored, while
    # isVisible() stays True, so the events themselves say it, not isVisible().
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._tell_showing(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._tell_showing(False)

    def _tell_showing(self, on_screen: bool) -> None:
        self._on_screen = on_screen
        self._store.set_showing(self.source, on_screen and not self.voice_only)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, TILE_BACKGROUND)
        image = self._image
        if self.voice_only:
            self._paint_voice(painter, rect)
        elif image is not None and not image.isNull():
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
            if self.interrupted:
                painter.fillRect(rect, DIM)
                self._paint_words(painter, rect, self.interrupted)
        else:
            side = min(44.0, rect.height() / 4)
            icon_rect = QRectF(rect.center().x() - side / 2, rect.center().y() - side, side, side)
            icon("camera-off").paint(painter, icon_rect.toRect())
            self._paint_words(painter, rect, self.interrupted or self.message)
        painter.end()

    def _paint_words(self, painter: QPainter, rect: QRectF, words: str) -> None:
        painter.setPen(TILE_TEXT)
        if words == self.interrupted:  # the one thing to read on this tile right now
            font = QFont(painter.font())
            font.setBold(True)
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 1.2)
            painter.setFont(font)
        painter.drawText(
            rect.adjusted(16, rect.height() / 2 + 6, -16, -8),
            int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            | int(Qt.TextFlag.TextWordWrap),
            words,
        )

    def _paint_voice(self, painter: QPainter, rect: QRectF) -> None:
        """Initials in a circle, then who and why: a voice that goes on, not a broken video."""
        side = min(96.0, rect.height() / 3)
        circle = QRectF(rect.center().x() - side / 2, rect.center().y() - side, side, side)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(VOICE_CIRCLE)
        painter.drawEllipse(circle)
        painter.setPen(TILE_TEXT)
        font = QFont(painter.font())
        font.setPointSizeF(max(10.0, side / 4))
        font.setBold(True)
        painter.save()
        painter.setFont(font)
        painter.drawText(circle, int(Qt.AlignmentFlag.AlignCenter), initials(self.name))
        painter.restore()
        words = self.interrupted or f"{self.name_label.text()}\n{VOICE_ONLY_WORDS}"
        self._paint_words(painter, rect, words)
