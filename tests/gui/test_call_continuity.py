"""The call page while a call rides out a bad network: an interrupted person's tile (dimmed,
"Reconnecting to Sam… 4 s", never "left"), the dial-in numbers after 10 s, the paused-video
banner and its choices, voice tiles, the session server reconnecting, and the chat.

The page is in a real call (the real embedded server, the real engine); the continuity events
are handed to it on the GUI thread exactly as the bridge delivers them (`call_event`), with the
page's clock replaced so seconds pass on request. test_a_real_call_... uses a real participant.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.call.engine import MAX_CHAT_CHARS
from app.call.events import (
    CallEvent,
    CallState,
    ChatReceived,
    ChatStatus,
    MediaModeChanged,
    Peer,
    PeerInterrupted,
    PeerJoined,
    PeerLeft,
    PeerRestored,
    Reconnected,
    Reconnecting,
    ServerSwitched,
)
from app.call.setup import JOIN_TOKEN_ENV
from app.profile import ClinicProfile, PhoneNumber
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from app.ui.call_notices import SERVER_RECONNECTING, SERVER_SWITCHED
from app.ui.call_page import CallPage
from app.ui.continuity_state import STAYING_ON_AUDIO, VIDEO_PAUSED, PauseView
from app.ui.dial_in_panel import CALL_CLINIC_LEAD, DIAL_IN_LEAD, HELP_STAYS, NO_NUMBERS, DialInPanel
from app.ui.main_window import MainWindow
from app.ui.video_tile import VOICE_ONLY_WORDS
from tests.gui.call_helpers import (
    HeadlessPeer,
    clinic_window,
    headless_peers,
    session_server,
    start_headless,
)
from tests.gui.helpers import clipped_widgets

pytestmark = [pytest.mark.gui, pytest.mark.slow]
__all__ = ["clinic_window", "headless_peers", "session_server"]  # fixtures

ROOM = "couple-continuity"
LEFT_CLICK = Qt.MouseButton.LeftButton
SAM = Peer("p-sam", "Sam", "partner")
RIVERA = Peer("p-rivera", "Dr. Rivera", "therapist")


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def join(qtbot: QtBot, window: MainWindow, server: EmbeddedServer) -> CallPage:
    token = mint_token(server.config.secret, ROOM, "partner", "Alex", 600)
    assert window.join_session(token=token)
    page = window.call_page
    qtbot.waitUntil(lambda: page.state is CallState.WAITING, timeout=15_000)
    return page


@pytest.fixture
def in_call(
    qtbot: QtBot, clinic_window: MainWindow, session_server: EmbeddedServer
) -> Iterator[tuple[MainWindow, CallPage, Clock]]:
    """In the room with Sam and Dr. Rivera on the roster; the page's clock is ours."""
    page = join(qtbot, clinic_window, session_server)
    clock = Clock()
    page.continuity.now = clock
    send(page, PeerJoined(clock.now, SAM), PeerJoined(clock.now, RIVERA))
    yield clinic_window, page, clock


def send(page: CallPage, *events: CallEvent) -> None:
    """As the bridge delivers engine events: `call_event` on the GUI thread."""
    for event in events:
        page._bridge.call_event.emit(event)


def engine_choice(page: CallPage) -> str:
    call = page._call
    assert call is not None and call.engine is not None
    return call.engine._video_choice


