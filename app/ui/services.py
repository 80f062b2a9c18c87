"""What the window needs from the core, as small injectable interfaces.

The real implementations import the core lazily (devices, checks, network), so tests can hand the
window fakes instead and nothing opens a device or a socket on import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.checks.result import CheckResult, VerdictSummary
from app.devices.base import Camera, DeviceInfo, Microphone, Speaker
from app.progress import ProgressCallback

if TYPE_CHECKING:
    from app.checks.runner import CheckPlan


@dataclass(frozen=True)
class DeviceChoice:
    """What the user picked on the preflight page, and where to measure bandwidth."""

    camera: str | None = None
    microphone: str | None = None
    speaker: str | None = None
    server_url: str | None = None
    min_download_mbps: float = 5.0
    min_upload_mbps: float = 5.0
    practice_mode: bool = False
    ca_file: Path | None = None  # the clinic's own CA (the profile's ca_file), for https


class Report(Protocol):
    """The parts of app.checks.report.EquipmentReport the window uses."""

    @property
    def results(self) -> Iterable[CheckResult] | Mapping[str, CheckResult]: ...
    @property
    def summary(self) -> VerdictSummary: ...
    def to_json(self) -> Any: ...
    def save_json(self, path: Path) -> None: ...
    def render_html(self) -> str: ...
    def with_details(self, couple_label: str, note: str) -> Report: ...


def measured_upload_mbps(report: Report | None) -> float | None:
    """The upload the equipment check measured, if it measured one (for the call's video size)."""
    if report is None:
        return None
    results = report.results
    found = results.values() if isinstance(results, Mapping) else results
    for result in found:
        value = result.metrics.get("upload_mbps") if result.name == "bandwidth" else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def report_skipped(report: Report) -> Mapping[str, str]:
    """Checks that did not run, with the reason in plain words (EquipmentReport.skipped)."""
    skipped = getattr(report, "skipped", None)
    return skipped if isinstance(skipped, Mapping) else {}


# Blocking; called on a worker thread. Progress arrives from worker threads.
CheckRunner = Callable[[DeviceChoice, ProgressCallback, threading.Event], Report]


class DeviceProvider(Protocol):
    """Lists and opens devices. Every method may block and is called off the GUI thread."""

    def list_cameras(self) -> list[DeviceInfo]: ...
    def list_microphones(self) -> list[DeviceInfo]: ...
    def list_speakers(self) -> list[DeviceInfo]: ...
    def camera(self, device_id: str | None) -> Camera: ...
    def microphone(self, device_id: str | None) -> Microphone: ...
    def speaker(self, device_id: str | None) -> Speaker: ...


def report_results(report: Report) -> list[CheckResult]:
    results = report.results
    if isinstance(results, Mapping):
        return list(results.values())
    return list(results)


class SystemDevices:
    """The computer's real camera and sound devices (OpenCV, PortAudio).

    `camera_source` (`tandem gui --camera`, the profile's `[devices] camera`) is a video file
    or a network camera's URL listed first among the cameras, or a camera index chosen first."""

    def __init__(self, camera_source: str | None = None) -> None:
        self.camera_source = camera_source

    def list_cameras(self) -> list[DeviceInfo]:
        from app.devices.camera import list_cameras
        from app.devices.camera_source import with_camera_source

        return with_camera_source(list(list_cameras()), self.camera_source)

    def list_microphones(self) -> list[DeviceInfo]:
        from app.devices.audio import list_inputs

        return list(list_inputs())

    def list_speakers(self) -> list[DeviceInfo]:
        from app.devices.audio import list_outputs

        return list(list_outputs())

    def camera(self, device_id: str | None) -> Camera:
        from app.devices.camera import open_camera

        camera: Camera = open_camera(device_id)
        return camera

    def microphone(self, device_id: str | None) -> Microphone:
        from app.devices.audio import SoundDeviceMicrophone

        mic: Microphone = SoundDeviceMicrophone(device=device_id)
        return mic

    def speaker(self, device_id: str | None) -> Speaker:
        from app.devices.audio import SoundDeviceSpeaker

        speaker: Speaker = SoundDeviceSpeaker(device=device_id)
        return speaker


PlanFactory = Callable[[DeviceChoice], "CheckPlan"]


def system_plan(choice: DeviceChoice) -> CheckPlan:
    """The plan for this computer's real devices; the runner opens them on its own threads."""
    from app.checks.runner import CheckPlan
    from app.net.bandwidth_probe import SessionServerProbe

    plan = CheckPlan(
        camera_source=choice.camera,
        mic_device=choice.microphone,
        speaker_device=choice.speaker,
        min_download_mbps=choice.min_download_mbps,
        min_upload_mbps=choice.min_upload_mbps,
        practice_mode=choice.practice_mode,
    )
    if choice.practice_mode:
        # Practice mode's server is this computer: no figure from it says anything about the
        # couple's internet (app.checks.bandwidth.PRACTICE_NOT_MEASURED).
        from app.checks.bandwidth import PRACTICE_NOT_MEASURED

        plan.bandwidth_skip_reason = PRACTICE_NOT_MEASURED
    elif choice.server_url:
        plan.bandwidth_probe = SessionServerProbe(choice.server_url, ca_file=choice.ca_file)
        plan.server = choice.server_url
    return plan


class InternetTest(Protocol):
    """Practice mode's offer of a real internet test from the bandwidth card. Both methods block
    (call them off the GUI thread)."""

    def reachable(self) -> bool:
        """Whether this computer can reach the public speed-test servers at all."""
        ...

    def measure(self, choice: DeviceChoice, progress: ProgressCallback) -> CheckResult:
        """The bandwidth check against a public speed-test server."""
        ...


SPEEDTEST_HOST = ("www.speedtest.net", 443)


class PublicInternetTest:
    """The real InternetTest: speedtest.net, judged like any bandwidth check."""

    def __init__(self, timeout_s: float = 3.0) -> None:
        self.timeout_s = timeout_s

    def reachable(self) -> bool:
        import socket

        try:
            with socket.create_connection(SPEEDTEST_HOST, timeout=self.timeout_s):
                return True
        except OSError:
            return False

    def measure(self, choice: DeviceChoice, progress: ProgressCallback) -> CheckResult:
        from app.checks.bandwidth import check_bandwidth
        from app.net.bandwidth_probe import PublicSpeedtestProbe

        return check_bandwidth(
            PublicSpeedtestProbe(), choice.min_download_mbps, choice.min_upload_mbps, progress
        )


def equipment_check(plan_factory: PlanFactory = system_plan) -> CheckRunner:
    """A CheckRunner running app.checks.runner on the plan `plan_factory` makes."""

    def run(choice: DeviceChoice, progress: ProgressCallback, cancel: threading.Event) -> Report:
        from app.checks.runner import run_equipment_check

        report: Report = run_equipment_check(plan_factory(choice), progress, cancel)
        return report

    return run
