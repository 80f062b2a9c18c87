"""The equipment check page: pick devices, see and hear them live, run the check, read the cards.

The GUI thread only renders: device lists, the preview, the meter and the check itself all run
through the Bridge, and their results come back as queued callbacks.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.checks.bandwidth import (
    PRACTICE_NOT_MEASURED,
    PRACTICE_PUBLIC_VERDICT_NOTE,
    PRACTICE_VERDICT_NOTE,
    PUBLIC_TEST_ABOUT,
    PUBLIC_TEST_OFFER,
)
from app.checks.report import PUBLIC_SERVER, EquipmentReport
from app.checks.result import CheckResult
from app.checks.speaker import confirm_heard
from app.devices.base import DeviceError, DeviceInfo
from app.profile import ClinicProfile
from app.progress import Progress
from app.ui.accessibility import announce
from app.ui.bridge import Bridge
from app.ui.camera_preview import CameraPreview
from app.ui.check_progress import CheckProgress
from app.ui.device_picker import DevicePicker
from app.ui.device_words import device_problem_words
from app.ui.level_meter import LevelMeter
from app.ui.report_details import ReportDetails
from app.ui.report_files import (
    SAVE_FILTERS,
    WEB_PAGE,
    ReportSaveError,
    chosen_kind,
    save_report,
    saved_words,
)
from app.ui.result_card import ResultCard
from app.ui.scroll import PageScrollArea
from app.ui.services import (
    CheckRunner,
    DeviceChoice,
    DeviceProvider,
    InternetTest,
    PublicInternetTest,
    Report,
    report_results,
    report_skipped,
)
from app.ui.speaker_card import SpeakerCard
from app.ui.verdict_banner import VerdictBanner
from app.ui.wording import CHECK_ORDER

log = logging.getLogger(__name__)

# After "Stop", how long the page waits for the check to wind down before letting go of it.
STOP_GRACE_MS = 5000
NARROW_WIDTH = 820  # below this (logical px) the columns stack: 200 % scale on a laptop


class PreflightPage(QWidget):
    join_requested = Signal()
    check_finished = Signal(object)  # Report, or None when the check could not finish
    internet_answered = Signal(bool)  # practice mode: whether the public test is offered

    def __init__(
        self,
        bridge: Bridge,
        devices: DeviceProvider,
        runner: CheckRunner,
        profile: ClinicProfile,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self._bridge = bridge
        self._devices = devices
        self._runner = runner
        self._profile = profile
        self._server_url: str | None = profile.server_url
        self._server_pending = False
        self._practice = False
        self._cancel: threading.Event | None = None
        self._run_id = 0
        self.report: Report | None = None
        self.cards: dict[str, ResultCard] = {}
        # Practice mode's real internet test, offered from the bandwidth card (tests replace it).
        self.internet_test: InternetTest = PublicInternetTest()
        self._build()
        self.cards["bandwidth"].action_button.clicked.connect(self._run_public_test)
        bridge.progress.connect(self._on_progress)
        bridge.check_result.connect(self._on_result)
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.setInterval(STOP_GRACE_MS)
        self._stop_timer.timeout.connect(self._give_up_on_check)
        self._update_buttons()

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        content = QWidget()
        content.setObjectName("pageContent")
        outer = QVBoxLayout(content)
        outer.setContentsMargins(24, 20, 24, 24)
        outer.setSpacing(16)

        title = QLabel("Equipment check")
        title.setObjectName("sectionTitle")
        intro = QLabel(
            "Let's make sure your camera, microphone, speaker and internet connection are "
            "ready for your session. It takes a few seconds, and nothing is shared with "
            "anyone while you check."
        )
        intro.setWordWrap(True)
        outer.addWidget(title)
        outer.addWidget(intro)

        # Devices: the live preview on one side, pickers and the meter on the other.
        self.preview = CameraPreview(self._bridge)
        self.camera_picker = DevicePicker("camera", "&Camera")
        preview_panel = _panel()
        preview_layout = QVBoxLayout(preview_panel)
        preview_layout.setContentsMargins(16, 14, 16, 16)
        preview_layout.setSpacing(10)
        preview_layout.addWidget(self.preview, 1)
        preview_layout.addWidget(self.camera_picker)

        self.mic_picker = DevicePicker("microphone", "&Microphone")
        self.meter = LevelMeter(self._bridge)
        self.speaker_picker = DevicePicker("speaker", "S&peaker")
        self.check_button = QPushButton("C&heck my equipment")
        self.check_button.setObjectName("primaryButton")
        self.check_button.setAccessibleName("Check my equipment")
        self.check_button.setAccessibleDescription(
            "Tests your camera, microphone, speaker and internet connection"
        )
        self.check_button.setAutoDefault(True)
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self._on_check_clicked)
        self.wait_note = QLabel()
        self.wait_note.setObjectName("hint")
        self.wait_note.setWordWrap(True)
        self.wait_note.hide()
        sound_panel = _panel()
        sound_layout = QVBoxLayout(sound_panel)
        sound_layout.setContentsMargins(16, 14, 16, 16)
        sound_layout.setSpacing(10)
        sound_layout.addWidget(self.mic_picker)
        sound_layout.addWidget(self.meter)
        sound_layout.addWidget(self.speaker_picker)
        sound_layout.addStretch(1)
        sound_layout.addWidget(self.wait_note)
        sound_layout.addWidget(self.check_button)

        self.device_row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.device_row.setSpacing(16)
        self.device_row.addWidget(preview_panel, 3)
        self.device_row.addWidget(sound_panel, 2)
        outer.addLayout(self.device_row)

        self.progress = CheckProgress()
        self.progress.hide()
        outer.addWidget(self.progress)

        self.banner = VerdictBanner()
        self.banner.hide()
        outer.addWidget(self.banner)

        self.speaker_card = SpeakerCard()
        self.speaker_card.question.answered.connect(self._on_tone_answered)
        self.cards_grid = QGridLayout()
        self.cards_grid.setSpacing(12)
        for name in CHECK_ORDER:
            self.cards[name] = ResultCard(name) if name != "speaker" else self.speaker_card
        self._place_cards(columns=2)
        outer.addLayout(self.cards_grid)

        self.save_button = QPushButton("&Save report…")
        self.save_button.setAccessibleName("Save report")
        self.save_button.setAccessibleDescription(
            "Saves the results as a web page to send to your clinic"
        )
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_report)
        self.join_button = QPushButton("&Join session")
        self.join_button.setObjectName("primaryButton")
        self.join_button.setAccessibleName("Join session")
        self.join_button.setEnabled(False)
        self.join_button.clicked.connect(self.join_requested)
        self.report_details = ReportDetails()
        self.report_details.setEnabled(False)
        outer.addWidget(self.report_details)
        # Where the person looks after saving: right beside the button, gone once results change.
        self.saved_note = QLabel()
        self.saved_note.setObjectName("hint")
        self.saved_note.setWordWrap(True)
        self.saved_note.hide()
        for edit in (self.report_details.label_edit, self.report_details.note_edit):
            edit.textEdited.connect(self._results_changed)
        actions = QHBoxLayout()
        actions.addWidget(self.save_button)
        actions.addWidget(self.saved_note, 1)
        actions.addStretch(0)
        actions.addWidget(self.join_button)
        outer.addLayout(actions)
        outer.addStretch(1)

        self.scroll_area = PageScrollArea(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll_area)

        self.setTabOrder(self.camera_picker.combo, self.mic_picker.combo)
        self.setTabOrder(self.mic_picker.combo, self.speaker_picker.combo)
        self.setTabOrder(self.speaker_picker.combo, self.check_button)
        self.setTabOrder(self.check_button, self.banner)
        previous: QWidget = self.banner
        for name in CHECK_ORDER:
            self.setTabOrder(previous, self.cards[name])
            previous = self.cards[name]
            if name == "bandwidth":  # its offer (practice mode's public test), when shown
                self.setTabOrder(previous, self.cards[name].action_button)
                previous = self.cards[name].action_button
            if previous is self.speaker_card:  # its answers, when it asks, come right after it
                question = self.speaker_card.question
                for answer in (question.yes_button, question.no_button):
                    self.setTabOrder(previous, answer)
                    previous = answer
        self.setTabOrder(previous, self.report_details.label_edit)
        self.setTabOrder(self.report_details.label_edit, self.report_details.note_edit)
        self.setTabOrder(self.report_details.note_edit, self.save_button)
        self.setTabOrder(self.save_button, self.join_button)
        self.camera_picker.changed.connect(self._restart_camera)
        self.mic_picker.changed.connect(self._restart_meter)
        self._content = content

    def _place_cards(self, columns: int) -> None:
        for index, name in enumerate(CHECK_ORDER):
            card = self.cards[name]
            self.cards_grid.removeWidget(card)
            self.cards_grid.addWidget(card, index // columns, index % columns)
        for column in range(2):
            self.cards_grid.setColumnStretch(column, 1 if column < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_WIDTH
        direction = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        if self.device_row.direction() != direction:
            self.device_row.setDirection(direction)
            self._place_cards(columns=1 if narrow else 2)

    def focusNextPrevChild(self, next: bool) -> bool:
        # Keep the focused control in view when tabbing through the scrolled page.
        moved = super().focusNextPrevChild(next)
        focused = self.focusWidget()
        if focused is not None and self._content.isAncestorOf(focused):
            self.scroll_area.ensureWidgetVisible(focused, 20, 20)
        return moved

    # --- page life ---------------------------------------------------------------------------
    def set_server(self, url: str | None, pending: bool = False, practice: bool = False) -> None:
        """Where the bandwidth test measures; `pending` while practice mode is starting."""
        self._server_url = url
        self._server_pending = pending
        self._practice = practice
        if pending:
            self.wait_note.setText("Starting practice mode on this computer…")
            self.wait_note.show()
        else:
            self.wait_note.hide()
        self._update_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.running:
            self.refresh_devices()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._stop_live()

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def refresh_devices(self) -> None:
        """List devices on a worker thread; the live preview and meter start once they are in."""
        for picker, lister in (
            (self.camera_picker, self._devices.list_cameras),
            (self.mic_picker, self._devices.list_microphones),
            (self.speaker_picker, self._devices.list_speakers),
        ):
            if not picker.has_device:
                picker.set_loading()

            def done(devices: list[DeviceInfo], picker: DevicePicker = picker) -> None:
                picker.set_devices(devices)

            def failed(exc: BaseException, picker: DevicePicker = picker) -> None:
                if isinstance(exc, DeviceError):
                    picker.set_error(device_problem_words(picker.kind, exc))
                else:
                    log.warning("listing %ss failed: %s", picker.kind, exc)
                    picker.set_error(f"Tandem could not look for a {picker.kind}.")

            self._bridge.run_blocking(lister, on_done=done, on_error=failed, context=self)

    def _restart_live(self) -> None:
        self._restart_camera()
        self._restart_meter()

    def _restart_camera(self) -> None:
        if self.running or not self.isVisible():
            return
        camera_id = self.camera_picker.current_id()
        if self.camera_picker.has_device:
            self.preview.start(lambda: self._devices.camera(camera_id))
        else:
            self.preview.stop("No camera found")

    def _restart_meter(self) -> None:
        if self.running or not self.isVisible():
            return
        mic_id = self.mic_picker.current_id()
        self.meter.setVisible(self.mic_picker.has_device)
        if self.mic_picker.has_device:
            self.meter.start(lambda: self._devices.microphone(mic_id))
        else:
            self.meter.stop("No microphone found")

    def release_devices(self, then: Callable[[], None]) -> None:
        """Stop the preview and the meter; call `then` once both have closed their devices and
        every device list is in.

        Stopping only asks their workers to let go (closing a camera can take a moment); a call
        that opened the camera before that would find it busy. `then` runs on the GUI thread.
        """
        self._stop_live()
        pickers = (self.camera_picker, self.mic_picker, self.speaker_picker)
        # The device lists too: a choice read while a list still loads would mean "none".
        waiting = {"camera", "microphone", *(p.kind + " list" for p in pickers)}

        def released(device: str) -> None:
            waiting.discard(device)
            if not waiting:
                then()

        self.preview.when_released(lambda: released("camera"))
        self.meter.when_released(lambda: released("microphone"))
        for picker in pickers:
            picker.when_listed(functools.partial(released, picker.kind + " list"))

    def _stop_live(self, why: str = "") -> None:
        self.preview.stop(why or "Camera is off")
        self.meter.stop(why.replace("camera", "microphone") if why else "Microphone is off")

    # --- the check ---------------------------------------------------------------------------
    def choice(self) -> DeviceChoice:
        return DeviceChoice(
            camera=self.camera_picker.current_id(),
            microphone=self.mic_picker.current_id(),
            speaker=self.speaker_picker.current_id(),
            server_url=self._server_url,
            min_download_mbps=self._profile.min_download_mbps,
            min_upload_mbps=self._profile.min_upload_mbps,
            practice_mode=self._practice,
            ca_file=self._profile.ca_file,
        )

    def _on_check_clicked(self) -> None:
        if self.running:
            self.stop_check()
        else:
            self.start_check()

    def start_check(self) -> None:
        if self.running or self._server_pending:
            return
        self._run_id += 1
        run_id = self._run_id
        cancel = threading.Event()
        self._cancel = cancel
        self.report = None
        self._results_changed()
        # The check opens the devices itself; the preview and the meter let go of them first.
        self._stop_live("The camera is paused while the check runs")
        for card in self.cards.values():
            card.withdraw_action()
            card.show_waiting()
        self.banner.hide()
        self.progress.reset(with_bandwidth=bool(self._server_url) and not self._practice)
        self.progress.show()
        self._show_instruction()
        self._update_buttons()
        # The progress and what to do come into view by themselves, once laid out.
        QTimer.singleShot(0, self, self._bring_progress_into_view)

        def done(report: Report) -> None:
            if run_id == self._run_id:
                self._finish(report)

        def failed(exc: BaseException) -> None:
            if run_id != self._run_id:
                return
            if cancel.is_set():  # the person pressed Stop; how the check gave up is no fault
                log.info("equipment check stopped: %s", type(exc).__name__)
            else:
                log.error("equipment check failed", exc_info=exc)
            self._finish(None, problem=str(exc) or type(exc).__name__)

        self._bridge.run_blocking(
            self._runner,
            self.choice(),
            self._bridge.progress_callback(),
            cancel,
            on_done=done,
            on_error=failed,
            context=self,
        )

    def _show_instruction(self) -> None:
        """What to do now, also where the person pressed the button (the sound panel): the
        meter's line, paused for the check, says it instead of only "paused"."""
        self.meter.status.setText(self.progress.instruction)

    def _bring_progress_into_view(self) -> None:
        if self.running and self.progress.isVisible():
            self.scroll_area.ensureWidgetVisible(self.progress, 20, 20)

    def _bring_verdict_into_view(self) -> None:
        if not self.running and self.banner.isVisible():
            self.scroll_area.ensureWidgetVisible(self.banner, 20, 20)

    def stop_check(self) -> None:
        if self._cancel is None:
            return
        self._cancel.set()
        self.progress.show_message("Stopping…", "Waiting for the current step to finish.")
        self.check_button.setEnabled(False)
        self._stop_timer.start()

    def _give_up_on_check(self) -> None:
        if self.running:
            log.warning("the equipment check did not stop in time; leaving it behind")
            self._run_id += 1
            self._finish(None, problem="The check did not stop in time.")

    def _on_progress(self, progress: Progress) -> None:
        if not self.running or (self._cancel is not None and self._cancel.is_set()):
            return
        self.progress.show_progress(progress)
        self._show_instruction()
        card = self.cards.get(progress.check)
        if card is None or card.has_result:
            return
        if progress.fraction >= 1.0:
            card.show_running("Done. The result shows when every check has finished.")
        else:
            card.show_running(progress.message)

    def _on_result(self, result: CheckResult) -> None:
        card = self.cards.get(result.name)
        if card is not None and self.running:
            card.show_result(result)

    def _finish(self, report: Report | None, problem: str = "") -> None:
        self._stop_timer.stop()
        cancelled = self._cancel is not None and self._cancel.is_set()
        self._cancel = None
        self.progress.hide()
        # A stopped check's report is partial ("not checked" parts): its cards show what did
        # finish, but it is not a result to save or send to the clinic.
        self.report = None if cancelled else report
        if report is not None:
            for result in report_results(report):
                card = self.cards.get(result.name)
                if card is None:
                    card = self.cards[result.name] = ResultCard(result.name)
                    self.cards_grid.addWidget(card, self.cards_grid.rowCount(), 0, 1, 2)
                card.show_result(result)
            for name, reason in report_skipped(report).items():
                if name in self.cards:
                    self.cards[name].show_skipped(reason)
            speaker = next((r for r in report_results(report) if r.name == "speaker"), None)
            if speaker is not None and not cancelled:
                self.speaker_card.ask_if_unconfirmed(speaker)
            if not cancelled and report_skipped(report).get("bandwidth") == PRACTICE_NOT_MEASURED:
                self._offer_public_test()
        if cancelled:
            self.banner.show_problem(
                "The check was stopped.", "Press “Run again” whenever you are ready."
            )
        elif report is not None:
            self.banner.show_summary(report.summary, self._verdict_note(report))
        else:
            self.banner.show_problem(
                "The check could not finish.",
                f"Something unexpected went wrong ({problem}). Press “Run again”. "
                "If it happens again, tell your care team — you can still join by phone.",
            )
        for card in self.cards.values():
            if not card.has_result:
                card.show_waiting()
        self._update_buttons()
        # Look for devices again (one may have been plugged in); the live views restart after.
        self.refresh_devices()
        self.banner.setFocus(Qt.FocusReason.OtherFocusReason)
        # Once the banner has its place (it was hidden): scrolling now would aim at nothing.
        QTimer.singleShot(0, self, self._bring_verdict_into_view)
        self.check_finished.emit(self.report)

    def _verdict_note(self, report: Report) -> str:
        """Practice mode's sentence after the verdict: what it did (not) measure online."""
        if not self._practice:
            return ""
        measured = any(r.name == "bandwidth" for r in report_results(report))
        return PRACTICE_PUBLIC_VERDICT_NOTE if measured else PRACTICE_VERDICT_NOTE

    # --- practice mode's real internet test --------------------------------------------------
    def _offer_public_test(self) -> None:
        """Offer the public speed test on the bandwidth card, if this computer is online."""
        run_id = self._run_id

        def answered(online: bool) -> None:
            offer = online and run_id == self._run_id and not self.running
            if offer and self.report is not None:
                self.cards["bandwidth"].offer_action(PUBLIC_TEST_OFFER, PUBLIC_TEST_ABOUT)
            self.internet_answered.emit(offer and self.report is not None)

        self._bridge.run_blocking(
            self.internet_test.reachable,
            on_done=answered,
            on_error=lambda _: answered(False),
            context=self,
        )

    def _run_public_test(self) -> None:
        if self.running or self.report is None:
            return
        run_id = self._run_id
        card = self.cards["bandwidth"]
        card.withdraw_action()
        card.show_running("Finding a speed-test server…")
        card.setFocus(Qt.FocusReason.OtherFocusReason)
        bridge = self._bridge

        def progress(update: Progress) -> None:  # on the test's thread
            def show() -> None:
                if run_id == self._run_id and not card.has_result:
                    card.show_running(update.message)

            bridge.call_soon_in_gui(show, self)

        def done(result: CheckResult) -> None:
            if run_id != self._run_id or self.running:
                return  # a new check started meanwhile: its cards are not this test's
            report = self.report
            if isinstance(report, EquipmentReport):
                report = self.report = report.with_measured(result, PUBLIC_SERVER)
                self.banner.show_summary(report.summary, self._verdict_note(report))
            card.show_result(result)
            self._results_changed()

        def failed(exc: BaseException) -> None:
            log.warning("the public speed test failed: %s", type(exc).__name__)
            if run_id == self._run_id and not self.running:
                card.show_skipped(f"{PRACTICE_NOT_MEASURED} The public speed test did not run.")
                card.offer_action(PUBLIC_TEST_OFFER, PUBLIC_TEST_ABOUT)

        bridge.run_blocking(
            self.internet_test.measure,
            self.choice(),
            progress,
            on_done=done,
            on_error=failed,
            context=self,
        )

    def _results_changed(self) -> None:
        """The results (or what the person typed for the report) changed: "Saved" no longer
        describes what is on screen."""
        self.saved_note.clear()
        self.saved_note.hide()

    def _on_tone_answered(self, heard: bool) -> None:
        """The person's answer replaces the unconfirmed speaker result, in the report too."""
        report = self.report
        if report is None or self.running:
            return
        current = next((r for r in report_results(report) if r.name == "speaker"), None)
        if current is None:
            return
        answered = confirm_heard(current, heard)
        if isinstance(report, EquipmentReport):
            report = report.with_result(answered)
        else:  # another Report implementation: the card still shows the answer
            log.info("the report cannot take the speaker answer; only the card shows it")
        self.report = report
        self.speaker_card.show_result(answered)
        self._results_changed()
        self.banner.show_summary(report.summary, self._verdict_note(report))
        # The buttons just vanished: keep keyboard focus on the card that now says the outcome.
        self.speaker_card.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_buttons(self) -> None:
        running = self.running
        for picker in (self.camera_picker, self.mic_picker, self.speaker_picker):
            picker.setEnabled(not running)
        self.check_button.setEnabled(not self._server_pending)
        if running:
            self.check_button.setText("Sto&p checking")
            self.check_button.setAccessibleName("Stop checking")
        else:
            again = self.report is not None or self.banner.isVisibleTo(self)
            self.check_button.setText("&Run again" if again else "C&heck my equipment")
            self.check_button.setAccessibleName("Run again" if again else "Check my equipment")
        self.save_button.setEnabled(self.report is not None and not running)
        self.report_details.setEnabled(self.save_button.isEnabled())
        can_join = bool(self._server_url) and not running and not self._server_pending
        self.join_button.setEnabled(can_join)
        if self._practice:
            about = "Starts a practice session on this computer, with a simulated therapist"
        else:
            about = "Joins your session with the code your clinic sent you"
        if not can_join:
            about = (
                "Available once practice mode has started"
                if self._practice or self._server_pending
                else "Available when your clinic profile names a session server"
            )
        self.join_button.setAccessibleDescription(about)
        self.join_button.setToolTip(about)

    # --- saving ----------------------------------------------------------------------------
    def save_report(self) -> bool:
        """Ask where (and, in the dialog's choice of file type, what for: the web page for the
        clinic, or the data file only their IT asks for), write that one file, and confirm it
        beside the button; on failure say so and keep the results."""
        report = self.report
        if report is None:
            return False
        start = str(Path.home() / "tandem-equipment-report.html")
        chosen, selected = QFileDialog.getSaveFileName(
            self, "Save equipment report", start, SAVE_FILTERS, WEB_PAGE.file_filter
        )
        if not chosen:
            return False
        details = self.report_details
        kind = chosen_kind(Path(chosen), selected)
        try:
            written = save_report(
                report.with_details(details.label, details.note), Path(chosen), kind
            )
        except ReportSaveError as exc:
            QMessageBox.critical(
                self,
                "The report was not saved",
                f"{exc}\n\nYour results are still here. Try saving to another folder, "
                "such as your Documents folder.",
            )
            return False
        self.saved_note.setText(saved_words(written, kind))
        self.saved_note.show()
        announce(self.saved_note, self.saved_note.text())
        return True


def _panel() -> QFrame:
    frame = QFrame()
    frame.setObjectName("panel")
    return frame