def test_an_interrupted_person_is_reconnecting_not_gone_and_the_dial_in_numbers_follow(
    qtbot: QtBot, in_call: tuple[MainWindow, CallPage, Clock], profile: ClinicProfile
) -> None:
    window, page, clock = in_call
    tile = page.tiles[SAM.peer_id]
    page.store.put(SAM.peer_id, np.full((360, 640, 3), 200, np.uint8))
    qtbot.waitUntil(lambda: tile.frames_drawn >= 1)
    dial_in = page.continuity.dial_in
    assert not dial_in.isVisible()

    send(page, PeerInterrupted(clock.now, SAM.peer_id, "no_media"))
    assert tile.interrupted == "Reconnecting to Sam… 0 s"
    assert tile.status_text == tile.interrupted
    assert tile._image is not None  # the last picture stays, dimmed under the words
    assert "Reconnecting to Sam… 0 s" in tile.accessibleDescription()
    assert "left" not in tile.accessibleDescription().lower()
    assert page.tiles[RIVERA.peer_id].interrupted is None
    # The counter moves by itself, each second (the page's timer reads the clock).
    clock.now += 4
    qtbot.waitUntil(lambda: tile.interrupted == "Reconnecting to Sam… 4 s", timeout=3000)
    assert not dial_in.isVisible()

    clock.now += 6  # 10 s since the event: the clinic's numbers, in the call
    qtbot.waitUntil(dial_in.isVisible, timeout=3000)
    numbers = [label.text() for label in dial_in.number_labels]
    assert numbers == [p.number for p in profile.dial_in_numbers]
    assert HELP_STAYS in dial_in.accessibleDescription()
    assert window.emergency_button.isVisible()
    copy = dial_in.copy_buttons[0]
    dial_in._reset_timer.setInterval(50)
    QTest.mouseClick(copy, LEFT_CLICK)
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None and clipboard.text() == profile.dial_in_numbers[0].number
    assert copy.text() == "Copied"
    qtbot.waitUntil(lambda: copy.text() == "Copy", timeout=3000)

    # Back: at once, and the numbers go (nobody is out any more).
    send(page, PeerRestored(clock.now, SAM.peer_id, 10_000.0))
    assert tile.interrupted is None and tile.status_text == ""
    assert tile.accessibleDescription() == "Sam · Partner"
    assert not dial_in.isVisible()

    # Someone who really leaves still leaves: the tile goes, nothing keeps counting.
    send(page, PeerInterrupted(clock.now, SAM.peer_id, "peer_reconnecting"))
    send(page, PeerLeft(clock.now, SAM.peer_id, "timeout"))
    assert SAM.peer_id not in page.tiles
    assert page.continuity.interruptions.peers == ()


def test_without_dial_in_numbers_the_panel_says_to_call_the_clinic(qtbot: QtBot) -> None:
    clinic = PhoneNumber("Clinic front desk", "+1 555 0100")
    panel = DialInPanel(ClinicProfile(clinic_phone=clinic))
    qtbot.addWidget(panel)
    assert CALL_CLINIC_LEAD in panel.announcement and clinic.number in panel.announcement
    assert [label.text() for label in panel.number_labels] == [clinic.number]
    panel.set_profile(ClinicProfile())
    assert panel.number_labels == [] and panel.copy_buttons == []
    assert panel.announcement == f"{NO_NUMBERS} {HELP_STAYS}"
    dial_in = PhoneNumber("Session dial-in", "+1 555 0123")
    panel.set_profile(ClinicProfile(clinic_phone=clinic, dial_in_numbers=(dial_in,)))
    assert DIAL_IN_LEAD in panel.announcement
    assert [label.text() for label in panel.number_labels] == [dial_in.number]


def test_paused_video_says_why_and_the_person_chooses(
    qtbot: QtBot, in_call: tuple[MainWindow, CallPage, Clock]
) -> None:
    _, page, clock = in_call
    banner = page.continuity.pause_banner
    assert not banner.isVisible()
    send(page, MediaModeChanged(clock.now, SAM.peer_id, "send", "audio_only", "loss"))
    assert banner.isVisible() and banner.text.text() == VIDEO_PAUSED
    assert banner.try_button.isVisible() and banner.stay_button.isVisible()
    assert banner.accessibleDescription() == VIDEO_PAUSED
    # Our video paused: the others' tiles are not voice tiles.
    assert not page.tiles[SAM.peer_id].voice_only

    QTest.mouseClick(banner.try_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: engine_choice(page) == "try_video")
    send(page, MediaModeChanged(clock.now, SAM.peer_id, "send", "video", "user"))
    assert not banner.isVisible()

    send(page, MediaModeChanged(clock.now, SAM.peer_id, "send", "audio_only", "rtt"))
    QTest.mouseClick(banner.stay_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: engine_choice(page) == "audio_only")
    assert banner.view is PauseView.STAYING and banner.text.text() == STAYING_ON_AUDIO
    assert banner.back_button.isVisible() and not banner.try_button.isVisible()
    send(page, MediaModeChanged(clock.now, SAM.peer_id, "send", "video", "clean"))
    assert banner.back_button.isVisible()  # only the person brings video back
    QTest.mouseClick(banner.back_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: engine_choice(page) == "auto")
    assert not banner.isVisible()


