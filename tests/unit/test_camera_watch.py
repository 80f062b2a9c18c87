"""CameraWatch, the self view's judge of a camera that stopped: a stall shorter than
CAMERA_LOST_AFTER_S is a hiccup, a longer one after good frames is a loss, said once, and a
frame that comes back ends it. Time is a fake clock."""

from __future__ import annotations

from app.call.camera_watch import CAMERA_LOST_AFTER_S, CameraWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stall_shorter_than_the_grace_time_is_a_hiccup() -> None:
    clock = Clock()
    watch = CameraWatch(now=clock)
    assert not watch.frame()
    clock.now += CAMERA_LOST_AFTER_S - 0.01
    assert not watch.failed()
    assert not watch.lost
    assert not watch.frame()  # no loss to end


def test_a_loss_is_said_once_and_a_frame_ends_it() -> None:
    clock = Clock()
    watch = CameraWatch(now=clock)
    watch.frame()
    clock.now += 0.5
    assert not watch.failed()
    clock.now = 100.0 + CAMERA_LOST_AFTER_S
    assert watch.failed()
    assert watch.lost
    for later in (103.0, 110.0, 500.0):
        clock.now = later
        assert not watch.failed()  # still the same loss
    assert watch.frame()  # frames came back
    assert not watch.lost
    assert not watch.frame()


def test_a_second_loss_counts_from_the_frame_that_came_back() -> None:
    clock = Clock()
    watch = CameraWatch(now=clock)
    watch.frame()
    clock.now = 103.0
    assert watch.failed()
    clock.now = 104.0
    assert watch.frame()
    clock.now = 104.0 + CAMERA_LOST_AFTER_S - 0.01
    assert not watch.failed()
    clock.now = 104.0 + CAMERA_LOST_AFTER_S
    assert watch.failed()


def test_a_camera_that_never_gave_a_frame_is_not_lost() -> None:
    # "Could not start" is the opener's to say, and a camera still starting is waiting.
    clock = Clock()
    watch = CameraWatch(now=clock)
    for at in (100.0, 105.0, 1000.0):
        clock.now = at
        assert not watch.failed()
    assert not watch.lost


def test_a_reader_that_knows_the_device_opened_can_start_the_clock_itself() -> None:
    clock = Clock()
    watch = CameraWatch(now=clock)
    assert not watch.started
    watch.start_clock()  # the call's video track: opened, but no frame of its own yet
    assert watch.started
    clock.now += 1.0
    watch.start_clock()  # only the first call counts
    clock.now += CAMERA_LOST_AFTER_S - 1.0
    assert watch.failed()
    assert watch.frame()  # and a frame ends that loss as any other
