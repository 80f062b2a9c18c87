""" "Get help now" from anywhere in the app, also over a dialog.

The header's button is one click away on every page, and the app's own dialogs do not block it
(they are not modal). A modal dialog the app does not control (a system file dialog, a message
box) blocks the main window's mouse and its Alt+G; so Alt+G is also caught in every window of
the app here, and starting the emergency closes a modal dialog that would stand between the
person and the crisis card (as its Cancel would).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QWidget

log = logging.getLogger(__name__)

HELP_KEY = Qt.Key.Key_G  # with Alt: the mnemonic of "&Get help now"
MAX_DIALOGS = 8  # dialogs over dialogs: a bound, so a dialog that refuses to close cannot hang us


def is_help_key(event: QKeyEvent) -> bool:
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return event.key() == HELP_KEY and modifiers == Qt.KeyboardModifier.AltModifier


class HelpEverywhere(QObject):
    """Alt+G in any window of the application calls `trigger` (the main window's own Alt+G is
    its button's mnemonic, which takes the key before any window sees it). `owner`: the main
    window; a window that belongs to another main window (tests run several) is not ours."""

    def __init__(
        self, trigger: Callable[[], object], owner: QWidget, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._trigger = trigger
        self._owner = owner
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and isinstance(watched, QWidget)
            and is_help_key(event)
            and self._ours(watched)
        ):
            self._trigger()
            return True
        return False

    def _ours(self, widget: QWidget) -> bool:
        root = widget.window()
        parent = root.parentWidget()
        while parent is not None:
            root = parent.window()
            parent = root.parentWidget()
        return root is self._owner or not isinstance(root, QMainWindow)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


def dismiss_modal_dialogs(keep: QWidget | None = None) -> int:
    """Close every modal dialog over the app (their Cancel), except `keep`; how many closed."""
    closed = 0
    for _ in range(MAX_DIALOGS):
        modal = QApplication.activeModalWidget()
        if modal is None or modal is keep:
            break
        if isinstance(modal, QDialog):
            modal.reject()
        else:
            modal.close()
        if QApplication.activeModalWidget() is modal:
            log.warning("a dialog did not close for the help card")
            break
        closed += 1
    return closed
