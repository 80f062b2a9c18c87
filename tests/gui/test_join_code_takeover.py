"""The app whose join code is used on another device mid-call: it says so in plain words, says
what to do, and does not reconnect into a fight over the seat (the real embedded server and a
real headless participant holding the same code)."""

from __future__ import annotations

import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.call.refusal_words import PLAIN_WORDS, way_out
from app.practice import headless_command
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from app.ui.main_window import MainWindow
from tests.gui.call_helpers import (
    ROOT,
    HeadlessPeer,
    clinic_window,
    headless_peers,
    room_members,
    session_server,
)
from tests.gui.fakes import FakeDevices

pytestmark = [pytest.mark.gui, pytest.mark.slow]
__all__ = ["clinic_window", "headless_peers", "session_server"]  # fixtures

ROOM = "couple-takeover"


@pytest.mark.allow_log_warnings("app.server.seats")
def test_the_person_is_told_their_code_was_used_elsewhere(
    qtbot: QtBot,
    clinic_window: MainWindow,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
    devices: FakeDevices,
) -> None:
    window, page = clinic_window, clinic_window.call_page
    sams_code = mint_token(session_server.config.secret, ROOM, "partner", "Sam", 600)
    assert window.join_session(token=sams_code)
    qtbot.waitUntil(lambda: len(room_members(session_server, ROOM)) == 1, timeout=15_000)

    other_device = HeadlessPeer(
        subprocess.Popen(
            [*headless_command(session_server.url, camera="none", mic="none"), "--token",
             sams_code],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
    )  # fmt: skip
    headless_peers.append(other_device)
    qtbot.waitUntil(lambda: page.stage.currentWidget() is page.problem, timeout=30_000)
    text = page.problem_text.text()
    assert text.startswith(PLAIN_WORDS["replaced"])
    assert "used to join the session on another device" in text
    phone = "join by phone on +1 555 0123,,4567#"  # the profile's dial-in number, named
    assert "call your clinic" in text and way_out("replaced", phone) in text
    assert page.problem_title.text() == "The call could not continue"  # it had started
    assert not page.in_call
    # The camera and microphone are let go at once (the light goes off), not at exit.
    assert devices.opened_cameras
    qtbot.waitUntil(lambda: not any(c.is_open for c in devices.opened_cameras), timeout=10_000)
    # The other device keeps the seat: the app never joined again to take it back.
    qtbot.waitUntil(lambda: other_device.printed("joined"), timeout=15_000)
    assert not other_device.printed("error") and other_device.process.poll() is None
    assert len(room_members(session_server, ROOM)) == 1
    QTest.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.preflight
