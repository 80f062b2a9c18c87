"""The "Get help now" button and the crisis card, also when the clinic profile is broken."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from app.profile import ClinicProfile, PhoneNumber
from app.ui.bridge import Bridge
from app.ui.crisis_card import CrisisCard
from app.ui.main import load_profile_or_explain
from app.ui.main_window import MainWindow
from tests.gui.fakes import FakeDevices, ScriptedCheck

pytestmark = pytest.mark.gui


def test_help_button_is_in_the_header_and_first_in_tab_order(window: MainWindow) -> None:
    button = window.emergency_button
    assert button.isVisible()
    assert button.text() == "&Get help now"
    assert button.accessibleName() == "Get help now"
    assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert window.preflight.isAncestorOf(button) is False


def test_help_opens_the_crisis_card_with_988_and_the_clinic_numbers(
    qtbot: QtBot, window: MainWindow, artifacts_dir: Path
) -> None:
    QTest.mouseClick(window.emergency_button, Qt.MouseButton.LeftButton)
    card = window.crisis_card
    assert card is not None
    qtbot.waitExposed(card)
    numbers = {key: label.text() for key, label in card.number_labels.items()}
    assert numbers == {
        "crisis": "988",
        "emergency": "911",
        "clinic": "+1 555 0100",
        "dial_in_0": "+1 555 0123,,4567#",
    }
    for label in card.number_labels.values():
        assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    card.grab().save(str(artifacts_dir / "crisis-card.png"))
    QTest.keyClick(card, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not card.isVisible())
    assert window.focusWidget() is window.emergency_button


def test_keyboard_space_on_help_opens_the_card(qtbot: QtBot, window: MainWindow) -> None:
    window.emergency_button.setFocus()
    QTest.keyClick(window.emergency_button, Qt.Key.Key_Space)
    card = window.crisis_card
    assert card is not None and card.isVisible()
    QTest.keyClick(card, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not card.isVisible())


def test_copy_puts_the_number_on_the_clipboard(qtbot: QtBot, styled_app: object) -> None:
    card = CrisisCard(ClinicProfile())
    qtbot.addWidget(card)
    card.show()
    from PySide6.QtWidgets import QPushButton

    copy = [b for b in card.findChildren(QPushButton) if b.text() == "Copy"]
    assert len(copy) == 2  # no clinic numbers: only the crisis line and the emergency number
    QTest.mouseClick(copy[0], Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "988"
    assert card.number_labels["crisis"].text() == "988"


def test_copied_is_forgotten_when_the_card_opens_again_and_no_caret_blinks(
    qtbot: QtBot, styled_app: object
) -> None:
    """Item 7 of issue 10: a stale "Copied", and a caret after a number that cannot be edited."""
    card = CrisisCard(ClinicProfile())
    qtbot.addWidget(card)
    card.show()
    qtbot.waitExposed(card)
    first, second = card.numbers.copy_buttons
    QTest.mouseClick(first, Qt.MouseButton.LeftButton)
    assert first.text() == "Copied" and second.text() == "Copy"
    QTest.mouseClick(second, Qt.MouseButton.LeftButton)
    assert (first.text(), second.text()) == ("Copy", "Copied")  # only the latest copy
    card.hide()
    card.show()
    qtbot.waitExposed(card)
    assert [b.text() for b in card.numbers.copy_buttons] == ["Copy", "Copy"]
    card.numbers._reset_timer.setInterval(50)
    QTest.mouseClick(first, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: first.text() == "Copy", timeout=3000)  # and by itself, later
    for label in card.number_labels.values():
        flags = label.textInteractionFlags()
        assert flags & Qt.TextInteractionFlag.TextSelectableByMouse
        assert not flags & Qt.TextInteractionFlag.TextSelectableByKeyboard  # the caret
        assert label.focusPolicy() & Qt.FocusPolicy.TabFocus  # still read out by focus


def test_crisis_card_needs_no_network(
    qtbot: QtBot, styled_app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the crisis card must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    card = CrisisCard(ClinicProfile())
    qtbot.addWidget(card)
    card.show()
    qtbot.waitExposed(card)
    assert card.number_labels["crisis"].text() == "988"


def card_text(card: CrisisCard) -> str:
    """Everything the card shows or gives a screen reader, as one string."""
    labels = card.findChildren(QLabel)
    parts = [label.text() for label in labels] + [label.accessibleName() for label in labels]
    return "\n".join([*parts, card.announcement])


def test_the_emergency_number_comes_from_the_profile(qtbot: QtBot, styled_app: object) -> None:
    profile = ClinicProfile(
        crisis_line=PhoneNumber("Telefonseelsorge", "0800 111 0 111"), emergency_number="112"
    )
    card = CrisisCard(profile)
    qtbot.addWidget(card)
    text = card_text(card)
    assert "If you are in immediate danger, call 112." in text
    assert "911" not in text


def test_988_is_never_shown_beside_an_emergency_number_from_elsewhere(
    qtbot: QtBot, styled_app: object
) -> None:
    """Item 8 of issue 10: the crisis_line setting was unusable and the couple dials 112."""
    profile = ClinicProfile(
        emergency_number="112", clinic_phone=PhoneNumber("Your clinic", "+49 30 1234")
    )
    card = CrisisCard(profile)
    qtbot.addWidget(card)
    text = card_text(card)
    assert "988" not in text and "911" not in text
    assert "crisis line at any time" not in text
    assert set(card.number_labels) == {"emergency", "clinic"}
    assert card.number_labels["emergency"].text() == "112"
    assert "Your clinic: +49 30 1234." in card.announcement
    assert "has not set a crisis line for where you live" in text


def test_without_a_profile_the_emergency_number_is_911(qtbot: QtBot, styled_app: object) -> None:
    card = CrisisCard(ClinicProfile())
    qtbot.addWidget(card)
    assert "If you are in immediate danger, call 911." in card_text(card)


@pytest.fixture
def warnings_shown(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QMessageBox, "warning", lambda parent, title, text, *a: shown.append((title, text))
    )
    return shown


ONE_BAD_VALUE = """\
[clinic]
name = "Riverside Couples IOP"

