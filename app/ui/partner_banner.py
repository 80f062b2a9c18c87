"""The other partner's side of a help request: "Alex asked for help — join now", one click.

Shown under the header of the main window (on every page) when the couple's connection hears
that the other partner raised the alarm; the button joins the same case, exactly as "Get help
now" does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.accessibility import Politeness, announce


class PartnerBanner(QWidget):
    join_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("partnerBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel()
        self.text.setObjectName("partnerText")
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Your partner asked for help")
        self.join_button = QPushButton("Join no&w")
        self.join_button.setObjectName("partnerJoinButton")
        self.join_button.setAccessibleName("Join your partner's request for help now")
        self.join_button.setAutoDefault(False)
        self.join_button.clicked.connect(self.join_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 8, 20, 8)
        layout.setSpacing(16)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.join_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_prompt(self, text: str) -> None:
        """Show `text` (and say it aloud, assertively); "" hides the banner."""
        if not text:
            self.hide()
            return
        changed = text != self.text.text() or not self.isVisible()
        self.text.setText(text)
        self.join_button.setAccessibleName(text)
        self.show()
        if changed:
            announce(self, text, Politeness.Assertive)
