"""The call page while the call is still connecting, against the real embedded server: clicks
made before the engine exists count, Leave leaves nobody behind and ends "left", a camera
that cannot start is said in words and not tried again on every frame, and one that stops
mid-call or in the waiting room is said in words instead of a frozen picture."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.call.events import CallEvent, CallState, LocalDeviceProblem
from app.call.setup import CallSetup
from app.devices.base import Camera, DeviceError, DeviceProblem
from app.devices.fakes import FakeCamera, FakeMicrophone, FakeSpeaker
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from app.ui.bridge import Bridge
from app.ui.call_page import (
    CAMERA_FAILED,
    CAMERA_LOST,
    CAMERA_LOST_NOTE,
    CAMERA_NOT_WORKING,
    CAMERA_OFF,
    CAMERA_OFF_NOTE,
    NO_CAMERA,
    CallPage,
    camera_problem_words,
)
from tests.gui.call_helpers import (
    HeadlessPeer,
    headless_peers,
    hold_joins,
    room_members,
    session_server,
    shown,
    start_headless,
)

pytestmark = [pytest.mark.gui, pytest.mark.slow]
__all__ = ["headless_peers", "session_server"]  # fixtures

ROOM = "couple-7"
LEFT_CLICK = Qt.MouseButton.LeftButton


class CountingCamera(FakeCamera):
    """A fake camera that counts how often something tried to open the device."""

    def __init__(self, fail: DeviceProblem | None = None) -> None:
        super().__init__(fail=fail)
        self.opens = 0

    def open(self, timeout: float = 3.0) -> None:
        self.opens += 1
        super().open(timeout)


def held_camera(hold: threading.Event, made: list[CountingCamera]) -> Callable[[], Camera]:
    """A camera maker that waits for `hold`: the call's devices are still opening until then."""

    def make() -> Camera:
        if not hold.wait(20):
            raise DeviceError(DeviceProblem.TIMEOUT, "the test never let the camera open")
        made.append(CountingCamera())
        return made[-1]

    return make


def call_setup(
    server: EmbeddedServer, make_camera: Callable[[], Camera] | None = None
) -> CallSetup:
    token = mint_token(server.config.secret, ROOM, "partner", "Sam", 600)
    return CallSetup(
        server.url,
        token,
        make_camera=make_camera,
        make_microphone=FakeMicrophone,
        make_speaker=FakeSpeaker,
        allow_loopback=True,  # the headless therapist is on loopback too
    )


@pytest.fixture
def page(qtbot: QtBot, bridge: Bridge) -> Iterator[CallPage]:
    yield from shown(qtbot, CallPage(bridge), 1000, 700)


def said_in_the_self_view(page: CallPage) -> list[str]:
    """Every message the self view's tile is given from now on."""
    said: list[str] = []
    set_message = page.self_view.set_message

    def record(message: str) -> None:
        said.append(message)
        set_message(message)

    page.self_view.set_message = record  # type: ignore[method-assign]
    return said


def engine_reports(page: CallPage) -> list[LocalDeviceProblem]:
    """The engine's LocalDeviceProblem events from now on (on the GUI thread)."""
    reported: list[LocalDeviceProblem] = []

    def listen(event: CallEvent) -> None:
        if isinstance(event, LocalDeviceProblem):
            reported.append(event)

    page._bridge.call_event.connect(listen)
    return reported


