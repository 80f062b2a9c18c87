"""The page running the real equipment check (app.checks.runner): fake devices from
app.devices.fakes, and the bandwidth measured against the practice server it starts itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.checks.bandwidth import (
    PRACTICE_NOT_MEASURED,
    PRACTICE_PUBLIC_VERDICT_NOTE,
    PRACTICE_VERDICT_NOTE,
    PUBLIC_TEST_OFFER,
)
from app.checks.report import PUBLIC_SERVER, EquipmentReport
from app.checks.report_html import PRACTICE_PUBLIC_NOTE
from app.checks.result import CheckResult, Status
from app.checks.runner import CheckPlan
from app.devices.base import DeviceProblem
from app.devices.fakes import FakeCamera, FakeMicrophone, FakeSpeaker
from app.net.bandwidth_probe import SessionServerProbe
from app.profile import ClinicProfile
from app.progress import Progress, ProgressCallback
from app.server.embedded import start_practice_server
from app.ui.bridge import Bridge
from app.ui.main_window import PRACTICE_TEXT, MainWindow
from app.ui.services import DeviceChoice, PlanFactory, equipment_check, system_plan
from tests.gui.fakes import FakeDevices

pytestmark = pytest.mark.gui


def fake_plan(camera_fail: DeviceProblem | None = None) -> PlanFactory:
    def make(choice: DeviceChoice) -> CheckPlan:
        plan = system_plan(choice)  # the app's own plan, with fakes put in for the hardware
        mic = FakeMicrophone(realtime=False)
        plan.camera = FakeCamera(fail=camera_fail, realtime=False)
        plan.microphone = mic
        plan.speaker = FakeSpeaker(echo_into=mic, realtime=False)
        if plan.bandwidth_probe is not None and choice.server_url:
            plan.bandwidth_probe = SessionServerProbe(choice.server_url, phase_s=0.4)
        return plan

    return make


@pytest.fixture
def practice_window(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, devices: FakeDevices
) -> Iterator[MainWindow]:
    w = MainWindow(profile, bridge, devices, equipment_check(fake_plan()))
    qtbot.addWidget(w)
    w.resize(1100, 1250)
    w.show()
    with qtbot.waitSignal(w.practice_ready, timeout=10_000):
        w.start_practice_mode(start_practice_server)
    yield w
    w.shutdown()


def test_a_real_check_in_practice_mode(
    qtbot: QtBot, practice_window: MainWindow, artifacts_dir: Path
) -> None:
    window = practice_window
    page = window.preflight
    assert window.mode_banner.text() == PRACTICE_TEXT
    pickers = (page.camera_picker, page.mic_picker, page.speaker_picker)
    qtbot.waitUntil(lambda: all(p.has_device for p in pickers))
    figures: list[str] = []

    def collect(update: Progress) -> None:
        if update.figure:
            figures.append(update.figure)

    page._bridge.progress.connect(collect)
    with qtbot.waitSignal(page.check_finished, timeout=30_000) as finished:
        page.start_check()
    report = finished.args[0]
    assert report is not None
    statuses = {r.name: r.status.value for r in report.results}
    assert statuses.keys() == {"camera", "microphone", "speaker"}
    assert statuses["camera"] == "pass"
    for name, card in page.cards.items():
        assert card.has_result, name
        if name != "bandwidth":
            assert card.status_text in ("Working", "Works, but could be better", "Not working")
    # Issue 10 item 1: practice mode measures nothing of the internet, and says so on the card,
    # in the verdict and in the report (no figure from this computer passes for one).
    bandwidth = page.cards["bandwidth"]
    assert bandwidth.status_text == "Not checked"
    assert bandwidth.reason_label.text() == PRACTICE_NOT_MEASURED
    assert not any(f.endswith("Mbps") for f in figures)
    assert page.banner.isVisible()
    assert PRACTICE_VERDICT_NOTE in page.banner.detail_label.text()
    assert report.practice_mode and report.skipped == {"bandwidth": PRACTICE_NOT_MEASURED}
    assert PRACTICE_NOT_MEASURED in report.render_html()
    window.grab().save(str(artifacts_dir / "preflight-practice-real-check.png"))


@dataclass
class FakeInternet:
    """Practice mode's public speed test, without the internet."""

    online: bool
    result: CheckResult = field(
        default_factory=lambda: CheckResult(
            "bandwidth", Status.PASS, metrics={"download_mbps": 48.0, "upload_mbps": 11.0}
        )
    )
    measured: list[DeviceChoice] = field(default_factory=list)

    def reachable(self) -> bool:
        return self.online

    def measure(self, choice: DeviceChoice, progress: ProgressCallback) -> CheckResult:
        self.measured.append(choice)
        progress(Progress("bandwidth", 0.2, "Measuring download…"))
        return self.result


