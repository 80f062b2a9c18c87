"""The camera check through OpenCVCamera and OpenCV's real VideoCapture, a video file as source."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.checks.camera import check_camera
from app.checks.result import Status
from app.devices.base import DeviceError, DeviceProblem
from app.devices.camera import OpenCVCamera, list_cameras, open_camera

VideoFile = Callable[..., Path]


def test_moving_video_passes_at_its_own_frame_rate(video_file: VideoFile) -> None:
    path = video_file("pattern", fps=20.0, seconds=0.5)  # shorter than the check: it must loop
    result = check_camera(open_camera(str(path)), duration_s=1.5)
    assert result.status is Status.PASS, result
    assert result.metrics["width"] == 320 and result.metrics["height"] == 240
    assert result.metrics["fps_measured"] == pytest.approx(20.0, rel=0.2)
    assert result.metrics["frozen_ratio"] == 0.0


def test_black_video_says_covered_or_too_dark(video_file: VideoFile) -> None:
    result = check_camera(open_camera(str(video_file("black"))), duration_s=0.5)
    assert result.status is Status.FAIL
    assert result.reason == "Your camera is covered or the room is too dark"


def test_frozen_video_says_still_picture(video_file: VideoFile) -> None:
    # MJPG's first frame decodes slightly differently from the repeats: keep it to one pair.
    path = video_file("frozen", seconds=3.0)
    result = check_camera(open_camera(str(path)), duration_s=1.0)
    assert result.status is Status.FAIL and "still picture" in result.reason


def test_a_file_loops_and_frames_are_bgr(video_file: VideoFile) -> None:
    camera = OpenCVCamera(str(video_file("pattern", fps=30.0, seconds=0.2)))
    camera.open(timeout=5.0)
    try:
        frames = [camera.read(timeout=2.0) for _ in range(12)]  # 6 frames in the file
    finally:
        camera.close()
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames)
    assert np.array_equal(frames[0] // 16, frames[6] // 16)  # looped back to the start


@pytest.mark.parametrize("source", ["7", "/nonexistent/camera.avi"])
def test_missing_camera_fails_quickly_in_plain_words(source: str) -> None:
    started = time.monotonic()
    result = check_camera(open_camera(source))
    assert result.status is Status.FAIL
    assert result.reason == "We could not find a camera"
    assert time.monotonic() - started < 5.0  # a deadline, not a measurement


def test_a_file_that_is_not_a_video_fails(tmp_path: Path) -> None:
    path = tmp_path / "not-a-video.avi"
    path.write_bytes(b"hello")
    with pytest.raises(DeviceError) as raised:
        OpenCVCamera(str(path)).open(timeout=5.0)
    assert raised.value.problem is DeviceProblem.FAILED


def test_open_camera_parses_sources() -> None:
    assert OpenCVCamera(0).source == open_camera(None).source  # type: ignore[attr-defined]
    assert open_camera("2").source == 2  # type: ignore[attr-defined]
    assert open_camera("rtsp://127.0.0.1/x").source == "rtsp://127.0.0.1/x"  # type: ignore[attr-defined]


def test_list_cameras_on_a_machine_without_one() -> None:
    assert isinstance(list_cameras(), list)
