"""The main window: a header with the always-visible "Get help now" button, and a page stack."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.call.setup import CallSetup, clinic_call, environment_token
from app.practice import PracticeServer, practice_call, practice_secret
from app.profile import ClinicProfile
from app.ui.about import add_about_menu
from app.ui.bridge import Bridge
from app.ui.call_page import CallPage
from app.ui.crisis_card import CrisisCard
from app.ui.emergency_button import EmergencyButton
from app.ui.help_controller import HelpController
from app.ui.help_desk import HelpDesk
from app.ui.join_code_dialog import JoinCodeDialog
from app.ui.preflight_page import PreflightPage
from app.ui.services import CheckRunner, DeviceProvider, measured_upload_mbps
from app.ui.video_frames import SELF
from app.ui.window_size import fit_to_screen

log = logging.getLogger(__name__)

PRACTICE_TEXT = "Practice mode — this is on your computer only"
PRACTICE_CALL_TEXT = (
    "Practice session — on your computer only. The therapist is simulated: a moving test "
    "picture and a tone."
)
PRACTICE_HELP_CALL_TEXT = (
    "Practice run of the help button — on your computer only. The on-call clinician is "
    "simulated: a moving test picture and a tone. No one was really called."
)
# Longest wait for the preview and meter to close the camera and microphone before a call
# (their own deadlines: open 3 s + read 1 s + close 2 s for the camera).
RELEASE_GRACE_MS = 8000


class MainWindow(QMainWindow):
    practice_ready = Signal(str)  # the practice server's URL

    def __init__(
        self,
        profile: ClinicProfile,
        bridge: Bridge,
        devices: DeviceProvider,
        runner: CheckRunner,
        parent: QWidget | None = None,
        help_controller: HelpController | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.bridge = bridge
        self.devices = devices
        self.help = HelpDesk(self, profile, bridge, help_controller)
        self.help.controller.call_ready.connect(self._open_emergency_call)
        self.help.controller.case_closed.connect(self._leave_emergency_call)
        self._emergency_setup: CallSetup | None = None  # the case's call (joining or running)
        # The case's call waiting for a session call to end: (setup, clinician, practice run).
        self._emergency_next: tuple[CallSetup, str, bool] | None = None
        self.join_code_dialog: JoinCodeDialog | None = None
        self._waiting_for: str | None = None  # who the next call's waiting room names
        self._server_future: concurrent.futures.Future[PracticeServer] | None = None
        self.practice_server: PracticeServer | None = None
        self._joining: CallSetup | None = None  # waiting for the preview to release the devices
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_GRACE_MS)
        self._release_timer.timeout.connect(self._devices_not_released)
        self.setWindowTitle("Tandem")

        self.emergency_button = EmergencyButton(profile.practice_mode)
        self.emergency_button.clicked.connect(self.open_crisis_card)
        title = QLabel("Tandem")
        title.setObjectName("appTitle")
        clinic = QLabel(profile.clinic_name)
        clinic.setObjectName("clinicName")
        clinic.setVisible(bool(profile.clinic_name))
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(title)
        names.addWidget(clinic)
        header = QWidget()
        header.setObjectName("header")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(20, 10, 20, 10)
        header_layout.addLayout(names)
        header_layout.addStretch(1)
        header_layout.addWidget(self.emergency_button, 0, Qt.AlignmentFlag.AlignVCenter)

        self.mode_banner = QLabel()
        self.mode_banner.setObjectName("practiceBanner")
        self.mode_banner.setWordWrap(True)
        self.mode_banner.setAccessibleName("Mode")
        self.mode_banner.hide()

        self.pages = QStackedWidget()
        self.preflight = PreflightPage(bridge, devices, runner, profile)
        self.pages.addWidget(self.preflight)
        self.call_page = CallPage(bridge, profile)
        self.pages.addWidget(self.call_page)
        self.preflight.join_requested.connect(self.join_session)
        self.call_page.finished.connect(self._call_finished)
        bridge.video_frame.connect(self._video_frame)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.help.banner)
        layout.addWidget(self.mode_banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        fit_to_screen(self)  # never taller than the screen it opens on (1366x768, 1280x720)
        self.about_action = add_about_menu(self, profile)
        # The help button comes first in the tab order, on every page.
        self.setTabOrder(self.emergency_button, self.help.banner.join_button)
        self.setTabOrder(self.help.banner.join_button, self.preflight.camera_picker.combo)
        self.help.start()

    # --- emergency ---------------------------------------------------------------------------
    @property
    def crisis_card(self) -> CrisisCard | None:
        return self.help.card

    def open_crisis_card(self) -> CrisisCard:
        """ "Get help now": the crisis card at once (its numbers need no network), and the
        request for the on-call clinician goes out with the couple's remembered join code."""
        return self.help.get_help()

    def _open_emergency_call(self, setup: CallSetup, clinician: str, practice_run: bool) -> None:
        """A clinician accepted: their call opens on the call page (the same call engine)."""
        if self._emergency_setup is not None:
            # The case's call is already on (the server sends a fresh ticket to a partner who
            # presses again, or after a reconnect): one case, one call.
            self.pages.setCurrentWidget(self.call_page)
            return
        self.help.hide_card()  # the video is what matters now; "Get help now" brings it back
        if self.call_page.in_call or self._joining is not None:
            # A session call gives way; _call_finished starts this one.
            self._emergency_next = (setup, clinician, practice_run)
            self._joining = None
            if not self.call_page.leave():
                self._call_finished("left")
            return
        self._begin_call(setup, clinician, practice_run)

    def _video_frame(self, source: str) -> None:
        """The first picture from the other side of the case's call is worth a record."""
        setup = self._emergency_setup
        if setup is not None and source != SELF and self.call_page.setup is setup:
            self.help.controller.call_has_media()

    def _leave_emergency_call(self) -> None:
        """The case ended or was cancelled: its call ends too (a session call does not)."""
        self._emergency_next = None
        setup = self._emergency_setup
        if setup is None:
            return
        if self._joining is setup:  # still waiting for the devices: do not start it
            self._joining = None
            self._release_timer.stop()
            self._call_finished("left")
        elif self.call_page.setup is setup:
            self.call_page.leave()

    # --- practice mode -----------------------------------------------------------------------
    def start_practice_mode(self, start_server: Callable[[], PracticeServer]) -> None:
        """Start the local server on a worker thread, then point the check at it."""
        self._show_mode("Starting practice mode…")
        self.preflight.set_server(None, pending=True, practice=True)
        self._server_future = self.bridge.run_blocking(
            start_server,
            on_done=self._practice_started,
            on_error=self._practice_failed,
            context=self,
        )

    def _practice_started(self, server: PracticeServer) -> None:
        self.practice_server = server
        self.help.controller.set_practice_server(server.url, practice_secret(server))
        self._show_mode(PRACTICE_TEXT)
        self.preflight.set_server(server.url, practice=True)
        self.practice_ready.emit(server.url)

    def _practice_failed(self, exc: BaseException) -> None:
        log.error("practice server failed to start: %s", exc)
        self._show_mode(
            f"{PRACTICE_TEXT}. The practice server could not start, so the internet check "
            "cannot run; the other checks still work."
        )
        self.preflight.set_server(None, practice=True)

    def _show_mode(self, text: str) -> None:
        self.mode_banner.setText(text)
        self.mode_banner.setAccessibleDescription(text)
        self.mode_banner.show()

    # --- the session --------------------------------------------------------------------------
    def join_session(self, token: str | None = None) -> bool:
        """Go to the call page: the practice room with a simulated therapist, or the clinic's
        session with the join code the user was given. False if there is nothing to join."""
        if self.call_page.in_call or self._joining is not None:
            return False
        setup: CallSetup | None = None
        server = self.practice_server
        if self.profile.server_url:
            token = token or environment_token()
            if not token:
                self._ask_join_code()  # joins once the person has typed it
                return False
            setup = clinic_call(
                self.profile.server_url,
                token,
                self.profile.backup_server_url,
                self.profile.ca_file,
            )
        elif server is not None:
            setup = practice_call(server, token)
        if setup is None:
            return False
        if setup.companion is not None:
            self._show_mode(PRACTICE_CALL_TEXT)
        self._begin_call(setup)
        return True

    def _begin_call(
        self, setup: CallSetup, clinician: str | None = None, practice_run: bool = False
    ) -> None:
        if clinician is not None:
            self._emergency_setup = setup
            self._show_mode(
                PRACTICE_HELP_CALL_TEXT
                if practice_run
                else f"Emergency call with {clinician}, your clinic's on-call clinician."
            )
        # Showing the call page hides the check page, which stops the preview and the meter;
        # the call opens the camera and microphone only once they have really let go of them.
        self.pages.setCurrentWidget(self.call_page)
        self._joining = setup
        self._release_timer.start()
        self._waiting_for = None if clinician is None else f"{clinician} is joining you now"
        self.preflight.release_devices(lambda: self._start_call(setup))

    def _start_call(self, setup: CallSetup) -> None:
        if self._joining is not setup:  # already started (or given up on) by the other path
            return
        self._joining = None
        self._release_timer.stop()
        chosen = self._with_chosen_devices(setup)
        if setup is self._emergency_setup:
            self._emergency_setup = chosen  # the call page's setup, to know it when leaving
        self.call_page.expect(self._waiting_for)
        self.call_page.start(chosen)
        self.call_page.controls.mute_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _with_chosen_devices(self, setup: CallSetup) -> CallSetup:
        """The devices picked on the check page, read now that every list is in."""
        choice = self.preflight.choice()
        devices = self.devices
        camera_id, mic_id, speaker_id = choice.camera, choice.microphone, choice.speaker
        return dataclasses.replace(
            setup,
            make_camera=(lambda: devices.camera(camera_id)) if camera_id is not None else None,
            make_microphone=(lambda: devices.microphone(mic_id)) if mic_id is not None else None,
            make_speaker=(lambda: devices.speaker(speaker_id)) if speaker_id is not None else None,
            upload_mbps=measured_upload_mbps(self.preflight.report),
        )

    def _devices_not_released(self) -> None:
        # The devices' own deadlines end a preview within seconds; this is a last resort so a
        # stuck driver cannot keep the person out of their session (the call says if it's busy).
        setup = self._joining
        if setup is not None:
            log.warning("the preview did not release the devices in time; joining anyway")
            self._start_call(setup)

    def _ask_join_code(self) -> JoinCodeDialog:
        """Ask for the join code without blocking the window (the help button stays one click
        away); the code is remembered on this computer for "Get help now"."""
        dialog = self.join_code_dialog
        if dialog is None:
            dialog = self.join_code_dialog = JoinCodeDialog(self)
            dialog.textValueSelected.connect(self._join_code_entered)
        dialog.ask(self.help.controller.code)
        return dialog

    def _join_code_entered(self, code: str) -> None:
        code = code.strip()
        if code:
            self.help.controller.remember_code(code)
            self.join_session(code)

    def _call_finished(self, reason: str) -> None:
        self._emergency_setup = None
        waiting, self._emergency_next = self._emergency_next, None
        if waiting is not None:  # a session call gave way to the case's call: start it now
            self._begin_call(*waiting)
            return
        if self.practice_server is not None:
            self._show_mode(PRACTICE_TEXT)
        else:
            self.mode_banner.hide()
        self.pages.setCurrentWidget(self.preflight)
        self.preflight.join_button.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the call, the live devices, any running check and the practice server
        (blocking)."""
        self._joining = None
        self._release_timer.stop()
        self.help.shutdown()
        self.call_page.shutdown()
        self.preflight.stop_check()
        self.preflight.preview.stop()
        self.preflight.meter.stop()
        server, future = self.practice_server, self._server_future
        self.practice_server = self._server_future = None
        # A start still queued behind the device workers is called off rather than waited for
        # (closing the window in its first second used to wait the full 10 s here).
        if server is None and future is not None and not future.cancel():
            try:
                server = future.result(timeout=10)
            except Exception:  # it never started; nothing to stop
                server = None
        if server is not None:
            server.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.crisis_card is not None:
            self.crisis_card.close()
        if self.join_code_dialog is not None:
            self.join_code_dialog.close()
        self.preflight.stop_check()
        super().closeEvent(event)
