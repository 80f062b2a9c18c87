"""Who to call right now: the crisis line, the local emergency number and the clinic's numbers.

Needs no network: it only reads the profile. Every number is large, focusable, selectable and
has a Copy button, so a person can read it out, dial it or paste it under stress.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.profile import ClinicProfile, PhoneNumber

SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | (
    Qt.TextInteractionFlag.TextSelectableByKeyboard
)
# A number is selectable by mouse only: keyboard selection draws a blinking text caret after it,
# which looks as if the number could be edited. The keyboard gets its Copy button instead, and
# focus on the number still lets a screen reader say it.
NUMBER_SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse
COPIED_FOR_MS = 4000  # "Copied" confirms the click, then the button says what it does again


class CrisisNumbers(QWidget):
    """The numbers, keyed "crisis", "emergency", "clinic", "dial_in_<n>" in `number_labels`."""

    def __init__(self, profile: ClinicProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crisisNumbers")
        self.number_labels: dict[str, QLabel] = {}
        self.copy_buttons: list[QPushButton] = []
        self._focus: list[QWidget] = []  # each number, then its Copy button
        self._reset_timer = QTimer(self)
        self._reset_timer.setSingleShot(True)
        self._reset_timer.setInterval(COPIED_FOR_MS)
        self._reset_timer.timeout.connect(self.reset_copied)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        row = 0
        crisis = profile.crisis_line_here  # None where the default 988 could not be dialled
        if crisis is not None:
            row = self._add_phone(grid, row, crisis, "crisisNumber", key="crisis")
        emergency = PhoneNumber("In immediate danger: emergency services", profile.emergency_number)
        row = self._add_phone(grid, row, emergency, "crisisNumber", key="emergency")
        if profile.clinic_phone is not None:
            row = self._add_phone(grid, row, profile.clinic_phone, "phoneNumber", key="clinic")
        for index, dial_in in enumerate(profile.dial_in_numbers):
            row = self._add_phone(grid, row, dial_in, "phoneNumber", key=f"dial_in_{index}")
        layout.addLayout(grid)

        self.note: QLabel | None = None
        self.note_text = missing_numbers_note(profile)
        if self.note_text:
            self.note = QLabel(self.note_text)
            self.note.setObjectName("hint")
            self.note.setWordWrap(True)
            layout.addWidget(self.note)

    def focus_order(self) -> list[QWidget]:
        return list(self._focus)

    def reset_copied(self) -> None:
        """Every button says "Copy" again (after a while, and whenever the card opens)."""
        self._reset_timer.stop()
        for button in self.copy_buttons:
            button.setText("Copy")

    def _copy(self, number: str, button: QPushButton) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(number)
        self.reset_copied()  # only the number just copied says so
        button.setText("Copied")
        self._reset_timer.start()

    def _add_phone(
        self, grid: QGridLayout, row: int, phone: PhoneNumber, style: str, key: str
    ) -> int:
        label = QLabel(phone.label)
        label.setObjectName("phoneLabel")
        label.setWordWrap(True)
        label.setTextInteractionFlags(SELECTABLE)
        number = QLabel(phone.number)
        number.setObjectName(style)
        number.setTextInteractionFlags(NUMBER_SELECTABLE)
        number.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        number.setAccessibleName(f"{phone.label}: {phone.number}")
        copy = QPushButton("Copy")
        copy.setAccessibleName(f"Copy the number for {phone.label}")
        copy.setAutoDefault(False)
        copy.clicked.connect(lambda: self._copy(phone.number, copy))
        self.copy_buttons.append(copy)
        self._focus += [number, copy]
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
    no_crisis_line = (
        ""
        if profile.crisis_line_here is not None
        else "Your clinic has not set a crisis line for where you live. "
    )
    return (no_crisis_line + _clinic_numbers_note(profile)).strip()


def _clinic_numbers_note(profile: ClinicProfile) -> str:
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
