"""The crisis card: who to call right now. Needs no network: it only reads the profile."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.profile import ClinicProfile, PhoneNumber

SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | (
    Qt.TextInteractionFlag.TextSelectableByKeyboard
)


class CrisisCard(QDialog):
    """Large, readable phone numbers; every number can be selected and copied. Esc closes."""

    def __init__(self, profile: ClinicProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crisisCard")
        self.setWindowTitle("Get help now")
        self.setAccessibleName("Get help now")
        self.setAccessibleDescription("Phone numbers to call for help right now")
        self.setModal(True)
        self.number_labels: dict[str, QLabel] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)

        title = QLabel("If you are in crisis or thinking about harming yourself, help is here.")
        title.setObjectName("crisisTitle")
        title.setWordWrap(True)
        layout.addWidget(title)

        lead = QLabel(
            "You can call or text the crisis line at any time, day or night. "
            "If you are in immediate danger, call 911."
        )
        lead.setObjectName("crisisLead")
        lead.setWordWrap(True)
        layout.addWidget(lead)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        row = 0
        row = self._add_phone(grid, row, profile.crisis_line, "crisisNumber", key="crisis")
        if profile.clinic_phone is not None:
            row = self._add_phone(grid, row, profile.clinic_phone, "phoneNumber", key="clinic")
        for index, dial_in in enumerate(profile.dial_in_numbers):
            row = self._add_phone(grid, row, dial_in, "phoneNumber", key=f"dial_in_{index}")
        layout.addLayout(grid)

        if profile.clinic_phone is None and not profile.dial_in_numbers:
            note = QLabel(
                "Your clinic has not set up its phone numbers in Tandem yet. "
                "Use the number your care team gave you."
            )
            note.setObjectName("hint")
            note.setWordWrap(True)
            layout.addWidget(note)

        buttons = QDialogButtonBox()
        close = QPushButton("&Close")
        close.setAccessibleName("Close the help card")
        buttons.addButton(close, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        close.setDefault(False)
        close.setAutoDefault(False)

    def _add_phone(
        self, grid: QGridLayout, row: int, phone: PhoneNumber, style: str, key: str
    ) -> int:
        label = QLabel(phone.label)
        label.setObjectName("phoneLabel")
        label.setWordWrap(True)
        label.setTextInteractionFlags(SELECTABLE)
        number = QLabel(phone.number)
        number.setObjectName(style)
        number.setTextInteractionFlags(SELECTABLE)
        number.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        number.setAccessibleName(f"{phone.label}: {phone.number}")
        copy = QPushButton("Copy")
        copy.setAccessibleName(f"Copy the number for {phone.label}")
        copy.setAutoDefault(False)
        copy.clicked.connect(lambda: _copy(phone.number, copy))
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.HLine)
        separator.setStyleSheet("color: #d5d9e0;")
        grid.addWidget(label, row, 0, 1, 2)
        grid.addWidget(number, row + 1, 0, Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(
            copy, row + 1, 1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        grid.addWidget(separator, row + 2, 0, 1, 2)
        self.number_labels[key] = number
        return row + 3


def _copy(number: str, button: QPushButton) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(number)
    button.setText("Copied")
