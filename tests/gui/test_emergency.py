"""The "Get help now" button and the crisis card."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.profile import ClinicProfile
from app.ui.crisis_card import CrisisCard
from app.ui.main_window import MainWindow

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
    assert len(copy) == 1  # no clinic numbers: only the crisis line
    QTest.mouseClick(copy[0], Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "988"
    assert card.number_labels["crisis"].text() == "988"


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
