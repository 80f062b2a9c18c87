"""One-click emergency connect, the couple's side (issue 8): the help button over dialogs, the
live status beside the numbers, escalation, the offline card with the cached plan, the partner
prompt, pressing again, cancel, and practice mode's honesty and practice run."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.emergency.help_flow import Phase
from app.emergency.help_words import PRACTICE_NO_CLINICIAN
from app.emergency.models import Plan
from app.emergency.plan_cache import PlanCache
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.crisis_card import CrisisCard
from app.ui.main_window import MainWindow
from tests.emergency_fake import PLAN, FakeEmergencyServer
from tests.gui.emergency_helpers import (
    BOUND_MS,
    Clock,
    WindowMaker,
    clinic_profile,
    closed_port,
    fake_factory,
    on_loop,
)
from tests.gui.helpers import clipped_widgets

pytestmark = pytest.mark.gui

FAKE_URL = "http://fake.invalid:8443"


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
def fake() -> FakeEmergencyServer:
    return FakeEmergencyServer()


def press_on_screen(window: MainWindow) -> None:
    """A real click, as the window system delivers it: a modal dialog would block it (a click
    sent to the widget itself would not be)."""
    button = window.emergency_button
    handle = window.windowHandle()
    assert handle is not None
    where = button.mapTo(window, button.rect().center())
    QTest.mouseClick(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)


def card_of(window: MainWindow) -> CrisisCard:
    card = window.crisis_card
    assert card is not None
    return card


def phase(window: MainWindow) -> Phase:
    return window.help.controller.flow.phase


# --- the button, from anywhere -------------------------------------------------------------------


def test_a_click_on_the_header_button_reaches_over_the_join_code_dialog(
    qtbot: QtBot, make_window: WindowMaker
) -> None:
    window = make_window(clinic_profile(FAKE_URL))
    assert not window.join_session()  # no code yet: it asks for one
    dialog = window.join_code_dialog
    assert dialog is not None and dialog.isVisible()
    press_on_screen(window)
    card = card_of(window)
    assert card.isVisible()
    assert phase(window) is Phase.NO_CODE  # nothing remembered yet: the card says so
    assert "does not have your join code" in card.status.detail.text()
    assert card.number_labels["crisis"].text() == "988"


def test_the_real_click_is_blocked_by_a_modal_dialog_so_the_app_has_none(
    qtbot: QtBot, make_window: WindowMaker
) -> None:
    """The premise of the test above: a modal dialog would eat the click."""
    window = make_window(clinic_profile(FAKE_URL))
    blocker = QDialog(window)
    blocker.setModal(True)
    blocker.show()
    qtbot.waitExposed(blocker)
    press_on_screen(window)
    assert window.crisis_card is None or not window.crisis_card.isVisible()
    assert phase(window) is Phase.IDLE
    blocker.reject()


@pytest.mark.parametrize("kind", ["dialog", "message box"])
def test_alt_g_over_a_modal_dialog_starts_help_and_closes_the_dialog(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer, kind: str
) -> None:
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    dialog: QDialog
    if kind == "dialog":
        dialog = QDialog(window)
        field = QLineEdit(dialog)
        field.setFocus()
    else:
        dialog = QMessageBox(QMessageBox.Icon.Warning, "Tandem", "Something to read.")
        dialog.setParent(window, dialog.windowFlags())
    outcome: list[int] = []

    def press_alt_g() -> None:
        target = dialog.focusWidget() or dialog
        QTest.keyClick(target, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)

    QTimer.singleShot(0, press_alt_g)
    outcome.append(dialog.exec())  # blocks like any modal dialog until Alt+G closes it
    assert outcome == [QDialog.DialogCode.Rejected]
    card = card_of(window)
    assert card.isVisible()
    assert phase(window) in (Phase.CONNECTING, Phase.RINGING)
    qtbot.waitUntil(lambda: fake.open_case() is not None, timeout=BOUND_MS)


# --- the live status beside the numbers -----------------------------------------------------------


def test_live_status_and_numbers_from_the_first_second_then_escalation(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer, clock: Clock
) -> None:
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = card_of(window)
    # At once, before the server has answered: the status and the numbers side by side.
    assert card.isVisible()
    assert card.status.headline.text() == "Calling the on-call clinician… 0:00"
    assert card.status.isVisible() and card.numbers.isVisible()
    assert card.number_labels["crisis"].text() == "988"
    assert card.number_labels["emergency"].text() == "911"
    assert card.number_labels["clinic"].text() == "+1 555 0100"
    assert card.leading() is card.status  # the status leads for now
    assert card.status.cancel_button.isVisible()
    qtbot.waitUntil(lambda: phase(window) is Phase.RINGING, timeout=BOUND_MS)
    clock.t += 7.4
    qtbot.waitUntil(
        lambda: card.status.headline.text() == "Calling the on-call clinician… 0:07",
        timeout=BOUND_MS,
    )

    on_loop(window.bridge, lambda: fake.escalate(1))
    qtbot.waitUntil(lambda: "backup clinician" in card.status.detail.text(), timeout=BOUND_MS)
    clock.t += 55
    on_loop(window.bridge, lambda: fake.escalate(2))
    qtbot.waitUntil(
        lambda: card.status.headline.text() == "Still trying to reach a clinician… 1:02",
        timeout=BOUND_MS,
    )
    assert "Please call the crisis line now: 988." in card.status.detail.text()
    assert card.leading() is card.numbers_column  # the numbers lead now
    clock.t += 30
    on_loop(window.bridge, lambda: fake.escalate(3))
    qtbot.waitUntil(lambda: phase(window) is Phase.UNANSWERED, timeout=BOUND_MS)
    assert card.status.headline.text() == (
        "Call the crisis line now: 988. In immediate danger, call 911."
    )
    assert card.plan.isVisible() and "Call Sam" in card.plan.text.toPlainText()


def test_the_location_goes_with_the_request_and_a_second_one_updates_it(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer, tmp_path: Path
) -> None:
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    window.help.controller.locations.save("at home")
    window.help.controller.location = "at home"
    card = window.open_crisis_card()
    assert card.status.location.text() == "at home"
    qtbot.waitUntil(lambda: fake.open_case() is not None, timeout=BOUND_MS)
    case = fake.open_case()
    assert case is not None and case.location == "at home"
    card.status.location.setText("at my sister's, 4 Oak Road")
    QTest.mouseClick(card.status.location_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: case.location == "at my sister's, 4 Oak Road", timeout=BOUND_MS)
    assert len(fake.cases) == 1  # the same case
    remembered = window.help.controller.locations
    assert remembered.load() == "at my sister's, 4 Oak Road"
    assert stat.S_IMODE(remembered.path.stat().st_mode) == 0o600


def test_pressing_again_joins_the_same_case_and_cancel_ends_it(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer
) -> None:
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    card = window.open_crisis_card()
    qtbot.waitUntil(lambda: phase(window) is Phase.RINGING, timeout=BOUND_MS)
    first = window.help.controller.flow.case_id
    card.close()
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    assert card.isVisible()
    qtbot.waitUntil(
        lambda: len([m for m in fake.received if m["type"] == "emergency"]) == 2,
        timeout=BOUND_MS,
    )
    assert len(fake.cases) == 1 and window.help.controller.flow.case_id == first

    QTest.mouseClick(card.status.cancel_button, Qt.MouseButton.LeftButton)
    assert phase(window) is Phase.CANCELLED
    assert card.status.headline.text() == "Your request for help is cancelled."
    assert not card.status.cancel_button.isVisible()
    qtbot.waitUntil(lambda: fake.cases[str(first)].state == "cancelled", timeout=BOUND_MS)
    assert card.number_labels["crisis"].isVisible()  # the numbers stay


# --- offline --------------------------------------------------------------------------------------


def test_offline_shows_the_numbers_and_the_cached_plan_and_keeps_trying(
    qtbot: QtBot, make_window: WindowMaker, tmp_path: Path, artifacts_dir: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"  # nobody listens there
    PlanCache(tmp_path / "home" / "alex" / "plan.json").save(
        Plan("1. Breathe slowly.\n2. Call Jordan: 555 0199.", 1_700_000_000.0)
    )
    window = make_window(clinic_profile(url), code="partner-code")
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = card_of(window)
    assert card.number_labels["crisis"].isVisible()
    qtbot.waitUntil(lambda: phase(window) is Phase.OFFLINE, timeout=BOUND_MS)
    status = card.status
    assert status.headline.text() == (
        "Tandem cannot reach your clinic. Call the crisis line now: 988."
    )
    assert "keeps trying in the background" in status.detail.text()
    assert card.plan.isVisible()
    assert "Call Jordan: 555 0199." in card.plan.text.toPlainText()
    assert "Kept on this computer" in card.plan.saved.text()
    assert card.leading() is card.numbers_column
    card.grab().save(str(artifacts_dir / "help-card-offline.png"))
    client = window.help.controller.client
    assert client is not None and not client.connected  # and still trying (its task runs)


# --- the other partner ----------------------------------------------------------------------------


def test_the_other_partner_sees_the_prompt_and_joins_with_one_click(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer
) -> None:
    profile = clinic_profile(FAKE_URL)
    alex = make_window(profile, code="alex", factory=fake_factory(fake), name="alex")
    sam = make_window(profile, code="sam", factory=fake_factory(fake), name="sam")
    qtbot.waitUntil(lambda: len(fake.couples()) == 2, timeout=BOUND_MS)  # both apps watching
    QTest.mouseClick(alex.emergency_button, Qt.MouseButton.LeftButton)
    banner = sam.help.banner
    qtbot.waitUntil(banner.isVisible, timeout=BOUND_MS)
    assert banner.text.text() == "Alex asked for help — join now"
    assert banner.join_button.accessibleName() == "Alex asked for help — join now"
    assert phase(sam) is Phase.IDLE  # nothing was started for Sam without Sam's click
    QTest.mouseClick(banner.join_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    card = card_of(sam)
    assert card.isVisible()
    qtbot.waitUntil(lambda: phase(sam) is Phase.RINGING, timeout=BOUND_MS)
    assert len(fake.cases) == 1
    assert sam.help.controller.flow.case_id == alex.help.controller.flow.case_id


# --- practice mode --------------------------------------------------------------------------------


def test_practice_mode_never_pretends(
    qtbot: QtBot, make_window: WindowMaker, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("practice mode's help button must not call anyone")

    window = make_window(ClinicProfile())
    monkeypatch.setattr(socket.socket, "connect", refuse)
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = card_of(window)
    status = card.status
    assert phase(window) is Phase.PRACTICE
    assert status.headline.text() == "Call the crisis line now: 988."
    assert PRACTICE_NO_CLINICIAN in status.detail.text()
    assert "Calling" not in status.headline.text()
    assert card.number_labels["crisis"].text() == "988"
    assert not status.cancel_button.isVisible()
    assert status.practice_button.isVisible()
    assert status.practice_button.text() == "&Practice the help button"
    assert card.leading() is card.numbers_column
    card.grab().save(str(artifacts_dir / "help-card-practice-mode.png"))


# --- keyboard, names, size ------------------------------------------------------------------------


def test_the_card_is_keyboard_reachable_named_and_fits_1280x720(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer, artifacts_dir: Path
) -> None:
    window = make_window(
        clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake), size=(1280, 720)
    )
    card = window.open_crisis_card()
    qtbot.waitExposed(card)
    qtbot.waitUntil(lambda: phase(window) is Phase.RINGING, timeout=BOUND_MS)
    assert card.width() <= 1280 and card.height() <= 720
    assert clipped_widgets(card) == []
    card.grab().save(str(artifacts_dir / "help-card-ringing.png"))
    for control in card.findChildren(QPushButton) + card.findChildren(QLineEdit):
        if control.isVisibleTo(card):
            assert control.accessibleName(), control
    # Tab from the status goes through the location, the buttons and every number.
    seen: list[QWidget] = []
    widget: QWidget | None = card.status.headline
    for _ in range(40):
        assert widget is not None
        seen.append(widget)
        widget = widget.nextInFocusChain()
        while widget is not None and not (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(card)
        ):
            widget = widget.nextInFocusChain()
        if widget is card.status.headline:
            break
    for needed in (
        card.status.location,
        card.status.cancel_button,
        card.number_labels["crisis"],
        card.number_labels["emergency"],
        card.close_button,
    ):
        assert needed in seen
    assert seen.index(card.status.cancel_button) < seen.index(card.number_labels["crisis"])


def test_the_partner_prompt_point_is_inside_the_window(make_window: WindowMaker) -> None:
    window = make_window(clinic_profile(FAKE_URL))
    window.help.banner.show_prompt("Alex asked for help — join now")
    banner = window.help.banner
    assert banner.isVisible()
    assert window.rect().contains(banner.mapTo(window, QPoint(0, 0)))
    banner.show_prompt("")
    assert not banner.isVisible()


def test_the_plan_the_server_sends_is_kept_for_the_offline_card(
    qtbot: QtBot, make_window: WindowMaker, fake: FakeEmergencyServer
) -> None:
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    plans = window.help.controller.plans
    qtbot.waitUntil(lambda: plans.load() is not None, timeout=BOUND_MS)
    cached = plans.load()
    assert cached is not None and cached.text == PLAN["text"]


def test_a_change_of_status_is_said_aloud(
    qtbot: QtBot,
    make_window: WindowMaker,
    fake: FakeEmergencyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.ui import crisis_card
    from app.ui.accessibility import Politeness

    said: list[tuple[str, Politeness]] = []
    monkeypatch.setattr(
        crisis_card, "announce", lambda source, text, politeness: said.append((text, politeness))
    )
    window = make_window(clinic_profile(FAKE_URL), code="alex", factory=fake_factory(fake))
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    # Opening: the status first, then the numbers, assertively.
    text, politeness = said[0]
    assert text.startswith("Calling the on-call clinician… 0:00")
    assert "988" in text and politeness is Politeness.Assertive
    qtbot.waitUntil(lambda: phase(window) is Phase.RINGING, timeout=BOUND_MS)
    qtbot.waitUntil(lambda: len(said) >= 2, timeout=BOUND_MS)
    assert said[1][1] is Politeness.Polite  # progress, calmly
    count = len(said)
    on_loop(window.bridge, lambda: fake.escalate(2))
    qtbot.waitUntil(lambda: len(said) > count, timeout=BOUND_MS)
    text, politeness = said[-1]
    assert "Please call the crisis line now: 988." in text
    assert politeness is Politeness.Assertive
    # The ticking timer is not said every second: only changes of phase are.
    ticks = len(said)
    window.help.controller._tick()
    assert len(said) == ticks


def test_the_button_says_what_it_does_in_each_mode(make_window: WindowMaker) -> None:
    clinic = make_window(clinic_profile(FAKE_URL))
    assert "on-call clinician" in clinic.emergency_button.accessibleDescription()
    practice = make_window(ClinicProfile(), name="practice")
    assert "on-call" not in practice.emergency_button.accessibleDescription()