def test_a_person_whose_video_is_paused_gets_a_voice_tile(
    in_call: tuple[MainWindow, CallPage, Clock],
) -> None:
    _, page, clock = in_call
    tile = page.tiles[RIVERA.peer_id]
    send(page, MediaModeChanged(clock.now, RIVERA.peer_id, "receive", "audio_only", "peer"))
    assert tile.voice_only and tile.status_text == VOICE_ONLY_WORDS
    assert tile.accessibleDescription() == f"Dr. Rivera · Therapist. {VOICE_ONLY_WORDS}"
    assert not page.continuity.pause_banner.isVisible()  # our own video is not paused
    send(page, MediaModeChanged(clock.now, RIVERA.peer_id, "receive", "video", "clean"))
    assert not tile.voice_only and tile.accessibleDescription() == "Dr. Rivera · Therapist"


def test_the_session_server_reconnecting_is_a_calm_line(
    qtbot: QtBot, in_call: tuple[MainWindow, CallPage, Clock]
) -> None:
    _, page, clock = in_call
    line = page.continuity.connection_line
    send(page, Reconnecting(clock.now, "peer", 1, SAM.peer_id))
    assert not line.isVisible()  # one person's link: their tile says it
    send(page, Reconnecting(clock.now, "signaling", 1), Reconnecting(clock.now, "signaling", 2))
    assert line.isVisible() and line.text() == SERVER_RECONNECTING
    assert page.state is CallState.WAITING and page.stage.currentWidget() is page.grid_host
    send(page, Reconnected(clock.now, "signaling", 1200.0))
    assert not line.isVisible()

    line._switch_timer.setInterval(50)
    send(page, ServerSwitched(clock.now, "https://a.example:443", "https://b.example:443"))
    assert line.isVisible() and line.text() == SERVER_SWITCHED
    qtbot.waitUntil(lambda: not line.isVisible(), timeout=3000)


def test_chat_by_keyboard_names_the_sender_and_says_where_own_lines_stand(
    qtbot: QtBot,
    in_call: tuple[MainWindow, CallPage, Clock],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window, page, clock = in_call
    chat, controls = page.continuity.chat, page.controls
    assert not chat.isVisible()
    caplog.set_level(logging.DEBUG, logger="app")

    send(page, ChatReceived(clock.now, RIVERA.peer_id, "Take a breath, I'm still here."))
    assert controls.chat_state.text() == "1 new message"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # Alt+H is the window's shortcut
    QTest.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.AltModifier)  # C&hat
    assert chat.isVisible() and controls.chat_open
    assert chat.input.hasFocus()
    assert chat.input_label.buddy() is chat.input and chat.input.maxLength() == MAX_CHAT_CHARS
    assert controls.chat_state.text() == "Chat is open"
    line = chat.lines[0]
    assert (line.sender_name, line.body.text()) == ("Dr. Rivera", "Take a breath, I'm still here.")
    assert line.accessibleName() == "Dr. Rivera: Take a breath, I'm still here."

    # The link for chat is down: the send fails, and the line says so instead of vanishing.
    call = page._call
    assert call is not None and call.engine is not None

    async def down(text: str) -> str:
        raise ConnectionError("no path to anyone")

    monkeypatch.setattr(call.engine, "send_chat", down)
    QTest.keyClicks(chat.input, "Can you hear me?")
    QTest.keyClick(chat.input, Qt.Key.Key_Return)
    own = chat.lines[1]
    assert own.own and own.body.text() == "Can you hear me?" and chat.input.text() == ""
    qtbot.waitUntil(lambda: own.state == "failed", timeout=5000)
    assert own.header.text() == "You · Not delivered"

    # The engine's own states: the id may come back before or after its first status.
    early, late = chat.add_own("one"), chat.add_own("two")
    chat.set_status("m-1", "retrying")
    chat.bind(early, "m-1")
    chat.bind(late, "m-2")
    send(page, ChatStatus(clock.now, "m-2", "delivered"))
    assert early.header.text() == "You · Not delivered — retrying"
    assert late.header.text() == "You · Delivered"

    # Closing by keyboard again; nothing said in the chat, and no name, is in the log.
    QTest.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.AltModifier)
    assert not chat.isVisible() and controls.chat_button.hasFocus()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "breath" not in logged and "hear me" not in logged and "Rivera" not in logged


