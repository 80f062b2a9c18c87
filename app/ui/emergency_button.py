"""The "Get help now" button: in the header of every page, large, red, reachable by keyboard."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QPushButton, QWidget

from app.ui.assets import icon


class EmergencyButton(QPushButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Get help now", parent)
        self.setObjectName("emergencyButton")
        self.setIcon(icon("help"))
        self.setIconSize(QSize(22, 22))
        self.setAccessibleName("Get help now")
        self.setAccessibleDescription(
            "Opens the crisis line and your clinic's phone numbers. Shortcut: Alt+G."
        )
        self.setToolTip("Crisis line and your clinic's phone numbers (Alt+G)")
        self.setAutoDefault(False)
