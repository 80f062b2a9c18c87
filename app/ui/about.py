"""Tandem → About Tandem: the version (app/__init__.py, the one place it is written) and where the
clinic settings came from, for a clinic's IT person on the phone with a couple.

The menu is not called "Help": the header's "Get help now" button is the help in this app, and a
second "Help" holding only an About box would send someone in a hurry to the wrong place.
"""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox, QToolButton, QWidget

from app import __version__
from app.profile import ClinicProfile
from app.ui.assets import icon

TITLE = "About Tandem"


def about_text(profile: ClinicProfile) -> str:
    if profile.source is not None:
        settings = f"Clinic settings: {profile.source}"
    else:
        settings = "Clinic settings: none (practice mode)"
    return "\n\n".join(
        [
            f"Tandem {__version__}",
            "Equipment check, video sessions and help for couples in an intensive outpatient "
            "program.",
            settings,
            f"Qt {pyside_version}, Python {platform.python_version()}",
        ]
    )


def show_about(parent: QWidget, profile: ClinicProfile) -> QMessageBox:
    """Open the About box (window-modal, without blocking) and return it."""
    box = QMessageBox(parent)
    box.setWindowTitle(TITLE)
    box.setIconPixmap(icon("tandem").pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(about_text(profile))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def add_about_menu(window: QMainWindow, profile: ClinicProfile) -> QAction:
    """A Tandem menu with About Tandem (on macOS Qt moves it to the application menu)."""
    action = QAction("&About Tandem", window)
    action.setMenuRole(QAction.MenuRole.AboutRole)
    action.triggered.connect(lambda: show_about(window, profile))
    menu_bar = window.menuBar()
    menu_bar.addMenu("&Tandem").addAction(action)
    # The menu bar's own "more menus" button (shown when a narrow window hides some) has no
    # name of its own; a screen reader would say only "button".
    more = menu_bar.findChild(QToolButton, "qt_menubar_ext_button")
    if more is not None:
        more.setAccessibleName("More menus")
    return action
