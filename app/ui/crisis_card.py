"""The crisis card: who to call right now. Needs no network: it only reads the profile."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QShowEvent
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
from app.ui.accessibility import Politeness, announce

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
            "You can call the crisis line at any time, day or night. "
            f"If you are in immediate danger, call {profile.emergency_number}."
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

        self.note: QLabel | None = None
        note_text = missing_numbers_note(profile)
        if note_text:
            self.note = QLabel(note_text)
            self.note.setObjectName("hint")
            self.note.setWordWrap(True)
            layout.addWidget(self.note)
        crisis = profile.crisis_line
        self.announcement = " ".join(
            part
            for part in (
                title.text(),
                lead.text(),
                f"{crisis.label}: {crisis.number}.",
                note_text,
            )
            if part
        )

        buttons = QDialogButtonBox()
        close = QPushButton("&Close")
        close.setAccessibleName("Close the help card")
        buttons.addButton(close, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        close.setDefault(False)
        close.setAutoDefault(False)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # Opening the card makes a reader say its title; the numbers are what a person in crisis
        # needs, and without this they would hear them only by tabbing through the card.
        # Assertive: nothing else on screen matters more at this moment.
        announce(self, self.announcement, Politeness.Assertive)

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


def missing_numbers_note(profile: ClinicProfile) -> str:
    """Why the clinic's own numbers are not (all) on the card, and what to do; "" if they are."""
    if profile.unreadable:
        return (
            "Tandem could not read your clinic's settings file, so your clinic's own numbers "
            "are not shown here. Call your clinic on the number your care team gave you."
        )
    if profile.phones_incomplete:
        return (
            "Some of your clinic's numbers could not be read from its settings file, so they "
            "are missing here. Call your clinic on the number your care team gave you."
        )
    if profile.clinic_phone is None and not profile.dial_in_numbers:
        return (
            "Your clinic has not set up its phone numbers in Tandem yet. "
            "Use the number your care team gave you."
        )
    return ""


def _copy(number: str, button: QPushButton) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(number)
    button.setText("Copied")
