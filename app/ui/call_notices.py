"""Calm notices at the top of the call page: our video paused for a weak link (with the
person's choice), and the session server reconnecting or moved to the clinic's backup.
What to show is decided in app.ui.continuity_state; these widgets render it."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.accessibility import announce
from app.ui.continuity_state import STAYING_ON_AUDIO, VIDEO_PAUSED, PauseView

SERVER_RECONNECTING = "Reconnecting to the session server… (your call goes on)"
SERVER_SWITCHED = "Moved to the clinic's backup server"
SWITCHED_SHOWN_MS = 8000  # long enough to read twice; the call itself needs nothing from them


def _button(text: str, name: str, description: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("compactButton")
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setAutoDefault(False)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return button


class VideoPauseBanner(QFrame):
    """ "Video paused…" with "Try video again" and "Stay on audio"; after "Stay on audio" only a
    small "Turn video back on". `choice` carries CallSession.set_video_choice's word."""

    choice = Signal(str)  # "try_video" | "audio_only" | "auto"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pauseBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel(VIDEO_PAUSED)
        self.text.setObjectName("pauseText")
        self.text.setWordWrap(True)
        self.try_button = _button(
            "&Try video again", "Try video again", "Sends your video again even on a weak link"
        )
        self.stay_button = _button(
            "&Stay on audio", "Stay on audio", "Keeps your video paused until you turn it on"
        )
        self.back_button = _button(
            "Turn &video back on", "Turn video back on", "Lets Tandem send video when it can"
        )
        self.try_button.clicked.connect(lambda: self.choice.emit("try_video"))
        self.stay_button.clicked.connect(lambda: self.choice.emit("audio_only"))
        self.back_button.clicked.connect(lambda: self.choice.emit("auto"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.setSpacing(8)
        layout.addWidget(self.text, 1)
        for button in (self.try_button, self.stay_button, self.back_button):
            layout.addWidget(button)
        self.view = PauseView.HIDDEN
        self.show_view(PauseView.HIDDEN)

    def show_view(self, view: PauseView) -> None:
        changed = view is not self.view
        self.view = view
        self.setVisible(view is not PauseView.HIDDEN)
        paused = view is PauseView.PAUSED
        self.setProperty("compact", not paused)
        self.text.setText(VIDEO_PAUSED if paused else STAYING_ON_AUDIO)
        self.try_button.setVisible(paused)
        self.stay_button.setVisible(paused)
        self.back_button.setVisible(view is PauseView.STAYING)
        self.setAccessibleName("Your video")
        self.setAccessibleDescription(self.text.text())
        if changed and view is PauseView.PAUSED:
            announce(self, VIDEO_PAUSED)


class ConnectionLine(QLabel):
    """One calm line about the session server. Reconnecting stays until Reconnected; the move
    to the backup shows for a few seconds (unless a reconnect is being said)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionLine")
        self.setWordWrap(True)
        self.setAccessibleName("Connection to the session server")
        self._reconnecting = False
        self._switch_timer = QTimer(self)
        self._switch_timer.setSingleShot(True)
        self._switch_timer.setInterval(SWITCHED_SHOWN_MS)
        self._switch_timer.timeout.connect(self._show)
        self.hide()

    def reconnecting(self) -> None:
        if not self._reconnecting:
            self._reconnecting = True
            self._show()

    def reconnected(self) -> None:
        self._reconnecting = False  # a move to the backup just said stays for its time
        self._show()

    def server_switched(self) -> None:
        self._reconnecting = False  # on the backup: the reconnect is over
        self._switch_timer.start()
        self._show()

    def clear(self) -> None:
        self._reconnecting = False
        self._switch_timer.stop()
        self._show()

    def _show(self) -> None:
        if self._reconnecting:
            text = SERVER_RECONNECTING
        elif self._switch_timer.isActive():
            text = SERVER_SWITCHED
        else:
            text = ""
        if text and text != self.text():
            announce(self, text)
        self.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))
