"""The equipment check page, driven with fake devices and a scripted check."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.checks.result import CheckResult, Status
from app.devices.base import DeviceError, DeviceProblem
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.main_window import MainWindow
from app.ui.report_files import DATA_FILE, WEB_PAGE
from tests.gui.fakes import FakeDevices, ScriptedCheck
from tests.gui.helpers import clipped_widgets, run_check

pytestmark = pytest.mark.gui


def test_full_check_shows_each_card_and_the_verdict(
    qtbot: QtBot, window: MainWindow, artifacts_dir: Path
) -> None:
    page = window.preflight
    qtbot.waitUntil(lambda: page.preview.frames_shown > 2, timeout=5000)
    qtbot.waitUntil(lambda: page.meter.bar.value() > 50, timeout=5000)
    run_check(qtbot, window)

    assert page.cards["camera"].status_text == "Working"
    assert page.cards["microphone"].status_text == "Working"
    assert page.cards["speaker"].status_text == "Working"
    bandwidth = page.cards["bandwidth"]
    assert bandwidth.status_text == "Works, but could be better"
    assert "4.1 Mbps" in bandwidth.reason_label.text()
    assert "network cable" in bandwidth.fix_label.text()
    assert bandwidth.accessibleName() == "Internet connection: Works, but could be better"
    assert page.banner.isVisible()
    assert page.banner.title_label.text() == "You can join, but some things could be better."
    assert "Internet connection" in page.banner.detail_label.text()
    assert page.check_button.text() == "&Run again"
    assert page.save_button.isEnabled()
    assert not page.join_button.isEnabled()
    # The preview and meter come back once the check has let go of the devices.
    qtbot.waitUntil(lambda: page.preview.running and page.meter.running)
    frames = page.preview.frames_shown
    qtbot.waitUntil(lambda: page.preview.frames_shown > frames + 2, timeout=5000)
    qtbot.waitUntil(lambda: page.meter.bar.value() > 50, timeout=5000)
    assert clipped_widgets(window) == []
    window.resize(1100, 1250)  # tall enough to show the whole page in the picture
    qtbot.waitUntil(lambda: not page.scroll_area.verticalScrollBar().isVisible())
    assert clipped_widgets(window) == []
    window.grab().save(str(artifacts_dir / "preflight.png"))


def test_the_check_uses_the_picked_devices_and_the_profile_thresholds(
    qtbot: QtBot, window: MainWindow, check: ScriptedCheck
) -> None:
    run_check(qtbot, window)
    choice = check.choices[-1]
    assert (choice.camera, choice.microphone, choice.speaker) == ("0", "1", "2")
    assert choice.min_upload_mbps == 5.0


def test_progress_shows_the_live_figure_and_the_window_keeps_responding(
    qtbot: QtBot, window: MainWindow, check: ScriptedCheck
) -> None:
    check.hold = threading.Event()
    page = window.preflight
    page.set_server("http://127.0.0.1:9")  # never contacted: the scripted check stands in
    qtbot.waitUntil(lambda: page.camera_picker.has_device)
    QTest.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.figure_label.text() == "12.3 Mbps")
    assert page.progress.isVisible()
    assert page.progress.message_label.text() == "Measuring upload…"
    assert page.progress.step_label.text() == "Checking your equipment… 0 of 4 done"
    assert page.cards["bandwidth"].status_text == "Checking…"
    assert page.check_button.text() == "Sto&p checking"
    assert not page.camera_picker.isEnabled()
    # The GUI thread is free while the check waits: the help button still works.
    card = window.open_crisis_card()
    assert card.isVisible()
    card.reject()
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        check.hold.set()
    assert page.banner.isVisible()


def test_stop_ends_a_running_check_calmly(
    qtbot: QtBot, window: MainWindow, check: ScriptedCheck
) -> None:
    check.hold = threading.Event()
    page = window.preflight
    qtbot.waitUntil(lambda: page.camera_picker.has_device)
    QTest.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.figure_label.text() == "12.3 Mbps")
    with qtbot.waitSignal(page.check_finished, timeout=10_000) as finished:
        QTest.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    assert finished.args == [None]  # a stopped check is no result to save or send
    assert page.banner.title_label.text() == "The check was stopped."
    assert page.check_button.isEnabled()
    assert not page.save_button.isEnabled()
    assert page.cards["camera"].status_text == "Working"  # what finished still shows
    assert page.cards["bandwidth"].status_text == "Not working"


@pytest.mark.allow_log_warnings("app.ui.preflight_page")
def test_a_crashing_check_is_shown_not_raised(
    qtbot: QtBot, window: MainWindow, check: ScriptedCheck
) -> None:
    check.error = OSError("PortAudio library not found")
    run_check(qtbot, window)
    page = window.preflight
    assert page.banner.title_label.text() == "The check could not finish."
    assert "PortAudio library not found" in page.banner.detail_label.text()
    assert page.check_button.text() == "&Run again"
    assert not page.save_button.isEnabled()


@pytest.fixture
def broken_devices() -> FakeDevices:
    return FakeDevices(
        cameras=[], audio_error=DeviceError(DeviceProblem.NO_AUDIO_SYSTEM, "no PortAudio")
    )


def test_missing_devices_show_plain_words_and_fix_cards(
    qtbot: QtBot,
    bridge: Bridge,
    profile: ClinicProfile,
    broken_devices: FakeDevices,
    artifacts_dir: Path,
) -> None:
    failing = [
        CheckResult(
            "camera",
            Status.FAIL,
            "No camera was found.",
            "Plug in a camera, or close other video apps, then press “Run again”.",
        ),
        CheckResult(
            "microphone",
            Status.FAIL,
            "This computer's sound system is not available.",
            "Restart the computer. If that does not help, call your clinic.",
        ),
        CheckResult(
            "speaker",
            Status.FAIL,
            "This computer's sound system is not available.",
            "Restart the computer. If that does not help, call your clinic.",
        ),
        CheckResult(
            "bandwidth",
            Status.FAIL,
            "Tandem could not reach the session server.",
            "Check that you are connected to the internet.",
        ),
    ]
    window = MainWindow(profile, bridge, broken_devices, ScriptedCheck(broken_devices, failing))
    qtbot.addWidget(window)
    window.resize(1100, 900)
    window.show()
    page = window.preflight
    qtbot.waitUntil(
        lambda: not page.mic_picker.combo.isEnabled() and page.mic_picker.note.isVisible()
    )
    qtbot.waitUntil(lambda: page.camera_picker.combo.currentText() == "No camera found")
    assert page.mic_picker.note.text() == "This computer's sound system is not available."
    qtbot.waitUntil(lambda: page.preview.message == "No camera found")
    run_check(qtbot, window)
    assert page.banner.title_label.text() == "Some things need fixing before your session."
    assert all(card.status_text == "Not working" for card in page.cards.values())
    assert clipped_widgets(window) == []
    window.grab().save(str(artifacts_dir / "preflight-not-ready.png"))
    window.shutdown()


def test_save_writes_the_web_page_confirms_beside_the_button_and_clears_on_new_results(
    qtbot: QtBot,
    window: MainWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    artifacts_dir: Path,
) -> None:
    # Issue 10 item 6: "Report saved" far from the button, kept after a new check, and a JSON
    # file nobody asked for.
    page = window.preflight
    window.resize(1366, 768)
    run_check(qtbot, window)
    target = tmp_path / "my report.html"
    asked: list[tuple[str, str]] = []

    def dialog(parent: object, title: str, start: str, filters: str, selected: str) -> object:
        asked.append((filters, selected))
        return (str(target), selected)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    assert page.save_report()
    assert "Equipment report" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my report.html"]  # no JSON
    filters, selected = asked[0]
    assert selected == WEB_PAGE.file_filter and DATA_FILE.file_filter in filters
    assert "send to your clinic" in WEB_PAGE.file_filter and "IT team" in DATA_FILE.file_filter
    note = page.saved_note
    assert note.isVisible()
    assert note.text() == "Saved my report.html: a web page to send to your clinic."
    # Beside the button: on its row, just after it.
    page.scroll_area.ensureWidgetVisible(page.save_button)
    button = page.save_button.geometry()
    beside = note.geometry()
    assert note.parentWidget() is page.save_button.parentWidget()
    assert beside.left() >= button.right() and beside.left() - button.right() <= 40
    assert beside.top() < button.bottom() and beside.bottom() > button.top()
    window.grab().save(str(artifacts_dir / "preflight-report-saved.png"))

    # The data file only when it is chosen, and it says what it is for.
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), DATA_FILE.file_filter)
    )
    assert page.save_report()
    assert '"verdict": "ready_with_warnings"' in (tmp_path / "my report.json").read_text()
    assert note.text() == "Saved my report.json: a data file for your clinic's IT team."

    # A new check: the confirmation goes with the results it described.
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        page.start_check()
        assert not note.isVisible()
    assert not note.isVisible() and note.text() == ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert page.save_report() and note.isVisible()
    QTest.keyClicks(page.report_details.note_edit, "x")  # the report to save changed too
    assert not note.isVisible()


def test_the_saved_report_carries_only_the_names_the_couple_typed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = window.preflight
    assert not page.report_details.isEnabled()  # nothing to describe before a check
    run_check(qtbot, window)
    assert page.report_details.isEnabled()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "r"), ""))
    assert page.save_report()
    assert "Sam" not in (tmp_path / "r.html").read_text(encoding="utf-8")
    QTest.keyClicks(page.report_details.label_edit, "  Sam & Alex ")
    QTest.keyClicks(page.report_details.note_edit, "We share one laptop")
    assert page.save_report()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<p>Sam & Alex</p><p>We share one laptop</p>" in html


def test_a_failed_save_says_so_and_keeps_the_report(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_check(qtbot, window)
    target = tmp_path / "missing-folder" / "report.html"
    errors: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    monkeypatch.setattr(
        QMessageBox, "critical", lambda parent, title, text, *a: errors.append(text)
    )
    assert not window.preflight.save_report()
    assert len(errors) == 1 and "does not exist" in errors[0]
    assert window.preflight.report is not None
    assert window.preflight.save_button.isEnabled()


def test_tab_reaches_the_main_controls(qtbot: QtBot, window: MainWindow) -> None:
    page = window.preflight
    run_check(qtbot, window)
    window.activateWindow()
    window.emergency_button.setFocus()
    reached = []
    for _ in range(30):
        reached.append(window.focusWidget())
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
    wanted = [
        window.emergency_button,
        page.camera_picker.combo,
        page.mic_picker.combo,
        page.speaker_picker.combo,
        page.check_button,
        page.banner,
        *page.cards.values(),
        page.save_button,
    ]
    for widget in wanted:
        assert widget in reached, widget.accessibleName()
    assert [w for w in reached if w in wanted][: len(wanted)] == wanted


def test_enter_on_the_check_button_runs_the_check(qtbot: QtBot, window: MainWindow) -> None:
    page = window.preflight
    qtbot.waitUntil(lambda: page.camera_picker.has_device)
    page.check_button.setFocus()
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        QTest.keyClick(page.check_button, Qt.Key.Key_Return)


def test_every_control_has_an_accessible_name(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QAbstractButton, QComboBox

    for widget in window.findChildren(QAbstractButton) + window.findChildren(QComboBox):
        assert widget.accessibleName(), widget


def test_preview_stops_when_the_page_is_hidden(qtbot: QtBot, window: MainWindow) -> None:
    page = window.preflight
    qtbot.waitUntil(lambda: page.preview.frames_shown > 0 and page.meter.running)
    page.hide()
    assert not page.preview.running and not page.meter.running
    page.show()
    qtbot.waitUntil(lambda: page.preview.running and page.meter.running)
