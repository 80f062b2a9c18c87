"""The "Get help now" button: in the header of every page, large, red, reachable by keyboard."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QPushButton, QWidget

from app.ui.assets import icon

CLINIC_WORDS = (
    "Calls your clinic's on-call clinician at once and shows the crisis line and your clinic's "
    "phone numbers. Shortcut: Alt+G."
)
# Practice mode has no clinician on call, and the button must not suggest otherwise.
PRACTICE_WORDS = "Shows the crisis line and your clinic's phone numbers. Shortcut: Alt+G."


class EmergencyButton(QPushButton):
    def __init__(self, practice_mode: bool = False, parent: QWidget | None = None) -> None:
        super().__init__("&Get help now", parent)
        self.setObjectName("emergencyButton")
        self.setIcon(icon("help"))
        self.setIconSize(QSize(22, 22))
        self.setAccessibleName("Get help now")
        words = PRACTICE_WORDS if practice_mode else CLINIC_WORDS
        self.setAccessibleDescription(words)
        self.setToolTip(words)
        self.setAutoDefault(False)
