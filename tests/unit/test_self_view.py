"""The self view's camera words (app.call.self_view): every event from every state."""

from __future__ import annotations

import logging

import pytest

from app.call.self_view import (
    CAMERA_FAILED,
    CAMERA_LOST,
    CAMERA_LOST_NOTE,
    CAMERA_NOT_WORKING,
    CAMERA_OFF,
    CAMERA_OFF_NOTE,
    CAMERA_STARTING,
    NO_CAMERA,
    NO_CAMERA_NOTE,
    CameraState,
    SelfViewMachine,
    camera_problem_words,
)
from app.devices.base import DeviceError, DeviceProblem

BUSY = DeviceError(DeviceProblem.BUSY, "busy")


def machine_in(state: CameraState) -> SelfViewMachine:
    machine = SelfViewMachine()
    machine.start(has_camera=state is not CameraState.NO_CAMERA)
    if state is CameraState.OFF:
        machine.switched(False)
    elif state is CameraState.FAILED:
        machine.failed(BUSY)
    elif state is CameraState.LOST:
        machine.lost()
    assert machine.state is state
    return machine


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        (DeviceProblem.NOT_FOUND, ": no camera was found."),
        (DeviceProblem.BUSY, ": another program is using it."),
        (DeviceProblem.PERMISSION, ": Tandem is not allowed to use it."),
        (DeviceProblem.TIMEOUT, ": it did not answer in time."),
        (DeviceProblem.FAILED, "."),  # no reason worth saying: just that it could not
    ],
)
def test_the_words_for_a_camera_that_cannot_start(problem: DeviceProblem, reason: str) -> None:
    words = camera_problem_words(DeviceError(problem, "detail never shown"))
    assert words == (
        f"Your camera could not start{reason} The others can still hear you. "
        "To try again, stop and start your camera."
    )


def test_a_call_starts_with_the_camera_starting_or_without_one() -> None:
    machine = SelfViewMachine()
    view = machine.start(has_camera=True)
    assert (view.message, view.note, view.trouble, view.drop_picture) == (
        CAMERA_STARTING,
        "",
        None,
        False,
    )
    assert view.description == CAMERA_STARTING
    view = machine.start(has_camera=False)
    assert view.state is CameraState.NO_CAMERA
    assert (view.message, view.note, view.trouble) == (NO_CAMERA, NO_CAMERA_NOTE, NO_CAMERA)
    assert view.description == f"{NO_CAMERA}. {NO_CAMERA_NOTE}"
    assert machine.camera_on


def test_a_new_call_switches_the_camera_back_on() -> None:
    machine = machine_in(CameraState.OFF)
    assert not machine.camera_on
    machine.start(has_camera=True)
    assert machine.camera_on and machine.state is CameraState.STARTING


@pytest.mark.parametrize("state", [s for s in CameraState if s is not CameraState.NO_CAMERA])
def test_switching_says_the_new_choice_from_any_state(state: CameraState) -> None:
    machine = machine_in(state)
    off = machine.switched(False)
    assert (off.message, off.note, off.trouble, off.drop_picture) == (
        CAMERA_OFF,
        CAMERA_OFF_NOTE,
        None,
        True,
    )
    on = machine.switched(True)
    assert (on.message, on.note, on.trouble, on.drop_picture) == (
        CAMERA_STARTING,
        "",
        None,
        False,
    )


@pytest.mark.parametrize(
    "state", [CameraState.STARTING, CameraState.FAILED, CameraState.LOST, CameraState.NO_CAMERA]
)
def test_a_camera_that_cannot_start_is_said_while_switched_on(state: CameraState) -> None:
    machine = machine_in(state)
    view = machine.failed(BUSY)
    assert view is not None and view.state is CameraState.FAILED
    assert (view.message, view.note, view.trouble) == (
        CAMERA_FAILED,
        camera_problem_words(BUSY),
        CAMERA_NOT_WORKING,
    )
    assert view.drop_picture
    assert view.description == f"{CAMERA_FAILED}. {camera_problem_words(BUSY)}"


def test_a_late_failure_does_not_cover_camera_off() -> None:
    machine = machine_in(CameraState.OFF)
    assert machine.failed(BUSY) is None
    assert machine.state is CameraState.OFF


@pytest.mark.parametrize("state", [CameraState.STARTING, CameraState.FAILED])
def test_a_lost_camera_is_said_once(state: CameraState) -> None:
    machine = machine_in(state)
    view = machine.lost()
    assert view is not None
    assert (view.message, view.note, view.trouble, view.drop_picture) == (
        CAMERA_LOST,
        CAMERA_LOST_NOTE,
        CAMERA_NOT_WORKING,
        True,
    )
    assert machine.lost() is None  # the second reporter: already said
    assert machine.state is CameraState.LOST


def test_a_loss_after_switching_off_is_not_said() -> None:
    machine = machine_in(CameraState.OFF)
    assert machine.lost() is None
    assert machine.state is CameraState.OFF


def test_a_picture_after_a_loss_takes_the_words_back_and_a_later_loss_is_said_again() -> None:
    machine = machine_in(CameraState.LOST)
    view = machine.frame()
    assert view is not None and view.state is CameraState.STARTING
    assert (view.message, view.note, view.trouble) == (CAMERA_STARTING, "", None)
    assert machine.frame() is None  # pictures keep coming: nothing more to say
    assert machine.lost() is not None


@pytest.mark.parametrize(
    "state", [CameraState.STARTING, CameraState.OFF, CameraState.FAILED, CameraState.NO_CAMERA]
)
def test_a_picture_changes_nothing_unless_the_camera_was_lost(state: CameraState) -> None:
    machine = machine_in(state)
    assert machine.frame() is None
    assert machine.state is state


def test_changes_are_logged_without_repeats(caplog: pytest.LogCaptureFixture) -> None:
    machine = SelfViewMachine()
    with caplog.at_level(logging.INFO, logger="app.call.self_view"):
        machine.start(has_camera=True)  # starting -> starting: not a change
        machine.lost()
    assert [r.getMessage() for r in caplog.records] == ["self view: starting -> lost"]


@pytest.mark.parametrize("switches", [(False,), (False, True), (True,), (False, True, False)])
def test_a_call_without_a_camera_never_says_it_is_starting_one(switches: tuple[bool, ...]) -> None:
    # Issue 10 item 4: off then on without a camera once left "Starting your camera…" forever.
    machine = machine_in(CameraState.NO_CAMERA)
    for on in switches:
        view = machine.switched(on)
        assert view.state is CameraState.NO_CAMERA
        assert (view.message, view.note, view.trouble) == (NO_CAMERA, NO_CAMERA_NOTE, NO_CAMERA)


def test_a_camera_in_the_next_call_starts_again_after_a_call_without_one() -> None:
    machine = machine_in(CameraState.NO_CAMERA)
    assert machine.start(has_camera=True).state is CameraState.STARTING
    assert machine.switched(False).state is CameraState.OFF
    assert machine.switched(True).state is CameraState.STARTING
