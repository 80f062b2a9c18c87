"""The device lists on the check page (item 5 of issue 10): the mouse wheel over one scrolls
the page and never changes the device."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.devices.base import DeviceInfo
from app.ui.device_picker import DevicePicker
from app.ui.scroll import PageScrollArea

pytestmark = pytest.mark.gui


def wheel_down(widget: QWidget) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, -120),  # one notch down
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_device_list_scrolls_the_page(qtbot: QtBot, styled_app: object) -> None:
    content = QWidget()
    column = QVBoxLayout(content)
    picker = DevicePicker("microphone", "&Microphone")
    column.addWidget(picker)
    spacer = QWidget()
    spacer.setMinimumHeight(2000)  # a page taller than its window
    column.addWidget(spacer)
    page = PageScrollArea(content)
    qtbot.addWidget(page)
    page.resize(400, 300)
    page.show()
    qtbot.waitExposed(page)
    picker.set_devices([DeviceInfo("0", "System default"), DeviceInfo("1", "USB Headset")])
    picker.combo.setFocus()  # even with the focus on it
    assert picker.current_id() == "0"
    bar = page.verticalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0

    wheel_down(picker.combo)

    assert picker.current_id() == "0"  # the device did not change
    assert bar.value() > 0  # the page scrolled
