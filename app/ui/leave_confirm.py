"""The question before leaving a session: "Leave the session? Your partner stays in the call."

A click on "Leave session" that could not be taken back ended the session for this computer at
once. The question is asked inline, on the call page, not in a dialog: a modal dialog would
block the window, and "Get help now" (and Alt+G) must keep working while it is open. "Stay"
has the focus, so Enter or Space on a second press never leaves by accident; Esc stays too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.accessibility import Politeness, announce

QUESTION = "Leave the session? Your partner stays in the call."
STYLE = """
#leaveConfirm { background: #fff4e5; border: 2px solid #a15c00; border-radius: 8px; }
#leaveQuestion { font-size: 13pt; font-weight: 600; color: #5c3500; }
"""


class LeaveConfirm(QFrame):
    """Hidden until `ask()`; says `confirmed` once "Yes, leave" is pressed."""

    confirmed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leaveConfirm")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.setAccessibleName("Leave the session?")
        self.setAccessibleDescription(QUESTION)
        self.question = QLabel(QUESTION)
        self.question.setObjectName("leaveQuestion")
        self.question.setWordWrap(True)
        self.leave_button = QPushButton("&Yes, leave")
        self.leave_button.setObjectName("leaveButton")
        self.leave_button.setAccessibleName("Yes, leave the session")
        self.stay_button = QPushButton("S&tay in the session")
        self.stay_button.setAccessibleName("Stay in the session")
        for button in (self.leave_button, self.stay_button):
            button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(12)
        layout.addWidget(self.question, 1)
        layout.addWidget(self.stay_button)
        layout.addWidget(self.leave_button)
        self.stay_button.clicked.connect(self.cancel)
        self.leave_button.clicked.connect(self._leave)
        self.hide()

    @property
    def asking(self) -> bool:
        return self.isVisible()

    def ask(self) -> None:
        """Show the question, with the focus on staying; said aloud for a screen reader."""
        self.show()
        self.stay_button.setFocus(Qt.FocusReason.OtherFocusReason)
        announce(self, QUESTION, Politeness.Assertive)

    def cancel(self) -> None:
        """Put the question away (Stay, Esc, or the call ended by itself)."""
        self.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            event.accept()
            return
        super().keyPressEvent(event)

    def _leave(self) -> None:
        self.hide()
        self.confirmed.emit()
