"""Helpers shared by the GUI tests and the 200 % render script."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget
from pytestqt.qtbot import QtBot

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


def run_check(qtbot: QtBot, window: MainWindow) -> None:
    """Press the check button once the device lists are in, and wait for the check to end."""
    page = window.preflight
    pickers = (page.camera_picker, page.mic_picker, page.speaker_picker)
    qtbot.waitUntil(lambda: not any(p.combo.currentText().startswith("Looking") for p in pickers))
    with qtbot.waitSignal(page.check_finished, timeout=10_000):
        QTest.mouseClick(page.check_button, Qt.MouseButton.LeftButton)


def clipped_widgets(root: QWidget) -> list[str]:
    """Visible labels, buttons and drop-downs that got less room than their text needs."""
    problems: list[str] = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.width() <= 0:
            continue
        if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
            if widget.wordWrap():
                need_h = widget.heightForWidth(widget.width())
                if need_h > widget.height() + 1:
                    problems.append(f"label {widget.text()[:40]!r}: {widget.height()}<{need_h}")
            else:
                hint = widget.minimumSizeHint()
                if hint.width() > widget.width() + 1 or hint.height() > widget.height() + 1:
                    problems.append(f"label {widget.text()[:40]!r}: {widget.size()} < {hint}")
        elif isinstance(widget, QAbstractButton | QComboBox):
            hint = widget.minimumSizeHint()
            if hint.width() > widget.width() + 1 or hint.height() > widget.height() + 1:
                problems.append(
                    f"{type(widget).__name__} {widget.accessibleName()!r}: {widget.size()} < {hint}"
                )
    return problems
