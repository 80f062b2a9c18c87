"""The overall verdict at the top of the results: one sentence, an icon, what to look at."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.checks.result import VerdictSummary
from app.ui.accessibility import announce
from app.ui.assets import icon
from app.ui.wording import VERDICT_ICONS, VERDICT_TITLES, verdict_detail

ICON_SIZE = QSize(36, 36)


class VerdictBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBanner")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(ICON_SIZE)
        self.title_label = QLabel()
        self.title_label.setObjectName("verdictTitle")
        self.title_label.setWordWrap(True)
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self.title_label)
        text.addWidget(self.detail_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(14)
        layout.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)

    def show_summary(self, summary: VerdictSummary, note: str = "") -> None:
        """The verdict; `note` is a sentence after its detail (practice mode's "your internet
        connection was not tested": a verdict must not pass for more than was checked)."""
        verdict = summary.verdict
        self.setProperty("verdict", verdict.value)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon_label.setPixmap(
            icon(VERDICT_ICONS[verdict]).pixmap(ICON_SIZE, self.devicePixelRatioF())
        )
        self.title_label.setText(VERDICT_TITLES[verdict])
        detail = verdict_detail(verdict, summary.deciding_checks)
        self.detail_label.setText(f"{detail} {note}".strip())
        self.setAccessibleName(VERDICT_TITLES[verdict])
        self.setAccessibleDescription(self.detail_label.text())
        self.show()
        self._announce()

    def show_problem(self, title: str, detail: str) -> None:
        """The check itself could not finish (a bug or an unexpected error), in plain words."""
        self.setProperty("verdict", "not_ready")
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon_label.setPixmap(icon("fail").pixmap(ICON_SIZE, self.devicePixelRatioF()))
        self.title_label.setText(title)
        self.detail_label.setText(detail)
        self.setAccessibleName(title)
        self.setAccessibleDescription(detail)
        self.show()
        self._announce()

    @property
    def spoken_text(self) -> str:
        """What a screen reader is asked to say when a verdict or problem appears."""
        return f"{self.title_label.text()} {self.detail_label.text()}".strip()

    def _announce(self) -> None:
        # The banner appears while focus is still on the check button: without an announcement
        # a screen-reader user would not learn that the check has finished, or how it went.
        announce(self, self.spoken_text)
