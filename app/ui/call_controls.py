"""Microphone, camera, chat and leave buttons. Each toggle says its state in words under it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.call.self_view import NO_CAMERA

CHAT_SHORTCUT = "Alt+H"


def _toggle_column(button: QPushButton, state: QLabel) -> QVBoxLayout:
    column = QVBoxLayout()
    column.setSpacing(4)
    column.addWidget(button)
    column.addWidget(state, 0, Qt.AlignmentFlag.AlignHCenter)
    return column


class CallControls(QWidget):
    mute_changed = Signal(bool)  # True: muted
    camera_changed = Signal(bool)  # True: camera on
    leave_requested = Signal()
    chat_toggled = Signal(bool)  # True: the chat panel is open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callControls")
        self.mute_button = QPushButton()
        self.mute_button.setObjectName("toggleButton")
        self.mute_button.setCheckable(True)
        self.mute_button.setAccessibleName("Mute microphone")
        self.mute_state = QLabel()
        self.mute_state.setObjectName("toggleState")
        self.camera_button = QPushButton()
        self.camera_button.setObjectName("toggleButton")
        self.camera_button.setCheckable(True)
        self.camera_button.setAccessibleName("Turn camera off")
        self.camera_state = QLabel()
        self.camera_state.setObjectName("toggleState")
        self.chat_button = QPushButton()
        self.chat_button.setObjectName("toggleButton")
        self.chat_button.setCheckable(True)
        self.chat_button.setAccessibleName("Chat")
        self.chat_state = QLabel()
        self.chat_state.setObjectName("toggleState")
        self.leave_button = QPushButton("&Leave session")
        self.leave_button.setObjectName("leaveButton")
        self.leave_button.setAccessibleName("Leave session")
        self.leave_button.setAccessibleDescription(
            "Ends the call for you and goes back to the equipment check"
        )
        for button in (self.mute_button, self.camera_button, self.chat_button, self.leave_button):
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        layout.addLayout(_toggle_column(self.mute_button, self.mute_state))
        layout.addLayout(_toggle_column(self.camera_button, self.camera_state))
        layout.addLayout(_toggle_column(self.chat_button, self.chat_state))
        layout.addStretch(1)
        layout.addWidget(self.leave_button, 0, Qt.AlignmentFlag.AlignTop)

        self.mute_button.toggled.connect(self._mute_toggled)
        self.camera_button.toggled.connect(self._camera_toggled)
        self.chat_button.toggled.connect(self._chat_toggled)
        self._unread = 0
        self._has_camera = True
        # A shortcut of its own, not a "&" in the text: one key for the chat on every platform.
        self.chat_shortcut = QShortcut(QKeySequence(CHAT_SHORTCUT), self)
        self.chat_shortcut.activated.connect(self.chat_button.click)
        self.leave_button.clicked.connect(self.leave_requested)
        self.reset()

    @property
    def muted(self) -> bool:
        return self.mute_button.isChecked()

    @property
    def camera_on(self) -> bool:
        """What the person chose; the camera may still not work (see set_camera_trouble)."""
        return not self.camera_button.isChecked()

    def set_camera_trouble(self, state: str) -> None:
        """The camera is switched on but does not work: say `state` (e.g. "Camera not working")
        instead of "Camera is on", until the person switches it off or on again."""
        if self.camera_on:
            self._show_camera_state(state)

    def clear_camera_trouble(self) -> None:
        """The camera works again: "Camera is on" (if the person still has it on)."""
        if self.camera_on:
            self._show_camera(True)

    def set_has_camera(self, has_camera: bool) -> None:
        """A call without a camera: the camera button cannot be pressed and says "Camera" (not
        "Stop camera"), so neither it nor its state words suggest the person is seen."""
        self._has_camera = has_camera
        self.camera_button.setEnabled(has_camera and self.leave_button.isEnabled())
        self._show_camera(self.camera_on)

    @property
    def chat_open(self) -> bool:
        return self.chat_button.isChecked()

    def set_chat_unread(self, count: int) -> None:
        """Lines that came while the chat was closed (0: none, or it is open)."""
        self._unread = count
        self._show_chat()

    def reset(self) -> None:
        """Microphone on, camera on, chat closed (a new call), without emitting."""
        self._unread = 0
        for button in (self.mute_button, self.camera_button, self.chat_button):
            button.blockSignals(True)
            button.setChecked(False)
            button.blockSignals(False)
        self._show_mute(False)
        self._show_camera(True)
        self._show_chat()
        self.set_enabled(True)

    def set_enabled(self, enabled: bool) -> None:
        for button in (self.mute_button, self.chat_button, self.leave_button):
            button.setEnabled(enabled)
        self.camera_button.setEnabled(enabled and self._has_camera)

    def _show_mute(self, muted: bool) -> None:
        self.mute_button.setText("Un&mute" if muted else "&Mute")
        state = "You are muted" if muted else "Microphone is on"
        self.mute_state.setText(state)
        self.mute_button.setAccessibleDescription(state)
        self.mute_button.setToolTip(f"{state} (Alt+M)")

    def _show_camera(self, on: bool) -> None:
        if not self._has_camera:
            self.camera_button.setText("&Camera")
            self._show_camera_state(NO_CAMERA)
            return
        self.camera_button.setText("Stop &camera" if on else "Start &camera")
        self._show_camera_state("Camera is on" if on else "Camera is off")

    def _show_camera_state(self, state: str) -> None:
        self.camera_state.setText(state)
        self.camera_button.setAccessibleDescription(state)
        self.camera_button.setToolTip(f"{state} (Alt+C)")

    def _show_chat(self) -> None:
        open_ = self.chat_open
        self.chat_button.setText("Hide chat" if open_ else "Chat")
        if open_ or not self._unread:
            state = "Chat is open" if open_ else "Chat is closed"
        else:
            state = f"{self._unread} new message" + ("s" if self._unread > 1 else "")
        self.chat_state.setText(state)
        self.chat_button.setAccessibleDescription(f"{state}. Shortcut: {CHAT_SHORTCUT}.")
        self.chat_button.setToolTip(f"{state} ({CHAT_SHORTCUT})")

    def _chat_toggled(self, open_: bool) -> None:
        if open_:
            self._unread = 0
        else:  # the focus may have been in the chat that is going away
            self.chat_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self._show_chat()
        self.chat_toggled.emit(open_)

    def _mute_toggled(self, muted: bool) -> None:
        self._show_mute(muted)
        self.mute_changed.emit(muted)

    def _camera_toggled(self, off: bool) -> None:
        self._show_camera(not off)
        self.camera_changed.emit(not off)
