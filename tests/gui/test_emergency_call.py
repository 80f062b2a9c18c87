"""The help button against the real session server on loopback: a clinician accepts and the
call opens on the call page with their name and their video; the couple's join code is
remembered from the join dialog; practice mode's practice run with a simulated clinician."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.emergency.help_flow import Phase
from app.emergency.practice_clinician import PRACTICE_CLINICIAN, SimulatedClinician
from app.profile import ClinicProfile
from app.server.embedded import EmbeddedServer, start_practice_server
from app.ui.bridge import Bridge
from app.ui.main_window import PRACTICE_HELP_CALL_TEXT, MainWindow
from tests.gui.emergency_helpers import (
    BOUND_MS,
    SECRET,
    Clock,
    WindowMaker,
    clinic_profile,
    partner_token,
    real_server,
    record_kinds,
)

pytestmark = [pytest.mark.gui, pytest.mark.slow]

CALL_BOUND_MS = 30_000  # aiortc and a headless participant on a loaded machine


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_window(
    qtbot: QtBot, bridge: Bridge, tmp_path: Path, clock: Clock
) -> Iterator[WindowMaker]:
    maker = WindowMaker(qtbot, bridge, tmp_path / "home", clock)
    yield maker
    maker.close_all()


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    yield from real_server()


@pytest.fixture
def dr_lee(bridge: Bridge, server: EmbeddedServer) -> Iterator[SimulatedClinician]:
    """An on-call clinician on the real server's roster who accepts after half a second."""
    clinician = SimulatedClinician(server.url, SECRET, accept_after_s=0.5, name="Dr Lee")
    bridge.submit(clinician.run())
    yield clinician
    bridge.submit(clinician.close()).result(15)


def phase(window: MainWindow) -> Phase:
    return window.help.controller.flow.phase


def test_accepted_opens_the_call_with_the_clinician_then_im_safe_ends_it(
    qtbot: QtBot,
    make_window: WindowMaker,
    server: EmbeddedServer,
    dr_lee: SimulatedClinician,
) -> None:
    window = make_window(clinic_profile(server.url), code=partner_token("Alex"))
    qtbot.waitUntil(lambda: dr_lee.client.available, timeout=BOUND_MS)
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = window.crisis_card
    assert card is not None and card.isVisible()
    assert card.status.headline.text() == "Calling the on-call clinician… 0:00"
    page = window.call_page
    qtbot.waitUntil(lambda: page.in_call, timeout=BOUND_MS)
    assert phase(window) is Phase.ACCEPTED
    assert window.pages.currentWidget() is page
    assert not card.isVisible()  # the video is what matters now
    assert "Emergency call with Dr Lee" in window.mode_banner.text()
    assert page.waiting_title.text() == "Dr Lee is joining you now"
    qtbot.waitUntil(lambda: len(page.tiles) == 1, timeout=CALL_BOUND_MS)
    tile = next(iter(page.tiles.values()))
    assert tile.name_label.text() == "Dr Lee · On-call clinician"
    qtbot.waitUntil(lambda: tile.frames_drawn >= 3, timeout=CALL_BOUND_MS)
    assert not page.note.isVisible()  # the awaited person is here

    # Pressing again during the call joins the same case: the same call goes on.
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    assert card.isVisible() and card.status.cancel_button.isVisible()
    setup = page.setup
    QTest.mouseClick(card.status.cancel_button, Qt.MouseButton.LeftButton)
    assert phase(window) is Phase.CANCELLED
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=BOUND_MS)
    assert setup is not None and not page.in_call
    qtbot.waitUntil(lambda: dr_lee.client.held is None, timeout=BOUND_MS)  # the case ended
    case_id = window.help.controller.flow.case_id
    assert case_id is not None
    kinds = record_kinds(server, case_id)
    for step in ("requested", "accepted", "connected", "cancelled", "ended"):
        assert step in kinds, kinds


def test_the_join_code_typed_for_a_session_is_remembered_for_help(
    qtbot: QtBot, make_window: WindowMaker, server: EmbeddedServer
) -> None:
    window = make_window(clinic_profile(server.url))
    assert window.help.controller.code is None
    assert not window.join_session()
    dialog = window.join_code_dialog
    assert dialog is not None and dialog.isVisible()
    code = partner_token("Sam")
    dialog.setTextValue(code)
    dialog.accept()
    controller = window.help.controller
    assert controller.code == code
    path = controller.codes.path
    assert path.read_text(encoding="utf-8").strip() == code
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    page = window.call_page
    qtbot.waitUntil(lambda: page.in_call, timeout=BOUND_MS)  # and the session is joined
    qtbot.waitUntil(lambda: controller.client is not None and controller.client.connected)
    page.leave()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=BOUND_MS)
    # Next time the dialog offers the remembered code.
    window.join_session()
    assert dialog.textValue() == code
    dialog.reject()


