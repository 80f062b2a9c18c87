"""One check's card: its status in words and an icon (never colour alone), the reason, the fix."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.checks.result import CheckResult
from app.checks.wording import NOT_CHECKED, STATUS_WORDS, check_title
from app.ui.assets import icon
from app.ui.wording import STATUS_ICONS

ICON_SIZE = QSize(28, 28)


class ResultCard(QFrame):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.has_result = False
        self.setObjectName("resultCard")
        self.setProperty("status", "pending")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)

        self.icon_label = QLabel()
        self.icon_label.setFixedSize(ICON_SIZE)
        self.title_label = QLabel(check_title(name))
        self.title_label.setObjectName("cardTitle")
        self.status_label = QLabel()
        self.status_label.setObjectName("cardStatus")
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.fix_label = QLabel()
        self.fix_label.setObjectName("cardFix")
        self.fix_label.setWordWrap(True)
        for label in (self.reason_label, self.fix_label, self.status_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        heading = QHBoxLayout()
        heading.setSpacing(10)
        heading.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title_label)
        titles.addWidget(self.status_label)
        heading.addLayout(titles, 1)

        # A coloured strip on the left repeats the status; the words and icon carry it.
        self.strip = QFrame()
        self.strip.setObjectName("statusStrip")
        self.strip.setFixedWidth(6)
        body = QVBoxLayout()
        body.setContentsMargins(12, 12, 16, 12)
        body.setSpacing(6)
        body.addLayout(heading)
        body.addWidget(self.reason_label)
        body.addWidget(self.fix_label)
        # What the person can do from the card itself (practice mode's real internet test).
        self.action_button = QPushButton()
        self.action_button.setAutoDefault(False)
        self.action_button.setAccessibleName(check_title(name))  # offer_action names it
        self.action_button.hide()
        body.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignLeft)
        body.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addLayout(body, 1)
        self.show_waiting()

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    def _set(self, status: str, icon_name: str, words: str, reason: str, fix: str) -> None:
        for widget in (self, self.strip):
            widget.setProperty("status", status)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.icon_label.setPixmap(icon(icon_name).pixmap(ICON_SIZE, self.devicePixelRatioF()))
        self.status_label.setText(words)
        self.reason_label.setText(reason)
        self.reason_label.setVisible(bool(reason))
        self.fix_label.setText(f"<b>What to do:</b> {_escape(fix)}" if fix else "")
        self.fix_label.setVisible(bool(fix))
        title = check_title(self.name)
        self.setAccessibleName(f"{title}: {words}")
        self.setAccessibleDescription(" ".join(part for part in (reason, fix) if part))

    def offer_action(self, text: str, description: str) -> None:
        """Show the card's button (its clicks are the page's to connect)."""
        self.action_button.setText(text)
        self.action_button.setAccessibleName(text.replace("&", ""))
        self.action_button.setAccessibleDescription(description)
        self.action_button.setToolTip(description)
        self.action_button.show()

    def withdraw_action(self) -> None:
        self.action_button.hide()

    def show_waiting(self) -> None:
        self.has_result = False
        self._set("pending", "pending", "Not checked yet", "", "")

    def show_running(self, message: str = "") -> None:
        self.has_result = False
        self._set("pending", "pending", "Checking…", message, "")

    def show_skipped(self, reason: str) -> None:
        self.has_result = True
        self._set("pending", "pending", NOT_CHECKED, reason, "")

    def show_result(self, result: CheckResult) -> None:
        self.has_result = True
        self._set(
            result.status.value,
            STATUS_ICONS[result.status],
            STATUS_WORDS[result.status],
            result.reason or _measured(result),
            result.fix,
        )


def _measured(result: CheckResult) -> str:
    """The speed test's figures for a passed check (numbers a person can quote to the clinic)."""
    down, up = result.metrics.get("download_mbps"), result.metrics.get("upload_mbps")
    if isinstance(down, int | float) and isinstance(up, int | float):
        return f"Download {down:.1f} Mbps, upload {up:.1f} Mbps."
    return ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
