"""The couple's own safety plan on the crisis card, from the copy kept on this computer.

The clinic writes it in Markdown; it is shown read-only, selectable, in a scrolling box so a
long plan never pushes the phone numbers off a 1280x720 screen.
"""

from __future__ import annotations

import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

NO_PLAN = (
    "Your safety plan is not saved on this computer yet. Tandem keeps a copy once it has "
    "connected to your clinic."
)


class SafetyPlanView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("safetyPlan")
        self.title = QLabel("Your safety plan")
        self.title.setObjectName("sectionTitle")
        self.saved = QLabel()
        self.saved.setObjectName("hint")
        self.saved.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setObjectName("planText")
        self.text.setOpenLinks(False)  # read on this card; nothing leaves it
        self.text.setAccessibleName("Your safety plan")
        self.text.setMinimumHeight(120)
        self.text.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.text.setTabChangesFocus(True)  # Tab leaves the plan; arrows scroll it
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.saved)
        layout.addWidget(self.text, 1)
        layout.addStretch(0)  # takes the room when there is no plan to show
        self.plan_text = ""
        self.set_plan(None)

    @property
    def has_plan(self) -> bool:
        return bool(self.plan_text.strip())

    def set_plan(self, text: str | None, updated_at: float | None = None) -> None:
        """The plan's Markdown and when the clinic last changed it (unix s); None: no copy."""
        self.plan_text = text or ""
        if not self.plan_text.strip():
            self.text.hide()
            self.saved.setText(NO_PLAN)
            return
        self.text.setMarkdown(self.plan_text)
        self.text.show()
        when = ""
        if updated_at is not None:
            stamp = datetime.datetime.fromtimestamp(updated_at)
            when = f" Last changed by your clinic on {stamp:%d %B %Y}."
        self.saved.setText("Kept on this computer, so it is here even when you are offline." + when)
