"""Between the crisis card and the emergency connection: forwards the couple's clicks, feeds the
connection's events to HelpFlow (which decides what the card says) and ticks its clock.

The connection (app.emergency.EmergencyClient) runs on the bridge's asyncio loop; its events
come back to the GUI thread through the bridge. No widget touches the network. In clinic mode
the connection is kept for as long as the app runs with a remembered join code, so the other
partner's app hears "Alex asked for help" and the safety plan stays fresh on this computer.
In practice mode there is no clinician: a practice run uses a separate connection to the
practice server and a simulated clinician (app.emergency.practice_clinician).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.emergency.call import ticket_call
from app.emergency.couple_client import EmergencyClient
from app.emergency.events import Accepted, CoupleEvent
from app.emergency.help_events import react
from app.emergency.help_flow import CrisisWords, HelpFlow, HelpView, Phase, Press
from app.emergency.help_words import describe
from app.emergency.join_code_memory import JoinCodeMemory
from app.emergency.location_memory import LocationMemory
from app.emergency.plan_cache import CachedPlan, PlanCache
from app.emergency.practice_clinician import ACCEPT_AFTER_S, PracticeRun, SimulatedClinician
from app.practice import practice_tokens
from app.profile import ClinicProfile
from app.ui.bridge import Bridge

log = logging.getLogger(__name__)

TICK_MS = 250  # the timer on the card reads whole seconds; a quarter keeps it on time
CLOSE_WAIT_S = 5.0

ClientFactory = Callable[..., EmergencyClient]


class HelpController(QObject):
    view_changed = Signal(object)  # HelpView
    plan_changed = Signal()  # the plan kept on this computer changed: read `plan()`
    call_ready = Signal(object, str, bool)  # CallSetup, the clinician's name, practice run
    case_closed = Signal()  # the case ended or was cancelled: leave its call
    prompt_changed = Signal(str)  # the partner prompt ("" hides it)

    def __init__(
        self,
        profile: ClinicProfile,
        bridge: Bridge,
        *,
        codes: JoinCodeMemory | None = None,
        locations: LocationMemory | None = None,
        plans: PlanCache | None = None,
        now: Callable[[], float] = time.monotonic,
        client_factory: ClientFactory = EmergencyClient,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self._bridge = bridge
        self.codes = codes or JoinCodeMemory()
        self.locations = locations or LocationMemory()
        self.plans = plans or PlanCache()
        self._client_factory = client_factory
        self.code = None if profile.practice_mode else self.codes.load()
        crisis = profile.crisis_line_here
        words = CrisisWords(
            crisis.number if crisis is not None else "",
            profile.emergency_number,
            profile.clinic_phone.number if profile.clinic_phone is not None else "",
        )
        self.flow = HelpFlow(
            words, now, practice_mode=profile.practice_mode, has_code=self.code is not None
        )
        self.location = self.locations.load() or ""
        self.client: EmergencyClient | None = None  # the couple's connection (clinic mode)
        self._practice_url: str | None = None
        self._practice_secret: str | None = None
        self._practice: PracticeRun | None = None
        self._ticket: Accepted | None = None  # the accepted case's ticket, to join again
        self.prompt = ""
        self._reported: set[str] = set()  # cases whose call's first media was reported
        self.practice_accept_after_s = ACCEPT_AFTER_S
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    # --- life --------------------------------------------------------------------------------
    def start_watching(self) -> None:
        """Clinic mode with a remembered join code: keep the couple's connection up."""
        if self.profile.practice_mode or self.code is None or self.client is not None:
            return
        url = self.profile.server_url
        assert url is not None
        try:
            self.client = self._client(url, self.code)
            self._run(self.client.run())
        except ValueError as exc:  # not an address: the card still shows the numbers
            log.warning("emergency connect cannot start: %s", exc)

    def remember_code(self, code: str) -> None:
        """The person typed their join code for a session: keep it for "Get help now"."""
        code = code.strip()
        if self.profile.practice_mode or not code or code == self.code:
            return
        self.codes.save(code)
        self.code = code
        self.flow.has_code = True
        old, self.client = self.client, None
        if old is not None:
            self._run(old.close())
        self.start_watching()

    def set_practice_server(self, url: str, secret: str | None) -> None:
        self._practice_url, self._practice_secret = url, secret

    @property
    def can_practise(self) -> bool:
        return self._practice_url is not None and self._practice_secret is not None

    def shutdown(self) -> None:
        """Close the connections (blocking, bounded): the app is exiting."""
        self._timer.stop()
        closing = [self.client.close()] if self.client is not None else []
        if self._practice is not None:
            closing.append(self._practice.stop())
        self._practice = self.client = None
        for work in closing:
            try:
                self._bridge.submit(work).result(CLOSE_WAIT_S)
            except Exception as exc:  # exiting anyway
                log.info("closing the emergency connection on exit: %s", type(exc).__name__)

    # --- the couple's clicks -----------------------------------------------------------------
    def press(self) -> None:
        """ "Get help now": the card shows at once; the request goes out on the loop."""
        self._set_prompt("")
        if self.profile.practice_mode:
            self._stop_practice()
        what = self.flow.press()
        if what is Press.REQUEST and self.client is None:
            self.start_watching()
        self._emit_view()
        if what is Press.REQUEST and self.client is not None:
            self._request(self.client)
            self._join_accepted_case()

    def practise(self) -> None:
        """ "Practice the help button": the whole flow with a simulated on-call clinician."""
        if not self.can_practise or self.flow.practise() is not Press.REQUEST:
            self._emit_view()
            return
        if self._practice is None:
            url, secret = self._practice_url, self._practice_secret
            assert url is not None and secret is not None
            clinician = SimulatedClinician(url, secret, accept_after_s=self.practice_accept_after_s)
            client = self._client(url, practice_tokens(secret).user, keep_plan=False)
            self._practice = PracticeRun(client, clinician)
            self._run(self._practice.run())
        self._emit_view()
        self._request(self._practice.client)

    def cancel(self) -> None:
        """ "I'm safe now, cancel"."""
        if not self.flow.phase.open:
            return
        client = self._active_client()
        practice_run = self.flow.practice_run
        self.flow.cancel()
        self._ticket = None
        self._emit_view()
        if practice_run:
            self._stop_practice()  # which leaves its call
            return
        if client is not None:
            self._run(client.cancel())
        self.case_closed.emit()

    def send_location(self, text: str) -> None:
        """Where the person is: remembered here, and sent with the open request."""
        self.location = text.strip()[:200]
        try:
            self.locations.save(self.location or None)
        except (OSError, ValueError) as exc:
            log.warning("could not remember the location: %s", type(exc).__name__)
        client = self._active_client()
        if client is not None and self.flow.phase.open:
            self._request(client)

    def call_has_media(self) -> None:
        """The case's call shows the clinician's picture: the server records `connected`."""
        accepted, client = self._ticket, self._active_client()
        if accepted is not None and client is not None and accepted.case_id not in self._reported:
            self._reported.add(accepted.case_id)
            self._run(client.report_connected(accepted.case_id))

    # --- reading -----------------------------------------------------------------------------
    def view(self) -> HelpView:
        return describe(self.flow)

    def plan(self) -> CachedPlan | None:
        return self.plans.load()

    # --- the connection's events (GUI thread) --------------------------------------------------
    def _on_event(self, client: EmergencyClient, event: CoupleEvent) -> None:
        active = self._active_client()
        if client is not active and client is not self.client:
            return  # an old connection (a new join code, a finished practice run)
        if isinstance(event, Accepted):
            self._ticket = event
        reaction = react(self.flow, event, ours=client is active, prompt_shown=bool(self.prompt))
        if reaction.prompt is not None:
            self._set_prompt(reaction.prompt)
        if reaction.plan_changed:
            self.plan_changed.emit()
        if reaction.open_call:
            self._open_call()
        if reaction.case_closed:
            self._ticket = None
            if self._practice is not None:
                self._stop_practice()
            self.case_closed.emit()
        self._emit_view()

    # --- plumbing -----------------------------------------------------------------------------
    def _client(self, url: str, token: str, keep_plan: bool = True) -> EmergencyClient:
        """A couple's connection whose events come to `_on_event` on the GUI thread."""
        bridge = self._bridge

        def listen(event: CoupleEvent) -> None:  # on the asyncio loop
            bridge.call_soon_in_gui(lambda: self._on_event(client, event), self)

        client = self._client_factory(
            url, token, listener=listen, plan_cache=self.plans if keep_plan else None
        )
        return client

    def _active_client(self) -> EmergencyClient | None:
        """The connection the card's request runs on: the practice run's, or the couple's."""
        if self.flow.practice_run and self._practice is not None:
            return self._practice.client
        return None if self.profile.practice_mode else self.client

    def _request(self, client: EmergencyClient) -> None:
        self._run(client.request(self.location or None))

    def _join_accepted_case(self) -> None:
        """Pressing again while a clinician holds the case: open its call again."""
        if self._ticket is not None and self.client is not None:
            case = self.client.case
            if case is not None and case.state == "accepted":
                self.flow.case(case.case_id, case.state, case.level, case.clinician)
                self._open_call()

    def _open_call(self) -> None:
        accepted = self._ticket
        if accepted is None or self.flow.phase is not Phase.ACCEPTED:
            return
        setup = ticket_call(accepted.ticket, self.profile.backup_server_url)
        self.call_ready.emit(setup, accepted.clinician, self.flow.practice_run)

    def _stop_practice(self) -> None:
        """End the practice run: its case, the simulated clinician, its connection."""
        practice, self._practice = self._practice, None
        if practice is not None:
            self._run(practice.stop())
            self.case_closed.emit()

    def _set_prompt(self, text: str) -> None:
        if text != self.prompt:
            self.prompt = text
            self.prompt_changed.emit(text)

    def _emit_view(self) -> None:
        if self.flow.ticking:
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
        self.view_changed.emit(self.view())

    def _tick(self) -> None:
        self.flow.tick()
        self._emit_view()

    def _run(self, work: Coroutine[Any, Any, Any]) -> None:
        def failed(exc: BaseException) -> None:
            log.warning("emergency connect: %s", type(exc).__name__)

        self._bridge.submit(work, on_error=failed, context=self)
