"""When nothing proved the test tone was heard, the speaker card asks the person (keyboard too)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.checks.report import EquipmentReport
from app.checks.result import CheckResult, Status, Verdict
from app.checks.speaker import check_speaker
from app.devices.fakes import FakeMicrophone, FakeSpeaker
from app.profile import ClinicProfile
from app.progress import ProgressCallback
from app.ui.bridge import Bridge
from app.ui.main_window import MainWindow
from app.ui.services import DeviceChoice
from app.ui.speaker_card import QUESTION
from tests.gui.fakes import FakeDevices
from tests.gui.helpers import clipped_widgets

pytestmark = pytest.mark.gui


def headphones_check(
    choice: DeviceChoice, progress: ProgressCallback, cancel: threading.Event
) -> EquipmentReport:
    """The real speaker check where the microphone cannot hear the tone (headphones)."""
    speaker = check_speaker(FakeSpeaker(realtime=False), FakeMicrophone("silence", realtime=False))
    return EquipmentReport(
        results=(
            CheckResult("camera", Status.PASS),
            CheckResult("microphone", Status.PASS),
            speaker,
        ),
        skipped={"bandwidth": "Not checked (no server to measure against)"},
    )


@pytest.fixture
def asking_window(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, devices: FakeDevices
) -> Iterator[MainWindow]:
    w = MainWindow(profile, bridge, devices, headphones_check)
    qtbot.addWidget(w)
    w.resize(1100, 1250)
    w.show()
    qtbot.waitExposed(w)
    page = w.preflight
    qtbot.waitUntil(lambda: page.camera_picker.has_device)
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        page.start_check()
    yield w
    w.shutdown()


def test_the_card_asks_when_nothing_heard_the_tone(
    asking_window: MainWindow, artifacts_dir: Path
) -> None:
    page = asking_window.preflight
    card = page.speaker_card
    assert page.cards["speaker"] is card
    assert card.asking
    assert card.question.label.text() == QUESTION
    assert card.status_text == "Works, but could be better"
    assert "could not confirm you heard it" in card.reason_label.text()
    assert QUESTION in card.accessibleDescription()
    assert card.question.yes_button.accessibleName() == "Yes, I heard the tone"
    assert card.question.no_button.accessibleName() == "No, I did not hear the tone"
    assert card.question.yes_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert card.question.no_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert page.report is not None and page.report.summary.verdict is Verdict.READY_WITH_WARNINGS
    assert clipped_widgets(asking_window) == []
    asking_window.grab().save(str(artifacts_dir / "preflight-speaker-question.png"))


def test_yes_by_keyboard_makes_the_speaker_a_pass(qtbot: QtBot, asking_window: MainWindow) -> None:
    window = asking_window
    page = window.preflight
    card = page.speaker_card
    window.activateWindow()
    card.setFocus()
    QTest.keyClick(card, Qt.Key.Key_Tab)  # from the card straight to its first answer
    assert window.focusWidget() is card.question.yes_button
    QTest.keyClick(card.question.yes_button, Qt.Key.Key_Space)

    assert not card.asking
    assert card.status_text == "Working"
    assert window.focusWidget() is card  # focus is not lost with the vanished buttons
    report = page.report
    assert isinstance(report, EquipmentReport)
    speaker = report.result("speaker")
    assert speaker is not None and speaker.status is Status.PASS
    assert speaker.metrics["confirmed_by"] == "person"
    assert report.summary.verdict is Verdict.READY
    assert page.banner.title_label.text() == "You're ready for your session."
    assert report.to_json()["checks"]["speaker"]["status"] == "pass"  # the saved report agrees


def test_no_makes_the_speaker_a_fail_with_a_fix(qtbot: QtBot, asking_window: MainWindow) -> None:
    page = asking_window.preflight
    card = page.speaker_card
    QTest.mouseClick(card.question.no_button, Qt.MouseButton.LeftButton)

    assert not card.asking
    assert card.status_text == "Not working"
    fix = card.fix_label.text()
    for words in ("volume", "speakers or headphones", "plugged in"):
        assert words in fix
    report = page.report
    assert isinstance(report, EquipmentReport)
    assert report.summary.verdict is Verdict.NOT_READY
    assert report.summary.deciding_checks == ("speaker",)
    assert "Speaker" in page.banner.detail_label.text()


def test_running_again_asks_again(qtbot: QtBot, asking_window: MainWindow) -> None:
    page = asking_window.preflight
    QTest.mouseClick(page.speaker_card.question.yes_button, Qt.MouseButton.LeftButton)
    assert not page.speaker_card.asking
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        page.start_check()
    assert page.speaker_card.asking
