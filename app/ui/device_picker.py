"""A labelled drop-down of devices, with calm "Looking…" and "No camera found" states."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.devices.base import DeviceInfo


class ScrollingComboBox(QComboBox):
    """A drop-down the mouse wheel passes over: the wheel scrolls the page it sits on.

    A wheel turned over a closed QComboBox changes its choice, so a person scrolling the check
    page picks another microphone without noticing. The open list still scrolls as usual."""

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        # Handed straight to the page's scroll bar: Qt passes only a system's own wheel events
        # up to the parents, and this way every wheel event scrolls the same page.
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is None:
            event.ignore()
            return
        QApplication.sendEvent(parent.verticalScrollBar(), event)
        event.accept()


class DevicePicker(QWidget):
    """`kind` is the plain noun ("camera"); `label` carries the mnemonic ("&Camera")."""

    changed = Signal()

    def __init__(self, kind: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._available = False
        self.loading = False
        self._listed_waiters: list[Callable[[], None]] = []
        self.label = QLabel(label)
        self.combo = ScrollingComboBox()
        self.combo.setAccessibleName(f"Choose a {kind}")
        self.label.setBuddy(self.combo)
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.combo)
        layout.addWidget(self.note)
        self.combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.set_loading()

    @property
    def has_device(self) -> bool:
        return self._available

    def current_id(self) -> str | None:
        if not self.has_device:
            return None
        value = self.combo.currentData()
        return value if isinstance(value, str) else None

    def when_listed(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the device list is in (now if it is): a choice made while the
        list is still loading would be "no device"."""
        if self.loading:
            self._listed_waiters.append(callback)
        else:
            callback()

    def set_loading(self) -> None:
        self._replace([], f"Looking for a {self.kind}…")
        self.loading = True

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        if not devices:
            self._replace([], f"No {self.kind} found")
            self.note.setText(f"Plug in a {self.kind}; Tandem looks again after each check.")
            self.note.show()
            return
        previous = self.current_id()
        self._replace(devices, "")
        index = self.combo.findData(previous) if previous is not None else -1
        if index > 0:
            self.combo.setCurrentIndex(index)

    def set_error(self, message: str) -> None:
        self._replace([], f"No {self.kind} available")
        self.note.setText(message)
        self.note.show()

    def _replace(self, devices: list[DeviceInfo], placeholder: str) -> None:
        self.loading = False
        self.combo.blockSignals(True)
        self._available = bool(devices)
        self.combo.clear()
        self.note.hide()
        if devices:
            for device in devices:
                self.combo.addItem(device.name, device.id)
            self.combo.setEnabled(True)
            self.combo.setAccessibleDescription(f"{len(devices)} found")
        else:
            self.combo.addItem(placeholder, None)
            self.combo.setEnabled(False)
            self.combo.setAccessibleDescription(placeholder)
        self.combo.blockSignals(False)
        self.changed.emit()
        waiters, self._listed_waiters = self._listed_waiters, []
        for waiter in waiters:
            waiter()
