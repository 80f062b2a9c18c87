"""Local video tracks change size and frame rate while running (set_profile)."""

from __future__ import annotations

import asyncio

import av
import pytest

from app.call.pacing import Pacer
from app.call.video_tracks import CameraVideoTrack, PatternVideoTrack
from app.devices.fakes import FakeCamera

HANG_GUARD_S = 10.0


async def frame_of(track: PatternVideoTrack | CameraVideoTrack) -> av.VideoFrame:
    frame = await asyncio.wait_for(track.recv(), HANG_GUARD_S)
    assert isinstance(frame, av.VideoFrame)
    return frame


# A high rate keeps the pacer's real waits to a millisecond or two.
async def test_pattern_track_sends_the_new_size_and_rate_from_the_next_frame() -> None:
    track = PatternVideoTrack((64, 36), 1000)
    try:
        first = await frame_of(track)
        assert (first.width, first.height) == (64, 36) and first.pts == 0
        track.set_profile((32, 18), 500)
        assert (track.size, track.fps) == ((32, 18), 500)
        second, third = await frame_of(track), await frame_of(track)
        assert (second.width, second.height) == (32, 18)
        assert (third.width, third.height) == (32, 18)
        # Timestamps (90 kHz) advance by the period each frame was sent at: 1 ms, then 2 ms.
        assert (second.pts, third.pts) == (90, 270)
        assert second.format.name == "yuv420p"
    finally:
        track.stop()


async def test_a_disabled_track_sends_black_at_the_new_size() -> None:
    track = PatternVideoTrack((64, 36), 1000)
    track.enabled = False
    try:
        track.set_profile((48, 28), 1000)
        frame = await frame_of(track)
        assert (frame.width, frame.height) == (48, 28)
        assert int(frame.to_ndarray(format="gray").max()) == 0
    finally:
        track.stop()


async def test_the_same_profile_again_changes_nothing() -> None:
    track = PatternVideoTrack((64, 36), 1000)
    try:
        await frame_of(track)
        track.set_profile((64, 36), 1000)
        assert (await frame_of(track)).pts == 90
    finally:
        track.stop()


@pytest.mark.parametrize(
    ("size", "fps"), [((0, 36), 15), ((64, 35), 15), ((63, 36), 15), ((64, 36), 0)]
)
def test_impossible_profiles_are_refused(size: tuple[int, int], fps: int) -> None:
    track = PatternVideoTrack((64, 36), 15)
    with pytest.raises(ValueError, match="cannot send"):
        track.set_profile(size, fps)
    assert (track.size, track.fps) == ((64, 36), 15)


async def test_camera_track_scales_the_camera_to_the_new_size() -> None:
    camera = FakeCamera(size=(160, 90), fps=1000.0, realtime=False)
    track = CameraVideoTrack(camera, (160, 90), 1000)
    try:
        first = await frame_of(track)
        assert (first.width, first.height) == (160, 90)
        track.set_profile((80, 46), 1000)
        second = await frame_of(track)
        assert (second.width, second.height) == (80, 46)
        assert camera.frames_read == 2
    finally:
        await track.release()
    assert not camera.is_open


def test_pacer_keeps_the_scheduled_frame_and_spaces_later_ones_at_the_new_rate() -> None:
    pacer = Pacer(10)
    pacer._next = 100.0  # the next frame is due at t=100 s
    pacer.set_rate(2)
    assert pacer._next == 100.0 and pacer._period == 0.5
