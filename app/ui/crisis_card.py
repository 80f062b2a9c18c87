"""The crisis card: the help screen that "Get help now" opens.

Two halves side by side from the first second: the live status of the request for help
(HelpStatus) and who to call right now (CrisisNumbers, read from the profile, no network), with
the couple's own safety plan when the status says it matters. When the status must lead with
the numbers (offline, unanswered, practice mode) the numbers come first, on screen and in the
keyboard order.

Not modal: the card never blocks the window behind it (the help button, a call in progress),
and closing it does not cancel the request; "I'm safe now, cancel" does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.emergency.help_flow import HelpView, Phase
from app.profile import ClinicProfile
from app.ui.accessibility import Politeness, announce
from app.ui.crisis_numbers import SELECTABLE, CrisisNumbers, missing_numbers_note
from app.ui.help_status import HelpStatus
from app.ui.safety_plan_view import SafetyPlanView
from app.ui.scroll import PageScrollArea

__all__ = ["SELECTABLE", "CrisisCard", "missing_numbers_note"]

CARD_SIZE = (1040, 640)  # fits a 1280x720 screen with its task bar
TITLE = "If you are in crisis or thinking about harming yourself, help is here."


class CrisisCard(QDialog):
    """Large, readable phone numbers beside the live status. Esc closes the card only."""

    def __init__(
        self,
        profile: ClinicProfile,
        parent: QWidget | None = None,
        practice_mode: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("crisisCard")
        self.setWindowTitle("Get help now")
        self.setAccessibleName("Get help now")
        self.setAccessibleDescription("Phone numbers to call for help right now")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.view: HelpView | None = None
        self._practice_mode = practice_mode

        title = QLabel(TITLE)
        title.setObjectName("crisisTitle")
        title.setWordWrap(True)
        crisis = profile.crisis_line_here  # None where the default 988 could not be dialled
        anytime = (
            "You can call the crisis line at any time, day or night. "
            if crisis is not None
            else "Call your clinic on the number below. "
            if profile.clinic_phone is not None
            else ""
        )
        lead = QLabel(f"{anytime}If you are in immediate danger, call {profile.emergency_number}.")
        lead.setObjectName("crisisLead")
        lead.setWordWrap(True)

        self.status = HelpStatus(practice_mode)
        self.numbers = CrisisNumbers(profile)
        self.number_labels = self.numbers.number_labels
        self.note = self.numbers.note
        self.plan = SafetyPlanView()
        self.plan.hide()

        numbers_content = QWidget()
        numbers_content.setObjectName("numbersColumn")
        numbers_layout = QVBoxLayout(numbers_content)
        numbers_layout.setContentsMargins(0, 0, 0, 0)
        numbers_layout.setSpacing(10)
        numbers_layout.addWidget(lead)
        numbers_layout.addWidget(self.numbers)
        numbers_layout.addWidget(self.plan, 1)
        numbers_layout.addStretch(0)
        # Many dial-in numbers and a long plan scroll; nothing is ever squeezed to overlap.
        self.numbers_column = PageScrollArea(numbers_content)
        numbers_content.setAutoFillBackground(False)  # the card's white, not the page's grey
        self.numbers_column.viewport().setAutoFillBackground(False)

        self.columns = QHBoxLayout()
        self.columns.setSpacing(24)
        self.columns.addWidget(self.status, 1)
        self.columns.addWidget(self.numbers_column, 1)

        buttons = QDialogButtonBox()
        self.close_button = QPushButton("&Close")
        self.close_button.setAccessibleName("Close the help card")
        self.close_button.setDefault(False)
        self.close_button.setAutoDefault(False)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 20, 28, 16)
        layout.setSpacing(14)
        layout.addWidget(title)
        layout.addLayout(self.columns, 1)
        layout.addWidget(buttons)

        crisis_words = f"{crisis.label}: {crisis.number}." if crisis is not None else ""
        clinic = profile.clinic_phone
        clinic_words = (
            f"{clinic.label}: {clinic.number}." if crisis is None and clinic is not None else ""
        )
        self._opening_words = " ".join(
            part for part in (title.text(), lead.text(), crisis_words, clinic_words) if part
        )
        self._note_words = self.numbers.note_text
        self.resize(*CARD_SIZE)
        self._order(lead_with_numbers=False)

    @property
    def announcement(self) -> str:
        """What a screen reader hears when the card opens: the status, then the numbers."""
        status = self.view.headline if self.view is not None else ""
        parts = (status, self._opening_words, self._note_words)
        return " ".join(part for part in parts if part)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # A "Copied" from an earlier opening would claim a copy this person has not made.
        self.numbers.reset_copied()
        # Opening the card makes a reader say its title; the numbers are what a person in crisis
        # needs, and without this they would hear them only by tabbing through the card.
        # Assertive: nothing else on screen matters more at this moment.
        announce(self, self.announcement, Politeness.Assertive)

    def show_view(self, view: HelpView) -> None:
        """Render the request's state; a change of phase is said aloud while the card is open."""
        previous, self.view = self.view, view
        self.status.show_view(view)
        self._show_plan_if_wanted()
        self.close_button.setText(
            "&Close (your request stays open)" if view.can_cancel else "&Close"
        )
        self._order(view.lead_with_numbers)
        if self.isVisible() and (previous is None or previous.moment != view.moment):
            urgent = view.lead_with_numbers or view.phase is Phase.ACCEPTED
            politeness = Politeness.Assertive if urgent else Politeness.Polite
            announce(self, f"{view.headline} {view.detail}", politeness)

    def leading(self) -> QWidget | None:
        """The column shown first (left): the status, or the numbers when they lead."""
        item = self.columns.itemAt(0)
        return None if item is None else item.widget()

    def set_plan(self, text: str | None, updated_at: float | None = None) -> None:
        """The couple's safety plan as kept on this computer (None: no copy yet)."""
        self.plan.set_plan(text, updated_at)
        self._show_plan_if_wanted()

    def _show_plan_if_wanted(self) -> None:
        wanted = self.view is not None and self.view.show_plan
        # Practice mode has no clinic to have written a plan: no empty section there.
        self.plan.setVisible(wanted and (self.plan.has_plan or not self._practice_mode))

    def _order(self, lead_with_numbers: bool) -> None:
        """The numbers first (left, and first in the tab order) when they must lead."""
        status = (self.status, self.status.focus_order())
        numbers = (self.numbers_column, [*self.numbers.focus_order(), self.plan.text])
        first, second = (numbers, status) if lead_with_numbers else (status, numbers)
        self.columns.removeWidget(first[0])
        self.columns.insertWidget(0, first[0], 1)
        chain = [*first[1], *second[1], self.close_button]
        for before, after in zip(chain, chain[1:], strict=False):
            self.setTabOrder(before, after)
        self.columns.activate()  # on screen now, not at the next layout pass
