"""The clinic's dial-in numbers, shown in the call when someone's connection has been out for a
while: each number large, with a one-click copy. Offline: it only reads the profile."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.profile import ClinicProfile, PhoneNumber
from app.ui.accessibility import announce
from app.ui.crisis_card import SELECTABLE

DIAL_IN_TITLE = "Join by phone"
DIAL_IN_LEAD = "If the call stays down, join by phone:"
CALL_CLINIC_LEAD = "If the call stays down, call your clinic:"
NO_NUMBERS = "If the call stays down, call your clinic on the number your care team gave you."
HELP_STAYS = "The “Get help now” button at the top stays available."
COPIED_SHOWN_MS = 2000


class DialInPanel(QFrame):
    """Built from the profile; `copy_buttons` and `number_labels` in the order shown."""

    def __init__(self, profile: ClinicProfile | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dialInPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName(DIAL_IN_TITLE)
        self.copy_buttons: list[QPushButton] = []
        self.number_labels: list[QLabel] = []
        self.announcement = ""
        self._reset_timer = QTimer(self)
        self._reset_timer.setSingleShot(True)
        self._reset_timer.setInterval(COPIED_SHOWN_MS)
        self._reset_timer.timeout.connect(self._reset_copy_buttons)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._body: QWidget | None = None
        self.set_profile(profile or ClinicProfile())
        self.hide()

    def set_profile(self, profile: ClinicProfile) -> None:
        if self._body is not None:
            self._layout.removeWidget(self._body)
            self._body.deleteLater()
        body = self._body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(14, 8, 14, 8)
        column.setSpacing(4)
        self._layout.addWidget(body)
        self.copy_buttons.clear()
        self.number_labels.clear()
        title = QLabel(DIAL_IN_TITLE)
        title.setObjectName("sideTitle")
        column.addWidget(title)
        phones = list(profile.dial_in_numbers)
        if phones:
            lead_text = DIAL_IN_LEAD
        elif profile.clinic_phone is not None:
            lead_text, phones = CALL_CLINIC_LEAD, [profile.clinic_phone]
        else:
            lead_text = NO_NUMBERS
        lead = QLabel(lead_text)
        lead.setWordWrap(True)
        column.addWidget(lead)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for index, phone in enumerate(phones):
            self._add_phone(grid, 2 * index, phone)
        column.addLayout(grid)
        help_line = QLabel(HELP_STAYS)
        help_line.setObjectName("hint")
        help_line.setWordWrap(True)
        column.addWidget(help_line)
        numbers = " ".join(f"{p.label}: {p.number}." for p in phones)
        self.announcement = " ".join(t for t in (lead_text, numbers, HELP_STAYS) if t)
        self.setAccessibleDescription(self.announcement)

    def show_numbers(self) -> None:
        if not self.isVisible():
            self.show()
            # Said once as it appears: the person may be looking at a frozen picture, not here.
            announce(self, self.announcement)

    def _add_phone(self, grid: QGridLayout, row: int, phone: PhoneNumber) -> None:
        label = QLabel(phone.label)
        label.setObjectName("phoneLabel")
        label.setWordWrap(True)
        number = QLabel(phone.number)
        number.setObjectName("dialInNumber")
        number.setTextInteractionFlags(SELECTABLE)
        number.setAccessibleName(f"{phone.label}: {phone.number}")
        copy = QPushButton("Copy")
        copy.setObjectName("compactButton")
        copy.setAccessibleName(f"Copy the number for {phone.label}")
        copy.setAutoDefault(False)
        copy.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        copy.clicked.connect(lambda: self._copy(phone.number, copy))
        # The number gets the panel's whole width (long ones have pauses and a code).
        grid.addWidget(label, row, 0)
        grid.addWidget(copy, row, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(number, row + 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.copy_buttons.append(copy)
        self.number_labels.append(number)

    def _copy(self, number: str, button: QPushButton) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(number)
        self._reset_copy_buttons()
        button.setText("Copied")
        announce(button, "Copied")
        self._reset_timer.start()

    def _reset_copy_buttons(self) -> None:
        for button in self.copy_buttons:
            button.setText("Copy")
