"""Practice mode: the embedded server starts off the GUI thread, the banner says so."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.profile import ClinicProfile
from app.server.embedded import start_practice_server
from app.ui.main import load_profile_or_explain
from app.ui.main_window import PRACTICE_TEXT, MainWindow

pytestmark = pytest.mark.gui


def test_practice_mode_starts_the_local_server_and_stops_it(
    qtbot: QtBot, window: MainWindow
) -> None:
    page = window.preflight
    window.start_practice_mode(start_practice_server)
    assert window.mode_banner.text() == "Starting practice mode…"
    assert page.wait_note.text() == "Starting practice mode on this computer…"
    assert not page.check_button.isEnabled()
    with qtbot.waitSignal(window.practice_ready, timeout=10_000) as ready:
        pass
    url = ready.args[0]
    assert url.startswith("http://127.0.0.1:")
    assert window.mode_banner.text() == PRACTICE_TEXT
    assert page.check_button.isEnabled()
    assert page.choice().server_url == url
    server = window.practice_server
    assert server is not None
    window.shutdown()
    assert window.practice_server is None


def test_closing_before_a_queued_practice_start_ran_calls_it_off(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Closing the window in its first moments calls off a start still waiting for a worker
    (it used to wait up to 10 s for it, then start a server nobody would stop)."""
    release = threading.Event()
    busy = [window.bridge.run_blocking(release.wait, 30) for _ in range(8)]  # every worker busy
    started: list[str] = []

    def start() -> object:
        started.append("ran")
        return start_practice_server()

    try:
        window.start_practice_mode(start)  # type: ignore[arg-type]
        window.shutdown()
    finally:
        release.set()
    for future in busy:
        future.result(timeout=10)
    # The pool runs in order: had the start not been called off, it would have run by now.
    window.bridge.run_blocking(lambda: None).result(timeout=10)
    assert started == []
    assert window.practice_server is None


@pytest.mark.allow_log_warnings("app.ui.main_window")
def test_a_practice_server_that_fails_is_explained(qtbot: QtBot, window: MainWindow) -> None:
    def broken() -> object:
        raise RuntimeError("The practice server could not start: address in use")

    window.start_practice_mode(broken)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: "could not start" in window.mode_banner.text())
    assert window.preflight.check_button.isEnabled()


@pytest.mark.allow_log_warnings("app.ui.main")
def test_a_broken_profile_is_explained_then_practice_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, styled_app: object
) -> None:
    bad = tmp_path / "clinic-profile.toml"
    bad.write_text("[servers]\nsession = 'ftp://nope'\n", encoding="utf-8")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    profile = load_profile_or_explain(bad)
    assert profile == ClinicProfile()
    assert profile.practice_mode
    assert len(shown) == 1 and "servers.session" in shown[0] and "practice mode" in shown[0]
