"""The camera check: open the camera, watch it for a moment, and say plainly what is wrong."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from app.checks.device_problem import RETRY, DeviceWords, device_failure
from app.checks.frame_analysis import FrameAnalyser, FrameStats
from app.checks.result import CheckResult, MetricValue, Status
from app.devices.base import Camera, DeviceError, DeviceProblem
from app.progress import Progress, ProgressCallback, ignore_progress

log = logging.getLogger(__name__)

NAME = "camera"
BLACK_LUMA = 10.0  # mean luma below this: covered lens or a dark room (fail)
DARK_LUMA = 45.0  # below this: the other side will hardly see a face (warn)
OVEREXPOSED_LUMA = 235.0
OVEREXPOSED_BRIGHT_RATIO = 0.5  # half the picture blown out (warn)
FROZEN_RATIO = 0.9  # nearly every frame the same as the one before (fail)
LOW_FPS = 10.0  # below this the picture looks jerky (warn)
MIN_FRAMES = 3
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 2.0
PROGRESS_EVERY_S = 0.25
MAX_FPS = 120.0  # caps the frames kept when a source delivers faster than any real camera

DEVICE_WORDS: DeviceWords = {
    DeviceProblem.NOT_FOUND: (
        "We could not find a camera",
        "Plug in your camera, or switch it on. If your laptop has a camera switch or a sliding "
        f"cover, open it. {RETRY}",
    ),
    DeviceProblem.BUSY: (
        "Another program is using your camera",
        f"Close other video programs, such as Zoom, Teams, Skype or a web browser. {RETRY}",
    ),
    DeviceProblem.PERMISSION: (
        "Tandem is not allowed to use your camera",
        "Open your computer's privacy settings and allow Tandem to use the camera. " + RETRY,
    ),
    DeviceProblem.TIMEOUT: (
        "Your camera did not respond",
        f"Unplug the camera and plug it in again, or restart your computer. {RETRY}",
    ),
    DeviceProblem.FAILED: (
        "Your camera is not working properly",
        f"Unplug the camera and plug it in again, or restart your computer. {RETRY}",
    ),
}


def missing_camera_file(source: str | None) -> CheckResult | None:
    """The camera check's result when the camera source names a video file that is not there.

    OpenCV only says it could not open the source, which reads as "plug in your camera"; a
    person who gave a file name needs to hear that name. None for a camera index, a URL, an
    OpenCV image-sequence pattern ("frame%03d.png") or a file that exists."""
    if source is None or source.strip().isdigit() or "://" in source or "%" in source:
        return None
    if Path(source).expanduser().exists():
        return None
    return CheckResult(
        NAME,
        Status.FAIL,
        f"Tandem could not find the video file given as the camera: {source}",
        "Check the file's name and folder, or leave out the camera source to use your camera.",
    )


def check_camera(
    camera: Camera,
    duration_s: float = 2.0,
    progress: ProgressCallback | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Open the camera, capture for about `duration_s`, close it and judge the picture.

    `clock` measures the frame rate; tests pass a fake camera's own clock.
    """
    report = progress or ignore_progress
    report(Progress(NAME, 0.0, "Starting your camera…"))
    analyser = FrameAnalyser()
    try:
        camera.open(timeout=OPEN_TIMEOUT_S)
    except DeviceError as error:
        return device_failure(NAME, error, DEVICE_WORDS)
    try:
        elapsed = _capture(camera, analyser, duration_s, report, clock)
    except DeviceError as error:
        return device_failure(NAME, error, DEVICE_WORDS, _metrics(analyser.stats(), None))
    except ValueError as error:  # the camera delivered something that is not a picture
        return device_failure(NAME, DeviceError(DeviceProblem.FAILED, str(error)), DEVICE_WORDS)
    finally:
        try:
            camera.close()
        except DeviceError as error:
            log.info("camera check: closing failed: %s", error)
    stats = analyser.stats()
    fps = (stats.frames - 1) / elapsed if stats.frames > 1 and elapsed > 0 else 0.0
    result = judge(stats, fps)
    report(Progress(NAME, 1.0, "Camera checked", figure=f"{fps:.0f} fps"))
    return result


def _capture(
    camera: Camera,
    analyser: FrameAnalyser,
    duration_s: float,
    report: ProgressCallback,
    clock: Callable[[], float],
) -> float:
    """Read frames for `duration_s` of `clock` time; returns the time from first to last frame."""
    analyser.add(camera.read(timeout=READ_TIMEOUT_S))
    first = last = clock()
    next_report = PROGRESS_EVERY_S
    max_frames = max(MIN_FRAMES, int(duration_s * MAX_FPS))
    frames = 1
    while last - first < duration_s and frames < max_frames:
        analyser.add(camera.read(timeout=READ_TIMEOUT_S))
        frames += 1
        last = clock()
        if last - first >= next_report:
            next_report += PROGRESS_EVERY_S
            fps = (frames - 1) / (last - first)
            fraction = min(0.95, (last - first) / duration_s) if duration_s > 0 else 0.95
            report(Progress(NAME, fraction, "Looking at your camera…", figure=f"{fps:.0f} fps"))
    return last - first


def _metrics(stats: FrameStats, fps: float | None) -> dict[str, MetricValue]:
    return {
        "width": stats.width,
        "height": stats.height,
        "frames": stats.frames,
        "fps_measured": round(fps, 1) if fps is not None else None,
        "mean_luma": round(stats.mean_luma, 1),
        "bright_ratio": round(stats.bright_ratio, 3),
        "frozen_ratio": round(stats.frozen_ratio, 3),
    }


def judge(stats: FrameStats, fps: float) -> CheckResult:
    """Turn measured figures into a verdict with plain-words reason and fix."""
    metrics = _metrics(stats, fps)

    def result(status: Status, reason: str = "", fix: str = "") -> CheckResult:
        return CheckResult(NAME, status, reason, fix, metrics)

    if stats.frames < MIN_FRAMES:
        return result(
            Status.FAIL,
            "Your camera started but sent almost no pictures",
            "Close other video programs, then unplug the camera and plug it in again. " + RETRY,
        )
    if stats.mean_luma < BLACK_LUMA:
        return result(
            Status.FAIL,
            "Your camera is covered or the room is too dark",
            "Uncover the camera lens and turn on a light facing you. " + RETRY,
        )
    if stats.frozen_ratio >= FROZEN_RATIO:
        return result(
            Status.FAIL,
            "Your camera shows a still picture that does not move",
            "Close other video programs, then unplug the camera and plug it in again "
            "(or restart your computer). " + RETRY,
        )
    if stats.mean_luma < DARK_LUMA:
        return result(
            Status.WARN,
            "The room is quite dark, so your care team may not see your faces well",
            "Turn on a light in front of you, facing you, not behind you.",
        )
    if stats.mean_luma > OVEREXPOSED_LUMA or stats.bright_ratio > OVEREXPOSED_BRIGHT_RATIO:
        return result(
            Status.WARN,
            "The picture is too bright, so your faces may be hard to see",
            "Move away from a bright window or lamp, or turn so the window is not behind you.",
        )
    if fps < LOW_FPS:
        return result(
            Status.WARN,
            "Your camera picture is slow and may look jerky",
            "Close other programs you do not need, and plug in your laptop's charger.",
        )
    return result(Status.PASS)
