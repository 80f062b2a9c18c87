"""A scroll area that gives its page the height its wrapped text needs at the current width.

QScrollArea sizes its widget from sizeHint and ignores heightForWidth, so word-wrapped labels get
squeezed and overlap, worst at 200 % scale. This one asks the layout for the real height.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class PageScrollArea(QScrollArea):
    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)
        content.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit_content()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_content()

    def fit_content(self) -> None:
        content = self.widget()
        layout = content.layout() if content is not None else None
        if content is None or layout is None:
            return
        width = self.viewport().width()
        needed = layout.heightForWidth(width) if layout.hasHeightForWidth() else -1
        if needed < 0:
            needed = layout.minimumSize().height()
        if content.minimumHeight() != needed:
            content.setMinimumHeight(needed)
