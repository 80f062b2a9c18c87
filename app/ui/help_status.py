"""The live half of the crisis card: what is happening with the request for help (HelpView),
where the person is, and the buttons to cancel it or to practise it. Renders, never decides."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.emergency.help_flow import HelpView, Phase

MAX_LOCATION_CHARS = 200  # docs/emergency.md: `location` ≤ 200 chars
LOCATION_QUESTION = "Where are you right now? (optional)"
LOCATION_HINT = (
    "Sent to the on-call clinician with your request, and remembered on this computer only."
)
PRACTICE_BUTTON_TEXT = "&Practice the help button"
# Where the person is matters while a request is on its way (once a clinician answers, they ask).
ASKING = frozenset({Phase.CONNECTING, Phase.RINGING, Phase.UNANSWERED, Phase.OFFLINE})


class HelpStatus(QWidget):
    location_sent = Signal(str)  # the person confirmed where they are (sent with the request)
    cancel_requested = Signal()
    practice_requested = Signal()

    def __init__(self, practice_mode: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpStatus")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.view: HelpView | None = None

        self.headline = QLabel()
        self.headline.setObjectName("helpHeadline")
        self.headline.setWordWrap(True)
        self.headline.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.headline.setAccessibleName("Help status")
        self.detail = QLabel()
        self.detail.setObjectName("helpDetail")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName("What is happening")

        self.location_label = QLabel(LOCATION_QUESTION)
        self.location_label.setObjectName("phoneLabel")
        self.location = QLineEdit()
        self.location.setMaxLength(MAX_LOCATION_CHARS)
        self.location.setPlaceholderText("For example: at home, 12 Elm Street")
        self.location.setAccessibleName("Where are you right now")
        self.location.setAccessibleDescription(LOCATION_HINT)
        self.location_label.setBuddy(self.location)
        self.location_button = QPushButton("Send &where I am")
        self.location_button.setAccessibleName("Send where I am to the clinician")
        self.location_button.setAutoDefault(False)
        self.location_button.clicked.connect(self._send_location)
        self.location.returnPressed.connect(self._send_location)
        self.location_note = QLabel(LOCATION_HINT)
        self.location_note.setObjectName("hint")
        self.location_note.setWordWrap(True)
        location_row = QHBoxLayout()
        location_row.addWidget(self.location, 1)
        location_row.addWidget(self.location_button)

        self.cancel_button = QPushButton("I'm &safe now, cancel")
        self.cancel_button.setObjectName("cancelHelpButton")
        self.cancel_button.setAccessibleName("I'm safe now, cancel the request for help")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.practice_button = QPushButton(PRACTICE_BUTTON_TEXT)
        self.practice_button.setObjectName("primaryButton")
        self.practice_button.setAccessibleName("Practice the help button")
        self.practice_button.setAccessibleDescription(
            "A practice run with a simulated on-call clinician, on this computer only. "
            "No one is really called."
        )
        self.practice_button.setAutoDefault(False)
        self.practice_button.clicked.connect(self.practice_requested)
        self.practice_button.setVisible(practice_mode)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.practice_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addSpacing(4)
        layout.addWidget(self.location_label)
        layout.addLayout(location_row)
        layout.addWidget(self.location_note)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def show_view(self, view: HelpView) -> None:
        self.view = view
        self.headline.setText(view.headline)
        self.headline.setAccessibleDescription(view.headline)
        self.detail.setText(view.detail)
        self.detail.setVisible(bool(view.detail))
        self.setProperty("urgent", "yes" if view.lead_with_numbers else "no")
        self.style().unpolish(self)
        self.style().polish(self)
        # Where they are matters only while a request can carry it.
        asking = view.phase in ASKING
        for widget in (self.location_label, self.location, self.location_button):
            widget.setVisible(asking)
        self.location_note.setVisible(asking)
        self.cancel_button.setVisible(view.can_cancel)

    def focus_order(self) -> list[QWidget]:
        """Keyboard order: the status, where I am, then the buttons."""
        return [
            self.headline,
            self.location,
            self.location_button,
            self.cancel_button,
            self.practice_button,
        ]

    def set_location(self, text: str | None) -> None:
        self.location.setText(text or "")

    def _send_location(self) -> None:
        if self.view is not None and self.view.phase.open:
            self.location_sent.emit(self.location.text().strip())
            self.location_note.setText("Sent. " + LOCATION_HINT)