def test_mute_and_camera_off_pressed_while_connecting_are_kept(
    qtbot: QtBot, page: CallPage, session_server: EmbeddedServer
) -> None:
    hold = threading.Event()
    cameras: list[CountingCamera] = []
    page.start(call_setup(session_server, held_camera(hold, cameras)))
    call = page._call
    assert call is not None
    session = call.session
    try:
        assert page.state is CallState.JOINING
        QTest.mouseClick(page.controls.mute_button, LEFT_CLICK)
        QTest.mouseClick(page.controls.camera_button, LEFT_CLICK)
        qtbot.waitUntil(lambda: session.muted and not session.camera_on)
        assert session.engine is None  # the devices are still opening
    finally:
        hold.set()

    qtbot.waitUntil(lambda: page.state is CallState.WAITING, timeout=15_000)
    engine = call.engine
    assert engine is not None
    audio, video = engine.media.audio, engine.media.video
    assert audio is not None and video is not None
    assert engine.media.muted and audio.muted
    assert not engine.media.camera_enabled and not video.enabled
    assert cameras[0].opens == 0  # switched off before it opened: never opened at all
    assert page.self_view.message == CAMERA_OFF
    assert page.self_note.text() == CAMERA_OFF_NOTE and page.self_note.isVisible()

    # Switching the camera on opens it now; unmuting reaches the track.
    QTest.mouseClick(page.controls.camera_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= 2, timeout=10_000)
    qtbot.waitUntil(lambda: video.enabled)
    assert cameras[0].opens == 1
    QTest.mouseClick(page.controls.mute_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: not audio.muted)


def test_leave_while_the_devices_open_leaves_nobody_in_the_room(
    qtbot: QtBot, page: CallPage, session_server: EmbeddedServer
) -> None:
    hold = threading.Event()
    cameras: list[CountingCamera] = []
    page.start(call_setup(session_server, held_camera(hold, cameras)))
    call = page._call
    assert call is not None and call.join_future is not None
    try:
        with qtbot.waitSignal(page.finished, timeout=15_000) as finished:
            QTest.mouseClick(page.controls.leave_button, LEFT_CLICK)
            QTest.mouseClick(page.leave_confirm.leave_button, LEFT_CLICK)  # "Leave the session?"
            assert page.status.text() == "Leaving the session…"
            hold.set()  # the camera finishes opening only after the person pressed Leave
    finally:
        hold.set()

    assert finished.args == ["left"]
    assert page.stage.currentWidget() is not page.problem
    # Leave waited for the join, which stopped before it reached the server.
    assert call.join_future.done() and call.join_future.result() is False
    assert call.engine is None
    assert room_members(session_server, ROOM) == []
    assert cameras[0].opens == 0 and not cameras[0].is_open


def test_leave_while_the_server_lets_us_in_ends_left_with_nobody_behind(
    qtbot: QtBot, page: CallPage, session_server: EmbeddedServer
) -> None:
    held = hold_joins(session_server)
    problem_shown: list[bool] = []
    page.stage.currentChanged.connect(
        lambda index: problem_shown.append(page.stage.widget(index) is page.problem)
    )
    page.start(call_setup(session_server))
    # No camera at all in this call: the camera button says so rather than "Camera is on".
    assert page.controls.camera_state.text() == NO_CAMERA
    call = page._call
    assert call is not None and call.join_future is not None
    try:
        qtbot.waitUntil(held.entered.is_set, timeout=10_000)  # join() is waiting for welcome
        assert page.state is CallState.JOINING
        with qtbot.waitSignal(page.finished, timeout=10_000) as finished:
            QTest.mouseClick(page.controls.leave_button, LEFT_CLICK)
            QTest.mouseClick(page.leave_confirm.leave_button, LEFT_CLICK)  # "Leave the session?"
        # Leaving did not wait on the server, which still holds the join at the door.
        assert not held.done.is_set()
    finally:
        held.release()

    assert finished.args == ["left"]
    assert not any(problem_shown) and page.stage.currentWidget() is not page.problem
    assert call.join_future.done() and call.join_future.result() is False
    engine = call.engine
    assert engine is not None and engine.state is CallState.LEFT
    # The server finishes letting the join in, then finds the person gone: once it has,
    # nobody is left in the room (an invisible participant would stay for good).
    qtbot.waitUntil(held.done.is_set, timeout=10_000)
    qtbot.waitUntil(lambda: room_members(session_server, ROOM) == [], timeout=10_000)


