"""Everything "Get help now" puts on screen, wired together for the main window: the crisis card,
the partner prompt, Alt+G everywhere, and the controller that talks to the emergency connection.

The window keeps only what is its own: the header button, the page stack and the call (the
controller's `call_ready` and `case_closed` go to it).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

from app.emergency.help_flow import HelpView
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.crisis_card import CrisisCard
from app.ui.help_controller import HelpController
from app.ui.help_everywhere import HelpEverywhere, dismiss_modal_dialogs
from app.ui.partner_banner import PartnerBanner


class HelpDesk(QObject):
    def __init__(
        self,
        window: QWidget,
        profile: ClinicProfile,
        bridge: Bridge,
        controller: HelpController | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.profile = profile
        self.controller = controller or HelpController(profile, bridge, parent=self)
        self.card: CrisisCard | None = None
        self.banner = PartnerBanner()
        self.banner.join_requested.connect(self.get_help)
        self.everywhere = HelpEverywhere(self.get_help, window, self)
        controller = self.controller
        controller.view_changed.connect(self._show_view)
        controller.plan_changed.connect(self._show_plan)
        controller.prompt_changed.connect(self._prompt)

    def start(self) -> None:
        """Keep the couple's connection (clinic mode with a remembered join code), and build
        the card ahead, hidden: the first click then shows it at once (building it takes a few
        hundred milliseconds on a slow machine)."""
        self.controller.start_watching()
        QTimer.singleShot(0, self, self._make_card)

    def get_help(self) -> CrisisCard:
        """One click: the request goes out and the card opens at once (no confirmation)."""
        dismiss_modal_dialogs(keep=self.card)
        self._make_card()
        self.controller.press()  # the card shows the request's first second as it opens
        return self.open_card()

    def open_card(self) -> CrisisCard:
        card = self._make_card()
        self._update_practice_button()
        card.show()
        card.raise_()
        card.activateWindow()
        return card

    def _make_card(self) -> CrisisCard:
        card = self.card
        if card is None:
            card = self.card = CrisisCard(
                self.profile, self._window, practice_mode=self.profile.practice_mode
            )
            card.finished.connect(self._card_closed)
            status = card.status
            status.location_sent.connect(self.controller.send_location)
            status.cancel_requested.connect(self.controller.cancel)
            status.practice_requested.connect(self._practise)
            status.set_location(self.controller.location)
            self._show_plan()
            card.show_view(self.controller.view())
        return card

    def hide_card(self) -> None:
        if self.card is not None:
            self.card.hide()

    def shutdown(self) -> None:
        self.everywhere.remove()
        self.controller.shutdown()
        if self.card is not None:
            self.card.close()

    def _practise(self) -> None:
        self.controller.practise()

    def _show_view(self, view: HelpView) -> None:
        if self.card is not None:
            self.card.show_view(view)
            self._update_practice_button()

    def _update_practice_button(self) -> None:
        if self.card is not None:
            button = self.card.status.practice_button
            button.setEnabled(self.controller.can_practise)
            if not self.controller.can_practise:
                button.setToolTip("Available once practice mode has started")

    def _show_plan(self) -> None:
        if self.card is not None:
            cached = self.controller.plan()
            if cached is None:
                self.card.set_plan(None)
            else:
                self.card.set_plan(cached.text, cached.updated_at)

    def _prompt(self, text: str) -> None:
        self.banner.show_prompt(text)
        if text:
            # The other partner asked for help: bring the app to the front.
            self._window.show()
            self._window.raise_()
            self._window.activateWindow()

    def _card_closed(self, _: int) -> None:
        focus = getattr(self._window, "emergency_button", None)
        if isinstance(focus, QWidget):
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
