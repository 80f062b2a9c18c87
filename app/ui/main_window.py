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
    QInputDialog,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.call.setup import CallSetup, clinic_call, environment_token
from app.practice import PracticeServer, practice_call
from app.profile import ClinicProfile
from app.ui.about import add_about_menu
from app.ui.bridge import Bridge
from app.ui.call_page import CallPage
from app.ui.crisis_card import CrisisCard
from app.ui.emergency_button import EmergencyButton
from app.ui.preflight_page import PreflightPage
from app.ui.services import CheckRunner, DeviceProvider, measured_upload_mbps

log = logging.getLogger(__name__)

PRACTICE_TEXT = "Practice mode — this is on your computer only"
PRACTICE_CALL_TEXT = (
    "Practice session — on your computer only. The therapist is simulated: a moving test "
    "picture and a tone."
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
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.bridge = bridge
        self.devices = devices
        self.crisis_card: CrisisCard | None = None
        self._server_future: concurrent.futures.Future[PracticeServer] | None = None
        self.practice_server: PracticeServer | None = None
        self._joining: CallSetup | None = None  # waiting for the preview to release the devices
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_GRACE_MS)
        self._release_timer.timeout.connect(self._devices_not_released)
        self.setWindowTitle("Tandem")
        self.resize(1100, 860)

        self.emergency_button = EmergencyButton()
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

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.mode_banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.about_action = add_about_menu(self, profile)
        # The help button comes first in the tab order, on every page.
        self.setTabOrder(self.emergency_button, self.preflight.camera_picker.combo)

    # --- emergency ---------------------------------------------------------------------------
    def open_crisis_card(self) -> CrisisCard:
        """Show the crisis card (no network needed). Later: also start the on-call connection."""
        if self.crisis_card is None:
            self.crisis_card = CrisisCard(self.profile, self)
            self.crisis_card.finished.connect(self._crisis_card_closed)
        self.crisis_card.show()
        self.crisis_card.raise_()
        self.crisis_card.activateWindow()
        return self.crisis_card

    def _crisis_card_closed(self, _: int) -> None:
        self.emergency_button.setFocus(Qt.FocusReason.OtherFocusReason)

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
            token = token or environment_token() or self._ask_join_code()
            if token:
                setup = clinic_call(self.profile.server_url, token, self.profile.backup_server_url)
        elif server is not None:
            setup = practice_call(server, token)
        if setup is None:
            return False
        if setup.companion is not None:
            self._show_mode(PRACTICE_CALL_TEXT)
        # Showing the call page hides the check page, which stops the preview and the meter;
        # the call opens the camera and microphone only once they have really let go of them.
        self.pages.setCurrentWidget(self.call_page)
        self._joining = setup
        self._release_timer.start()
        self.preflight.release_devices(lambda: self._start_call(setup))
        return True

    def _start_call(self, setup: CallSetup) -> None:
        if self._joining is not setup:  # already started (or given up on) by the other path
            return
        self._joining = None
        self._release_timer.stop()
        self.call_page.start(self._with_chosen_devices(setup))
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

    def _ask_join_code(self) -> str | None:
        code, ok = QInputDialog.getText(
            self,
            "Join your session",
            "Paste the join code from your clinic's message:",
        )
        return code.strip() if ok and code.strip() else None

    def _call_finished(self, reason: str) -> None:
        if self.practice_server is not None:
            self._show_mode(PRACTICE_TEXT)
        self.pages.setCurrentWidget(self.preflight)
        self.preflight.join_button.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the call, the live devices, any running check and the practice server
        (blocking)."""
        self._joining = None
        self._release_timer.stop()
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
        self.preflight.stop_check()
        super().closeEvent(event)
