"""Start the desktop app: profile, stylesheet, bridge, window, practice mode; clean up on exit."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QMessageBox

from app.profile import ClinicProfile, read_profile
from app.ui.assets import icon, stylesheet
from app.ui.bridge import Bridge
from app.ui.first_paint import close_after_first_paint_if_asked
from app.ui.main_window import MainWindow
from app.ui.services import SystemDevices, equipment_check

log = logging.getLogger(__name__)

BASE_FONT_PT = 12


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv[:1])
    app.setApplicationName("Tandem")
    app.setApplicationDisplayName("Tandem")
    # The installed tandem.desktop: Wayland shows its icon and name for the window.
    app.setDesktopFileName("tandem")
    app.setWindowIcon(icon("tandem"))
    font = QFont(app.font())
    font.setPointSize(max(BASE_FONT_PT, font.pointSize()))
    app.setFont(font)
    app.setStyleSheet(stylesheet())
    return app


def load_profile_or_explain(path: Path | None) -> ClinicProfile:
    """The clinic profile with every setting that can be used; say in plain words what was not.

    A bad value costs only that setting, so the crisis card keeps the clinic's numbers; a file
    that cannot be read at all leaves the defaults, and the crisis card says to call the clinic.
    """
    profile = read_profile(path)
    if not profile.problems:
        return profile
    for problem in profile.problems:
        log.warning("clinic profile: %s", problem.detail)
    title, text = profile_problem_message(profile)
    QMessageBox.warning(None, title, text)
    return profile


def profile_problem_message(profile: ClinicProfile) -> tuple[str, str]:
    """The title and text of the warning about a profile with problems."""
    practice = (
        "Tandem will open in practice mode, on this computer only." if profile.practice_mode else ""
    )
    if profile.unreadable:
        lines = [
            profile.problems[0].plain,
            practice,
            "The “Get help now” card still shows the crisis line. Call your clinic for their "
            "phone numbers and ask them for a new settings file.",
        ]
        return "Tandem: clinic settings not read", "\n\n".join(line for line in lines if line)
    left_out = "\n".join(f"• {problem.plain}" for problem in profile.problems)
    lines = [
        "Tandem could not use everything in your clinic's settings file:",
        left_out,
        f"Everything else in the file is in use. {practice}".strip(),
        "Ask your clinic for a corrected settings file.",
    ]
    return "Tandem: some clinic settings left out", "\n\n".join(lines)


def practice_profile(profile: ClinicProfile) -> ClinicProfile:
    """The clinic's profile without its servers: practice always runs on the local server.

    Everything else (the clinic's name, minimum speeds, crisis and phone numbers) still applies.
    """
    return dataclasses.replace(profile, server_url=None, backup_server_url=None)


def run_app(profile_path: Path | None, force_practice: bool, camera: str | None = None) -> int:
    """`camera`: a camera source from the command line; it wins over the profile's."""
    app = make_application()
    profile = load_profile_or_explain(profile_path)
    if force_practice:
        profile = practice_profile(profile)
    _import_speedtest_now()
    bridge = Bridge()
    devices = SystemDevices(camera_source=camera or profile.camera_source)
    window = MainWindow(profile, bridge, devices, equipment_check())
    if profile.practice_mode:
        from app.practice import start_practice_server

        window.start_practice_mode(start_practice_server)
    window.show()
    # Smoke tests only (app/smoke.py). Held here: the event filter must outlive the event loop.
    smoke_hook = close_after_first_paint_if_asked(window)
    try:
        code = app.exec()
    finally:
        del smoke_hook
        window.shutdown()
        bridge.close()
    return int(code)


def _import_speedtest_now() -> None:
    """speedtest-cli swaps sys.stdout/stderr while it is first imported: do it now, on the main
    thread, before any worker could print in that moment."""
    try:
        from app.net.bandwidth_probe import import_speedtest

        import_speedtest()
    except Exception as exc:  # the bandwidth check reports this itself, in plain words
        log.warning("speedtest-cli not available: %s", exc)