def test_practice_run_with_a_simulated_on_call_clinician(
    qtbot: QtBot, make_window: WindowMaker
) -> None:
    window = make_window(ClinicProfile())
    window.start_practice_mode(start_practice_server)
    controller = window.help.controller
    controller.practice_accept_after_s = 1.0
    qtbot.waitUntil(lambda: controller.can_practise, timeout=BOUND_MS)
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = window.crisis_card
    assert card is not None and phase(window) is Phase.PRACTICE  # honest first
    status = card.status
    assert status.practice_button.isEnabled()
    QTest.mouseClick(status.practice_button, Qt.MouseButton.LeftButton)
    assert status.headline.text() == "Calling the on-call clinician… 0:00"
    assert status.detail.text().startswith("Practice run: the on-call clinician is simulated")
    page = window.call_page
    qtbot.waitUntil(lambda: page.in_call, timeout=BOUND_MS)
    assert window.mode_banner.text() == PRACTICE_HELP_CALL_TEXT
    qtbot.waitUntil(lambda: len(page.tiles) == 1, timeout=CALL_BOUND_MS)
    tile = next(iter(page.tiles.values()))
    assert tile.name_label.text() == f"{PRACTICE_CLINICIAN} · On-call clinician"
    qtbot.waitUntil(lambda: tile.frames_drawn >= 3, timeout=CALL_BOUND_MS)

    # "Get help now" during the practice run: the real numbers, honestly, and the run ends.
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    assert phase(window) is Phase.PRACTICE and card.isVisible()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=BOUND_MS)


def test_a_session_call_gives_way_to_the_case_call(
    qtbot: QtBot,
    make_window: WindowMaker,
    server: EmbeddedServer,
    dr_lee: SimulatedClinician,
) -> None:
    code = partner_token("Alex")
    window = make_window(clinic_profile(server.url), code=code)
    page = window.call_page
    assert window.join_session(token=code)  # the couple's ordinary session room
    qtbot.waitUntil(lambda: page.in_call, timeout=BOUND_MS)
    session = page.setup
    qtbot.waitUntil(lambda: dr_lee.client.available, timeout=BOUND_MS)
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.in_call and page.setup is not session, timeout=CALL_BOUND_MS)
    assert page.waiting_title.text() == "Dr Lee is joining you now"
    qtbot.waitUntil(lambda: len(page.tiles) == 1, timeout=CALL_BOUND_MS)
    tile = next(iter(page.tiles.values()))
    assert tile.name_label.text() == "Dr Lee · On-call clinician"
    QTest.mouseClick(page.controls.leave_button, Qt.MouseButton.LeftButton)
    QTest.mouseClick(page.leave_confirm.leave_button, Qt.MouseButton.LeftButton)  # confirm
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=BOUND_MS)
    assert window.help.controller.flow.phase is Phase.ACCEPTED  # the case is still open
    # Pressing again: the same case, and its call opens again.
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.in_call, timeout=BOUND_MS)
    assert page.waiting_title.text() == "Dr Lee is joining you now"
    card = window.crisis_card
    assert card is not None
    QTest.mouseClick(card.status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=BOUND_MS)


def test_the_partner_prompt_with_the_real_server(
    qtbot: QtBot, make_window: WindowMaker, server: EmbeddedServer
) -> None:
    profile = clinic_profile(server.url)
    alex = make_window(profile, code=partner_token("Alex"), name="alex")
    sam = make_window(profile, code=partner_token("Sam"), name="sam")
    clients = [window.help.controller.client for window in (alex, sam)]
    qtbot.waitUntil(lambda: all(c is not None and c.connected for c in clients), timeout=BOUND_MS)
    QTest.mouseClick(alex.emergency_button, Qt.MouseButton.LeftButton)
    banner = sam.help.banner
    qtbot.waitUntil(banner.isVisible, timeout=BOUND_MS)
    assert banner.text.text() == "Alex asked for help — join now"
    assert phase(sam) is Phase.IDLE
    QTest.mouseClick(banner.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: phase(sam) in (Phase.RINGING, Phase.UNANSWERED), timeout=BOUND_MS)
    assert sam.help.controller.flow.case_id == alex.help.controller.flow.case_id
    # Either partner's "I'm safe now" ends the one case for both.
    card = sam.crisis_card
    assert card is not None
    QTest.mouseClick(card.status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: phase(alex) is Phase.CANCELLED, timeout=BOUND_MS)
    alex_card = alex.crisis_card
    assert alex_card is not None
    assert alex_card.status.headline.text() == "Your request for help is cancelled."