[servers]
session = "https://sessions.example-clinic.org"

[bandwidth]
min_mbps = "fast"

[phones]
clinic = { label = "Clinic front desk", number = "+1 555 0100" }
emergency = "112"
dial_in = [{ label = "Session dial-in (audio only)", number = "+1 555 0123,,4567#" }]
"""


def load_written(tmp_path: Path, text: str) -> ClinicProfile:
    """The profile the app loads from a file holding `text`."""
    path = tmp_path / "clinic-profile.toml"
    path.write_text(text, encoding="utf-8")
    return load_profile_or_explain(path)


CardOpener = Callable[[ClinicProfile], AbstractContextManager[CrisisCard]]


@pytest.fixture
def open_card(qtbot: QtBot, bridge: Bridge, devices: FakeDevices) -> CardOpener:
    """Opens the crisis card of a window started with a profile; the window is shut down after."""

    @contextmanager
    def opened(profile: ClinicProfile) -> Iterator[CrisisCard]:
        window = MainWindow(profile, bridge, devices, ScriptedCheck(devices))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        try:
            card = window.open_crisis_card()
            qtbot.waitExposed(card)
            yield card
        finally:
            window.shutdown()

    return opened


@pytest.mark.allow_log_warnings("app.ui.main")
def test_one_bad_value_keeps_the_clinic_numbers_on_the_card(
    tmp_path: Path, warnings_shown: list[tuple[str, str]], open_card: CardOpener
) -> None:
    profile = load_written(tmp_path, ONE_BAD_VALUE)

    assert len(warnings_shown) == 1
    title, text = warnings_shown[0]
    assert title == "Tandem: some clinic settings left out"
    assert "Tandem left out the minimum internet speed (bandwidth.min_mbps in the file)" in text
    assert "Everything else in the file is in use." in text
    assert "practice mode" not in text  # the clinic's server is still there
    assert "Traceback" not in text and "Error" not in text

    with open_card(profile) as card:
        numbers = {key: label.text() for key, label in card.number_labels.items()}
        # No crisis line in the file and 112 to dial: 988 would not connect there (item 8).
        assert numbers == {
            "emergency": "112",
            "clinic": "+1 555 0100",
            "dial_in_0": "+1 555 0123,,4567#",
        }
        assert "call 112." in card_text(card)
        # Every clinic number arrived; the note only says why no crisis line is shown.
        assert card.note is not None
        assert card.note.text() == "Your clinic has not set a crisis line for where you live."


@pytest.mark.allow_log_warnings("app.ui.main")
def test_a_file_that_cannot_be_read_says_so_and_the_card_says_call_the_clinic(
    tmp_path: Path, warnings_shown: list[tuple[str, str]], open_card: CardOpener
) -> None:
    profile = load_written(tmp_path, '[phones]\nclinic = "+1 555 0100"\nemergency = 112"\n')

    assert profile == ClinicProfile() and profile.practice_mode
    ((title, text),) = warnings_shown
    assert title == "Tandem: clinic settings not read"
    assert text.startswith(
        "Tandem could not read your clinic's settings file (clinic-profile.toml): "
        "line 3 is not written correctly."
    )
    assert "practice mode" in text and "Call your clinic" in text
    assert "Invalid" not in text and "column" not in text  # not tomllib's own words

    with open_card(profile) as card:
        numbers = {key: label.text() for key, label in card.number_labels.items()}
        assert numbers == {"crisis": "988", "emergency": "911"}
        assert card.note is not None and card.note.isVisible()
        assert card.note.text() == (
            "Tandem could not read your clinic's settings file, so your clinic's own numbers "
            "are not shown here. Call your clinic on the number your care team gave you."
        )
        assert "call 911." in card_text(card)