def widget_rect(widget: QWidget, root: QWidget) -> QRect:
    return QRect(widget.mapTo(root, widget.rect().topLeft()), widget.size())


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1366, 768)])
def test_everything_at_once_fits_on_a_laptop_screen(
    qtbot: QtBot,
    in_call: tuple[MainWindow, CallPage, Clock],
    width: int,
    height: int,
    artifacts_dir: Path,
) -> None:
    window, page, clock = in_call
    window.resize(width, height)
    page.set_profile(
        replace(
            window.profile,
            dial_in_numbers=(
                *window.profile.dial_in_numbers,
                PhoneNumber("Backup dial-in", "+1 555 0199,,4567#"),
            ),
        )
    )
    start = clock.now
    send(
        page,
        PeerInterrupted(start, SAM.peer_id, "no_media"),
        MediaModeChanged(start, SAM.peer_id, "send", "audio_only", "loss"),
        MediaModeChanged(start, RIVERA.peer_id, "receive", "audio_only", "peer"),
        Reconnecting(start, "signaling", 1),
        ChatReceived(start, RIVERA.peer_id, "I can't see you, but I can hear you. Stay with me."),
    )
    QTest.mouseClick(page.controls.chat_button, LEFT_CLICK)
    page.continuity.send_chat("Sam's screen froze, we're still here")
    clock.now = start + 12
    page.continuity.tick()
    qtbot.waitUntil(page.continuity.dial_in.isVisible, timeout=3000)
    qtbot.wait(50)  # let the layouts settle after the panels appeared
    window.grab().save(str(artifacts_dir / f"call-continuity-{width}x{height}.png"))

    assert (window.width(), window.height()) == (width, height)  # nothing pushed it bigger
    assert clipped_widgets(window) == []
    shown = [
        page.status,
        page.continuity.connection_line,
        page.continuity.pause_banner,
        page.self_view,
        page.stage,
        page.continuity.dial_in,
        page.continuity.chat,
        page.controls,
        window.emergency_button,
    ]
    assert all(w.isVisible() for w in shown)
    rects = {w.objectName() or type(w).__name__: widget_rect(w, window) for w in shown}
    inside = window.rect()
    for name, rect in rects.items():
        assert inside.contains(rect), f"{name} {rect} leaves the window {inside}"
    names = list(rects)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not rects[a].intersects(rects[b]), f"{a} {rects[a]} overlaps {b} {rects[b]}"
    for tile in page.tiles.values():
        assert tile.width() >= 240 and tile.height() >= 135

    # Every new control is on the Tab path.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.emergency_button.setFocus()
    reached: list[QWidget] = []
    for _ in range(40):
        focused = window.focusWidget()
        assert focused is not None
        QTest.keyClick(focused, Qt.Key.Key_Tab)
        reached.append(window.focusWidget())
    continuity = page.continuity
    for widget in (
        continuity.pause_banner.try_button,
        continuity.pause_banner.stay_button,
        *continuity.dial_in.copy_buttons,
        continuity.chat.input,
        continuity.chat.send_button,
        page.controls.chat_button,
    ):
        assert widget in reached, widget.accessibleName()