def test_practice_mode_offers_the_real_internet_test_from_the_card(
    qtbot: QtBot, practice_window: MainWindow, artifacts_dir: Path
) -> None:
    page = practice_window.preflight
    internet = FakeInternet(online=True)
    page.internet_test = internet
    card = page.cards["bandwidth"]
    with qtbot.waitSignal(page.internet_answered, timeout=30_000) as offered:
        with qtbot.waitSignal(page.check_finished, timeout=30_000):
            page.start_check()
    assert offered.args == [True]
    assert card.action_button.isVisible() and card.action_button.text() == PUBLIC_TEST_OFFER
    practice_window.grab().save(str(artifacts_dir / "preflight-practice-internet-offer.png"))
    practice_window.activateWindow()
    card.setFocus()
    QTest.keyClick(card, Qt.Key.Key_Tab)  # the offer is next in the tab order after its card
    qtbot.waitUntil(card.action_button.hasFocus)
    QTest.mouseClick(card.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card.status_text == "Working", timeout=10_000)
    assert len(internet.measured) == 1 and not card.action_button.isVisible()
    assert "48.0 Mbps" in card.reason_label.text()
    report = page.report
    assert isinstance(report, EquipmentReport)
    assert report.server == PUBLIC_SERVER and "bandwidth" not in report.skipped
    assert report.result("bandwidth") == internet.result
    assert PRACTICE_PUBLIC_VERDICT_NOTE in page.banner.detail_label.text()
    assert escape(PRACTICE_PUBLIC_NOTE) in report.render_html()
    # A new check starts from scratch: not measured again until asked.
    with qtbot.waitSignal(page.internet_answered, timeout=30_000):
        with qtbot.waitSignal(page.check_finished, timeout=30_000):
            page.start_check()
    assert card.status_text == "Not checked" and len(internet.measured) == 1


def test_practice_mode_offline_offers_no_internet_test(
    qtbot: QtBot, practice_window: MainWindow
) -> None:
    page = practice_window.preflight
    page.internet_test = FakeInternet(online=False)
    with qtbot.waitSignal(page.internet_answered, timeout=30_000) as offered:
        with qtbot.waitSignal(page.check_finished, timeout=30_000):
            page.start_check()
    assert offered.args == [False]
    assert not page.cards["bandwidth"].action_button.isVisible()
    assert page.cards["bandwidth"].reason_label.text() == PRACTICE_NOT_MEASURED


@pytest.mark.allow_log_warnings("app.ui.main_window")
def test_a_failed_practice_server_is_a_card_not_a_hang(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, devices: FakeDevices
) -> None:
    window = MainWindow(profile, bridge, devices, equipment_check(fake_plan()))
    qtbot.addWidget(window)
    window.show()

    def broken() -> object:
        raise RuntimeError("The practice server could not start")

    window.start_practice_mode(broken)  # type: ignore[arg-type]
    page = window.preflight
    qtbot.waitUntil(lambda: page.check_button.isEnabled())
    with qtbot.waitSignal(page.check_finished, timeout=30_000):
        page.start_check()
    card = page.cards["bandwidth"]
    assert card.status_text == "Not checked"
    assert card.reason_label.text() == PRACTICE_NOT_MEASURED
    window.shutdown()


def test_no_camera_in_a_real_check(qtbot: QtBot, bridge: Bridge, profile: ClinicProfile) -> None:
    devices = FakeDevices(cameras=[])
    window = MainWindow(
        profile, bridge, devices, equipment_check(fake_plan(camera_fail=DeviceProblem.NOT_FOUND))
    )
    qtbot.addWidget(window)
    window.show()
    page = window.preflight
    qtbot.waitUntil(lambda: page.camera_picker.combo.currentText() == "No camera found")
    with qtbot.waitSignal(page.check_finished, timeout=30_000):
        page.start_check()
    camera = page.cards["camera"]
    assert camera.status_text == "Not working"
    assert camera.fix_label.isVisible() and camera.fix_label.text()
    assert page.cards["bandwidth"].status_text == "Not checked"
    assert page.banner.title_label.text() == "Some things need fixing before your session."
    window.shutdown()
