"""Connection bars for one participant; the reason in words on hover and on keyboard focus."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFocusEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QToolTip, QWidget

from app.call.quality import MAX_BARS, Quality, assess

# Filled bars differ by height and count as well as colour (never colour alone).
COLOURS = {0: "#b3261e", 1: "#b3261e", 2: "#a15c00", 3: "#a15c00", 4: "#1e7a3c", 5: "#1e7a3c"}
EMPTY = "#c9ced6"
BACKGROUND = QColor(255, 255, 255, 225)


class QualityIndicator(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("qualityIndicator")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setFixedSize(self.sizeHint())
        self.quality = assess(None)
        self._apply()

    def sizeHint(self) -> QSize:
        return QSize(44, 30)

    def set_quality(self, quality: Quality) -> None:
        if quality == self.quality:
            return
        self.quality = quality
        self._apply()
        if self.hasFocus():
            self._show_reason()

    def _apply(self) -> None:
        self.setToolTip(self.quality.reason)
        self.setAccessibleName(self.quality.label)
        self.setAccessibleDescription(self.quality.reason)
        self.update()

    def _show_reason(self) -> None:
        QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())), self.quality.reason, self)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._show_reason()
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        QToolTip.hideText()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BACKGROUND)
        painter.drawRoundedRect(rect, 6, 6)
        if self.hasFocus():
            painter.setPen(QColor("#1f3d6e"))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 6, 6)
            painter.setPen(Qt.PenStyle.NoPen)
        bars = self.quality.bars
        gap, width = 2.0, 5.0
        left = rect.center().x() - (MAX_BARS * width + (MAX_BARS - 1) * gap) / 2
        bottom = rect.bottom() - 6
        full = rect.height() - 12
        for index in range(MAX_BARS):
            height = full * (index + 1) / MAX_BARS
            filled = bars is not None and index < bars
            colour = COLOURS[bars] if filled and bars is not None else EMPTY
            painter.setBrush(QColor(colour))
            painter.drawRoundedRect(
                QRectF(left + index * (width + gap), bottom - height, width, height), 1.5, 1.5
            )
        painter.end()
