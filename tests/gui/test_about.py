"""Tandem → About Tandem says the version (the one in app/__init__.py) and where the clinic settings
came from; the smoke hook of the installed app (TANDEM_SMOKE=paint) closes the window once the
equipment-check page has been painted, and does nothing otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app import __version__
from app.profile import ClinicProfile
from app.smoke import PAINTED_LINE
from app.ui.about import about_text
from app.ui.bridge import Bridge
from app.ui.first_paint import close_after_first_paint_if_asked
from app.ui.main_window import MainWindow
from tests.gui.fakes import FakeDevices, ScriptedCheck

pytestmark = pytest.mark.gui


def test_about_tandem_shows_the_version_and_the_settings_in_use(
    window: MainWindow, qtbot: QtBot, artifacts_dir: Path
) -> None:
    menu = window.menuBar().actions()[0]
    assert menu.text() == "&Tandem"  # not "Help": "Get help now" is the help (app/ui/about.py)
    assert window.about_action.menuRole() == QAction.MenuRole.AboutRole
    window.about_action.trigger()
    box = window.findChild(QMessageBox)
    assert box is not None
    qtbot.waitExposed(box)
    assert box.windowTitle() == "About Tandem"
    assert box.text().startswith(f"Tandem {__version__}\n")
    assert "Clinic settings: none (practice mode)" in box.text()
    box.grab().save(str(artifacts_dir / "about.png"))
    box.close()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is None)  # deleted on close


def test_about_names_the_clinic_settings_file() -> None:
    shipped = Path("/opt/tandem/clinic-profile.toml")
    text = about_text(ClinicProfile(server_url="https://clinic.example", source=shipped))
    assert f"Clinic settings: {shipped}" in text


def test_the_smoke_hook_closes_the_window_after_the_check_page_is_painted(
    qtbot: QtBot,
    bridge: Bridge,
    profile: ClinicProfile,
    devices: FakeDevices,
    check: ScriptedCheck,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    window = MainWindow(profile, bridge, devices, check)
    qtbot.addWidget(window)
    assert close_after_first_paint_if_asked(window) is None  # not asked: nothing watches
    monkeypatch.setenv("TANDEM_SMOKE", "paint")
    hook = close_after_first_paint_if_asked(window)
    assert hook is not None and not hook.painted
    try:
        window.show()
        qtbot.waitUntil(lambda: hook.painted and not window.isVisible(), timeout=10_000)
        assert PAINTED_LINE in capsys.readouterr().out.splitlines()
    finally:
        window.shutdown()