def test_without_a_camera_no_control_says_the_person_is_seen(
    qtbot: QtBot, page: CallPage, session_server: EmbeddedServer
) -> None:
    # Issue 10 item 4: "Stop camera", "Start camera" once left "Starting your camera…" and
    # "Camera is on" for a camera that does not exist.
    page.start(call_setup(session_server))
    controls = page.controls
    try:
        qtbot.waitUntil(lambda: page.state is CallState.WAITING, timeout=15_000)
        assert not controls.camera_button.isEnabled()
        assert "stop" not in controls.camera_button.text().lower()
        assert "start" not in controls.camera_button.text().lower()
        assert controls.camera_state.text() == NO_CAMERA
        assert page.self_view.message == NO_CAMERA
        QTest.mouseClick(controls.camera_button, LEFT_CLICK)  # disabled: nothing happens
        assert controls.camera_state.text() == NO_CAMERA
        # Even if the switch is thrown (a shortcut, a stale signal), the words stay true.
        page._set_camera(False)
        page._set_camera(True)
        assert page.self_view.message == NO_CAMERA
        assert controls.camera_state.text() == NO_CAMERA
        assert controls.camera_button.accessibleDescription() == NO_CAMERA
    finally:
        with qtbot.waitSignal(page.finished, timeout=10_000):
            QTest.mouseClick(controls.leave_button, LEFT_CLICK)
            QTest.mouseClick(page.leave_confirm.leave_button, LEFT_CLICK)  # "Leave the session?"


@pytest.mark.allow_log_warnings("app.call.session", "app.call.video_tracks")
def test_a_camera_that_cannot_start_is_explained_and_not_retried_every_frame(
    qtbot: QtBot,
    page: CallPage,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
) -> None:
    camera = CountingCamera(fail=DeviceProblem.BUSY)
    page.start(call_setup(session_server, lambda: camera))
    words = camera_problem_words(DeviceError(DeviceProblem.BUSY))
    assert "could not start" in words and "another program" in words
    assert "can still hear you" in words and "stop and start your camera" in words
    qtbot.waitUntil(lambda: page.self_note.text() == words, timeout=10_000)
    assert page.self_note.isVisible() and page.self_view.message == CAMERA_FAILED
    assert page.self_view.accessibleDescription() == f"{CAMERA_FAILED}. {words}"
    # The button is still "on" (the person's choice) but does not claim the camera works.
    assert page.controls.camera_state.text() == CAMERA_NOT_WORKING
    assert page.controls.camera_button.accessibleDescription() == CAMERA_NOT_WORKING
    qtbot.waitUntil(lambda: page.state is CallState.WAITING, timeout=15_000)

    # With a therapist in the call, our video track asks for a frame 15 times a second.
    therapist = start_headless(session_server, ROOM, "therapist", "Dr. Rivera")
    headless_peers.append(therapist)
    qtbot.waitUntil(lambda: page.state is CallState.CONNECTED, timeout=20_000)
    tile = next(iter(page.tiles.values()))
    qtbot.waitUntil(lambda: tile.frames_drawn >= 15, timeout=20_000)
    assert camera.opens == 1
    assert page.self_view.message == CAMERA_FAILED and page.self_note.text() == words

    # Off and on again is the person's retry: one more attempt, explained again.
    controls = page.controls
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    assert page.self_view.message == CAMERA_OFF and page.self_note.text() == CAMERA_OFF_NOTE
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: page.self_note.text() == words, timeout=10_000)
    assert camera.opens == 2 and page.self_view.message == CAMERA_FAILED

    # Once the other program lets go, off and on again brings the picture back.
    camera.fail = None
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= 2, timeout=10_000)
    assert camera.opens == 3 and not page.self_note.isVisible()
    assert page.controls.camera_state.text() == "Camera is on"


