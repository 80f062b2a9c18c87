"""The speaker's result card, which asks "Did you hear the tone?" when nothing else can tell.

With headphones (or no microphone) the microphone cannot hear the test tone, so only the person
knows whether sound came out. The card asks; the page turns the answer into a result
(app.checks.speaker.confirm_heard), so the decision stays in the Qt-free core.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.checks.result import CheckResult
from app.checks.speaker import needs_confirmation
from app.ui.result_card import ResultCard

QUESTION = "Did you hear the tone?"


class ToneQuestion(QWidget):
    """The question and its two answers; `answered(True)` for yes."""

    answered = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(QUESTION)
        self.label.setObjectName("cardTitle")
        self.label.setWordWrap(True)
        self.yes_button = QPushButton("&Yes, I heard it")
        self.yes_button.setAccessibleName("Yes, I heard the tone")
        self.yes_button.setAccessibleDescription("Marks your speakers as working")
        self.no_button = QPushButton("&No, I did not")
        self.no_button.setAccessibleName("No, I did not hear the tone")
        self.no_button.setAccessibleDescription("Shows what to do to get sound working")
        for button in (self.yes_button, self.no_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAutoDefault(True)  # Enter answers, like a click
        self.yes_button.clicked.connect(lambda: self.answered.emit(True))
        self.no_button.clicked.connect(lambda: self.answered.emit(False))
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.yes_button)
        buttons.addWidget(self.no_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self.setAccessibleName(QUESTION)


class SpeakerCard(ResultCard):
    """A ResultCard that can ask the person whether they heard the test tone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("speaker", parent)
        self.question = ToneQuestion(self)
        self.question.hide()
        # ResultCard lays out [status strip | body]; the question goes under the fix, above the
        # body's closing stretch.
        outer = self.layout()
        item = outer.itemAt(1) if outer is not None else None
        body = item.layout() if item is not None else None
        if not isinstance(body, QBoxLayout):
            raise RuntimeError("the result card's layout changed; place the question anew")
        body.insertWidget(body.count() - 1, self.question)

    @property
    def asking(self) -> bool:
        return self.question.isVisibleTo(self)

    def ask_if_unconfirmed(self, result: CheckResult) -> bool:
        """Show the question when nothing proved the tone was heard; True if it asks."""
        ask = needs_confirmation(result)
        self.question.setVisible(ask)
        if ask:
            self.setAccessibleDescription(f"{self.accessibleDescription()} {QUESTION}".strip())
        return ask

    # Any new state (waiting, running, a result) ends the question; the page asks again.
    def show_waiting(self) -> None:
        super().show_waiting()
        self._stop_asking()

    def show_running(self, message: str = "") -> None:
        super().show_running(message)
        self._stop_asking()

    def show_skipped(self, reason: str) -> None:
        super().show_skipped(reason)
        self._stop_asking()

    def show_result(self, result: CheckResult) -> None:
        super().show_result(result)
        self._stop_asking()

    def _stop_asking(self) -> None:
        question: ToneQuestion | None = getattr(self, "question", None)  # None while building
        if question is not None:
            question.hide()