@pytest.mark.allow_log_warnings("app.call")
def test_a_real_call_keeps_the_last_picture_while_reconnecting_and_chat_never_crashes(
    qtbot: QtBot,
    clinic_window: MainWindow,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
    monkeypatch: pytest.MonkeyPatch,
    artifacts_dir: Path,
) -> None:
    window, page = clinic_window, clinic_window.call_page
    monkeypatch.setenv(
        JOIN_TOKEN_ENV, mint_token(session_server.config.secret, ROOM, "partner", "Alex", 600)
    )
    assert window.join_session()
    therapist = start_headless(session_server, ROOM, "therapist", "Dr. Rivera")
    headless_peers.append(therapist)
    qtbot.waitUntil(lambda: page.state is CallState.CONNECTED, timeout=20_000)
    ((peer_id, tile),) = page.tiles.items()
    qtbot.waitUntil(lambda: tile.frames_drawn >= 5, timeout=20_000)

    clock = Clock()
    page.continuity.now = clock
    send(page, PeerInterrupted(clock.now, peer_id, "no_media"))
    assert tile.interrupted == "Reconnecting to Dr. Rivera… 0 s"
    drawn = tile.frames_drawn
    qtbot.waitUntil(lambda: tile.frames_drawn > drawn, timeout=5000)  # video goes on under it
    assert tile._image is not None and tile.interrupted is not None
    clock.now += 11
    qtbot.waitUntil(page.continuity.dial_in.isVisible, timeout=3000)
    window.grab().save(str(artifacts_dir / "call-reconnecting.png"))
    send(page, PeerRestored(clock.now, peer_id, 11_000.0))
    assert tile.interrupted is None and not page.continuity.dial_in.isVisible()

    # A line through the real engine: delivered once chat is built, or "Not delivered"
    # while its send_chat is a stub; either way the page keeps going.
    QTest.mouseClick(page.controls.chat_button, LEFT_CLICK)
    chat = page.continuity.chat
    QTest.keyClicks(chat.input, "hello")
    QTest.keyClick(chat.input, Qt.Key.Key_Return)
    line = chat.lines[-1]
    qtbot.waitUntil(lambda: line.state in ("delivered", "failed"), timeout=10_000)
    assert page.in_call and page.state is CallState.CONNECTED

    page.leave()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=15_000)
    assert not chat.lines and not page.continuity.dial_in.isVisible()


def test_a_frozen_therapist_is_reconnecting_on_the_tile_and_back_by_itself(
    qtbot: QtBot,
    clinic_window: MainWindow,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No event made up: the real engine's watchdog notices a therapist whose process stopped
    (nothing arrives), the tile says so with the last picture kept, and it clears by itself
    when the process runs again. Nobody is shown as having left."""
    window, page = clinic_window, clinic_window.call_page
    monkeypatch.setenv(
        JOIN_TOKEN_ENV, mint_token(session_server.config.secret, ROOM, "partner", "Alex", 600)
    )
    assert window.join_session()
    therapist = start_headless(session_server, ROOM, "therapist", "Dr. Rivera")
    headless_peers.append(therapist)
    qtbot.waitUntil(lambda: page.state is CallState.CONNECTED, timeout=20_000)
    ((peer_id, tile),) = page.tiles.items()
    qtbot.waitUntil(lambda: tile.frames_drawn >= 5, timeout=20_000)

    therapist.process.send_signal(signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: tile.interrupted is not None, timeout=10_000)
        assert (tile.interrupted or "").startswith("Reconnecting to Dr. Rivera…")
        assert tile._image is not None  # the last picture stays, dimmed
        drawn = tile.frames_drawn
    finally:
        therapist.process.send_signal(signal.SIGCONT)
    qtbot.waitUntil(lambda: tile.interrupted is None, timeout=20_000)
    qtbot.waitUntil(lambda: tile.frames_drawn > drawn, timeout=20_000)
    assert page.tiles.get(peer_id) is tile and page.state is CallState.CONNECTED
    page.leave()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=15_000)
