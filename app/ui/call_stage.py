"""The call page's looks and its two calm full-stage states: the waiting room (nobody else
here yet) and the problem screen (the call could not continue)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.call.events import CallState

WAITING_TITLE = "Your therapist will join shortly"
WAITING_TEXT = (
    "You are in the session room. Take your time and stay on this screen: the others will "
    "appear here as soon as they join. If you need help right now, press “Get help now” "
    "at the top."
)
STATUS = {
    CallState.IDLE: "Getting ready…",
    CallState.JOINING: "Connecting to your session…",
    CallState.WAITING: "In the session room",
    CallState.CONNECTED: "In session",
    CallState.LEFT: "You left the session",
    CallState.FAILED: "The call stopped",
}
NOT_JOINED_STATUS = "Not connected"  # the join failed: there was never a call to stop
PROBLEM_TITLE = "The call could not continue"
NOT_JOINED_TITLE = "Tandem could not join your session"
NOT_JOINED_TEXT = "Tandem could not join the session."
PAGE_STYLE = """
#tileName { color: #ffffff; background: rgba(20, 26, 34, 190); border-radius: 6px;
            padding: 3px 10px; }
#waitingPanel { background: #ffffff; border: 1px solid #d5d9e0; border-radius: 12px; }
#waitingTitle { font-size: 18pt; font-weight: 600; color: #1f3d6e; }
#callStatus { font-size: 14pt; font-weight: 600; color: #1f3d6e; }
#toggleState, #selfNote { color: #47505c; font-size: 11pt; }
QPushButton#toggleButton { min-width: 90px; }
QPushButton#toggleButton:checked { background: #fff4e5; border: 2px solid #a15c00; }
QPushButton#leaveButton { min-width: 130px; color: #ffffff; background: #8c1d18;
                          border: 2px solid #8c1d18; }
QPushButton#leaveButton:focus { border: 3px solid #1f3d6e; }
#dialInPanel, #chatPanel { background: #ffffff; border: 1px solid #d5d9e0; border-radius: 10px; }
#dialInPanel { border: 2px solid #1f3d6e; }
#sideTitle { font-size: 13pt; font-weight: 600; color: #1f3d6e; }
#dialInNumber { font-size: 15pt; font-weight: 700; color: #1f2733; }
#dialInPanel #phoneLabel { font-size: 11pt; }
#chatList { background: #ffffff; }
QPushButton#compactButton { padding: 3px 12px; min-height: 1.2em; }
#chatSender { color: #47505c; font-size: 10pt; font-weight: 600; }
#pauseBanner { background: #fff4e5; border: 1px solid #a15c00; border-radius: 8px; }
#pauseText { color: #5c3500; }
#connectionLine { color: #47505c; font-size: 11pt; }
"""


class WaitingPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waitingPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = QLabel(WAITING_TITLE)
        self.title.setObjectName("waitingTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        text = QLabel(WAITING_TEXT)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 0, 48, 0)
        layout.setSpacing(12)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(text)
        layout.addStretch(1)


class ProblemPanel(QWidget):
    """What went wrong (`text`, set by the page) and the way back to the equipment check."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(PROBLEM_TITLE)
        self.title.setObjectName("waitingTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.back_button = QPushButton("&Back to the equipment check")
        self.back_button.setObjectName("primaryButton")
        self.back_button.setAccessibleName("Back to the equipment check")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
