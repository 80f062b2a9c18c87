"""The camera check's thresholds and verdicts, on fake cameras and synthetic frames (no devices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.checks.camera import (
    BLACK_LUMA,
    DARK_LUMA,
    LOW_FPS,
    check_camera,
    judge,
)
from app.checks.frame_analysis import FrameAnalyser, FrameStats, to_luma
from app.checks.result import Status
from app.devices.base import DeviceProblem
from app.devices.fakes import CameraMode, FakeCamera
from app.progress import Progress

JARGON = ("fps", "luma", "dbfs", "device", "opencv", "error", "frame", "portaudio", "exception")


def run(mode: CameraMode = "pattern", **options: object) -> tuple[Status, str, dict[str, object]]:
    camera = FakeCamera(mode, size=(160, 90), realtime=False, **options)  # type: ignore[arg-type]
    result = check_camera(camera, duration_s=1.0, clock=camera.clock)
    assert not camera.is_open, "the check must close the camera"
    assert_plain(result.reason + " " + result.fix)
    return result.status, result.reason, dict(result.metrics)


def assert_plain(words: str) -> None:
    for jargon in JARGON:
        assert jargon not in words.lower(), f"{jargon!r} in {words!r}"


def test_moving_pattern_passes_with_its_frame_rate() -> None:
    status, reason, metrics = run("pattern", fps=15.0)
    assert status is Status.PASS and reason == ""
    assert metrics["fps_measured"] == pytest.approx(15.0, abs=0.5)
    assert metrics["width"] == 160 and metrics["height"] == 90
    assert metrics["frames"] == 17  # one second of intervals between the first and last frame
    assert metrics["frozen_ratio"] == 0.0


def test_fake_pattern_moves_every_frame() -> None:
    camera = FakeCamera(size=(64, 36), realtime=False)
    camera.open()
    first, second = camera.read(), camera.read()
    assert first.shape == (36, 64, 3) and first.dtype == np.uint8
    assert np.any(first != second)


@pytest.mark.parametrize(
    ("mode", "status", "words"),
    [
        ("black", Status.FAIL, "covered or the room is too dark"),
        ("dark", Status.WARN, "dark"),
        ("overexposed", Status.WARN, "too bright"),
        ("frozen", Status.FAIL, "still picture"),
    ],
)
def test_picture_faults(mode: CameraMode, status: Status, words: str) -> None:
    got, reason, _ = run(mode)
    assert got is status
    assert words in reason


def test_low_frame_rate_warns() -> None:
    status, reason, metrics = run("pattern", fps=LOW_FPS / 2)
    assert status is Status.WARN and "jerky" in reason
    assert metrics["fps_measured"] == pytest.approx(LOW_FPS / 2, abs=0.5)


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        (DeviceProblem.NOT_FOUND, "could not find a camera"),
        (DeviceProblem.BUSY, "Another program is using your camera"),
        (DeviceProblem.PERMISSION, "not allowed"),
        (DeviceProblem.TIMEOUT, "did not respond"),
        (DeviceProblem.FAILED, "not working"),
    ],
)
def test_device_problems_in_plain_words(problem: DeviceProblem, words: str) -> None:
    status, reason, metrics = run(fail=problem)
    assert status is Status.FAIL and words in reason
    assert metrics["problem"] == problem.value


def test_failure_while_capturing_closes_the_camera() -> None:
    status, reason, _ = run(fail_on_read=DeviceProblem.TIMEOUT)
    assert status is Status.FAIL and "did not respond" in reason


def test_progress_reports_rise_to_one_with_a_figure() -> None:
    reports: list[Progress] = []
    camera = FakeCamera(size=(32, 18), realtime=False)
    check_camera(camera, duration_s=1.0, progress=reports.append, clock=camera.clock)
    assert all(report.check == "camera" for report in reports)
    fractions = [report.fraction for report in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 4
    assert any(report.figure.endswith("fps") for report in reports[1:])


def stats(**overrides: float) -> FrameStats:
    base = dict(
        frames=30, width=640, height=480, mean_luma=120.0, bright_ratio=0.0, frozen_ratio=0.0
    )
    base.update(overrides)
    return FrameStats(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "fps", "status"),
    [
        ({}, 30.0, Status.PASS),
        ({"mean_luma": BLACK_LUMA - 0.1}, 30.0, Status.FAIL),
        ({"mean_luma": BLACK_LUMA + 0.1}, 30.0, Status.WARN),
        ({"mean_luma": DARK_LUMA + 0.1}, 30.0, Status.PASS),
        ({"mean_luma": 236.0}, 30.0, Status.WARN),
        ({"bright_ratio": 0.51}, 30.0, Status.WARN),
        ({"frozen_ratio": 0.9}, 30.0, Status.FAIL),
        ({"frozen_ratio": 0.89}, 30.0, Status.PASS),
        ({}, LOW_FPS - 0.1, Status.WARN),
        ({}, LOW_FPS, Status.PASS),
        ({"frames": 2}, 30.0, Status.FAIL),
    ],
)
def test_thresholds(overrides: dict[str, float], fps: float, status: Status) -> None:
    result = judge(stats(**overrides), fps)
    assert result.status is status
    assert (result.reason == "") == (status is Status.PASS)
    assert_plain(result.reason + " " + result.fix)


def test_frame_analysis_of_synthetic_frames() -> None:
    analyser = FrameAnalyser()
    grey = np.full((480, 640, 3), 100, np.uint8)
    analyser.add(grey)
    analyser.add(grey)
    analyser.add(np.full((480, 640, 3), 255, np.uint8))
    result = analyser.stats()
    assert result.frames == 3 and (result.width, result.height) == (640, 480)
    assert result.mean_luma == pytest.approx((100 + 100 + 255) / 3, abs=0.5)
    assert result.frozen_ratio == 0.5
    assert result.bright_ratio == pytest.approx(1 / 3)


def test_grey_and_bgra_frames_are_accepted() -> None:
    assert to_luma(np.full((10, 20), 7, np.uint8)).mean() == 7
    assert to_luma(np.zeros((10, 20, 4), np.uint8)).shape == (10, 20)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((10,), np.uint8),
        np.zeros((10, 10, 3), np.float32),
    ],
)
def test_bad_frames_are_rejected(frame: np.ndarray) -> None:
    with pytest.raises(ValueError):
        to_luma(frame)


def test_a_camera_delivering_garbage_fails_in_plain_words() -> None:
    class GarbageCamera(FakeCamera):
        def read(self, timeout: float = 1.0) -> np.ndarray:
            return np.zeros((0, 0, 3), np.uint8)

    camera = GarbageCamera(realtime=False)
    result = check_camera(camera, clock=camera.clock)
    assert result.status is Status.FAIL and "not working" in result.reason
    assert not camera.is_open


def test_a_missing_camera_file_is_named(tmp_path: Path) -> None:
    from app.checks.camera import missing_camera_file

    missing = str(tmp_path / "clinic-demo.mp4")
    result = missing_camera_file(missing)
    assert result is not None and result.status is Status.FAIL
    assert missing in result.reason and "plug in" not in result.fix.lower()
    present = tmp_path / "there.avi"
    present.write_bytes(b"")
    for source in (None, "0", " 2", "rtsp://camera.local/stream", str(present), "f%03d.png"):
        assert missing_camera_file(source) is None