@pytest.mark.allow_log_warnings("app.call.video_tracks")
def test_a_camera_that_stops_mid_call_is_explained_instead_of_a_frozen_picture(
    qtbot: QtBot,
    page: CallPage,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
) -> None:
    camera = FakeCamera()
    page.start(call_setup(session_server, lambda: camera))
    therapist = start_headless(session_server, ROOM, "therapist", "Dr. Rivera")
    headless_peers.append(therapist)
    qtbot.waitUntil(lambda: page.state is CallState.CONNECTED, timeout=20_000)
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= 2, timeout=10_000)
    assert page.controls.camera_state.text() == "Camera is on"

    said = said_in_the_self_view(page)
    reported = engine_reports(page)
    camera.fail_on_read = DeviceProblem.FAILED  # unplugged: every read fails from now on
    qtbot.waitUntil(lambda: page.self_view.message == CAMERA_LOST, timeout=10_000)
    # The self view's reader and the call's video track both notice: said once all the same.
    qtbot.waitUntil(lambda: len(reported) == 1, timeout=10_000)
    assert said.count(CAMERA_LOST) == 1
    assert page.self_note.text() == (
        "Your camera stopped working. The others can still hear you. "
        "To try again, stop and start your camera."
    )
    assert page.self_note.isVisible() and page.self_note.text() == CAMERA_LOST_NOTE
    assert page.self_view._image is None  # the words, not the last picture frozen
    assert page.self_view.accessibleDescription() == f"{CAMERA_LOST}. {CAMERA_LOST_NOTE}"
    assert page.controls.camera_state.text() == CAMERA_NOT_WORKING
    assert page.state is CallState.CONNECTED  # the call goes on with sound
    assert page.stage.currentWidget() is not page.problem

    # Plugged back in, off and on again brings the picture back, and the words go.
    controls = page.controls
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    assert controls.camera_state.text() == "Camera is off"
    camera.fail_on_read = None
    drawn = page.self_view.frames_drawn
    QTest.mouseClick(controls.camera_button, LEFT_CLICK)
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= drawn + 2, timeout=10_000)
    assert controls.camera_state.text() == "Camera is on" and not page.self_note.isVisible()
    assert page.self_view.message != CAMERA_LOST


def test_a_camera_that_stops_in_the_waiting_room_is_explained_and_comes_back_by_itself(
    qtbot: QtBot, page: CallPage, session_server: EmbeddedServer
) -> None:
    # Nobody else is here, so no video track pulls frames: the self view notices by itself.
    camera = FakeCamera()
    page.start(call_setup(session_server, lambda: camera))
    qtbot.waitUntil(lambda: page.state is CallState.WAITING, timeout=20_000)
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= 2, timeout=10_000)
    said = said_in_the_self_view(page)

    camera.fail_on_read = DeviceProblem.FAILED  # a loose USB cable
    qtbot.waitUntil(lambda: page.self_view.message == CAMERA_LOST, timeout=10_000)
    assert page.self_note.isVisible() and page.self_note.text() == CAMERA_LOST_NOTE
    assert page.self_view._image is None  # the words, not the last picture frozen
    assert page.self_view.accessibleDescription() == f"{CAMERA_LOST}. {CAMERA_LOST_NOTE}"
    assert page.controls.camera_state.text() == CAMERA_NOT_WORKING
    assert page.state is CallState.WAITING and page.stage.currentWidget() is page.waiting

    # The cable is pushed back in: the picture returns without switching the camera off and
    # on, and the words go.
    drawn = page.self_view.frames_drawn
    camera.fail_on_read = None
    qtbot.waitUntil(lambda: page.self_view.frames_drawn >= drawn + 2, timeout=10_000)
    assert not page.self_note.isVisible() and page.self_view.message != CAMERA_LOST
    assert page.controls.camera_state.text() == "Camera is on"
    assert page.controls.camera_on
    assert said.count(CAMERA_LOST) == 1  # once for the loss, however many reads failed
