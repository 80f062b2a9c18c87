"""GUI test doubles: a device provider over app.devices.fakes, and a scripted check runner
for what the real runner cannot be made to do on cue (pause mid-test, crash)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.checks.result import CheckResult, Status, VerdictSummary, decide
from app.checks.runner import stopped_result
from app.devices.base import DeviceError, DeviceInfo, DeviceProblem
from app.devices.fakes import FakeCamera, FakeMicrophone, FakeSpeaker
from app.progress import Progress, ProgressCallback
from app.ui.services import DeviceChoice


class FakeDevices:
    """A DeviceProvider. `cameras=[]` means none plugged in; `audio_error` means no PortAudio."""

    def __init__(
        self,
        cameras: Sequence[DeviceInfo] = (DeviceInfo("0", "Built-in camera"),),
        microphones: Sequence[DeviceInfo] = (DeviceInfo("1", "Headset microphone"),),
        speakers: Sequence[DeviceInfo] = (DeviceInfo("2", "Headset earphones"),),
        audio_error: DeviceError | None = None,
    ) -> None:
        self.cameras = list(cameras)
        self.microphones = list(microphones)
        self.speakers = list(speakers)
        self.audio_error = audio_error
        self.opened_cameras: list[FakeCamera] = []
        self.opened_microphones: list[FakeMicrophone] = []
        self.opened_speakers: list[FakeSpeaker] = []

    def list_cameras(self) -> list[DeviceInfo]:
        return list(self.cameras)

    def list_microphones(self) -> list[DeviceInfo]:
        if self.audio_error is not None:
            raise self.audio_error
        return list(self.microphones)

    def list_speakers(self) -> list[DeviceInfo]:
        if self.audio_error is not None:
            raise self.audio_error
        return list(self.speakers)

    def camera(self, device_id: str | None) -> FakeCamera:
        camera = FakeCamera(fail=None if self.cameras else DeviceProblem.NOT_FOUND)
        self.opened_cameras.append(camera)
        return camera

    def microphone(self, device_id: str | None) -> FakeMicrophone:
        if self.audio_error is not None:
            raise self.audio_error
        mic = FakeMicrophone()
        self.opened_microphones.append(mic)
        return mic

    def speaker(self, device_id: str | None) -> FakeSpeaker:
        if self.audio_error is not None:
            raise self.audio_error
        speaker = FakeSpeaker()
        self.opened_speakers.append(speaker)
        return speaker


STOPPED_PARTS = ("speaker", "bandwidth")


@dataclass
class FakeReport:
    results: list[CheckResult]
    summary: VerdictSummary = field(init=False)

    def __post_init__(self) -> None:
        self.summary = decide(self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.summary.verdict.value,
            "checks": {r.name: r.to_json() for r in self.results},
        }

    def save_json(self, path: Path) -> None:
        import json

        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    couple_label: str = ""
    note: str = ""

    def render_html(self) -> str:
        rows = "".join(f"<li>{r.name}: {r.status.value}</li>" for r in self.results)
        typed = f"<p>{self.couple_label}</p><p>{self.note}</p>"
        return f"<html><body><h1>Equipment report</h1>{typed}<ul>{rows}</ul></body></html>"

    def with_details(self, couple_label: str, note: str) -> FakeReport:
        return replace(self, couple_label=couple_label, note=note)


GOOD = [
    CheckResult("camera", Status.PASS, metrics={"fps": 30}),
    CheckResult("microphone", Status.PASS, metrics={"rms_dbfs": -9.0}),
    CheckResult("speaker", Status.PASS),
    CheckResult(
        "bandwidth",
        Status.WARN,
        reason="Your upload speed is 4.1 Mbps; video works best above 5 Mbps.",
        fix="If you can, sit closer to your Wi-Fi router or plug in a network cable.",
        metrics={"download_mbps": 42.0, "upload_mbps": 4.1},
    ),
]


@dataclass
class ScriptedCheck:
    """A CheckRunner: touches the fake devices, reports progress like the real one, then returns
    `results`. `hold` (if given) pauses it during the upload test until the test sets it."""

    devices: FakeDevices
    results: list[CheckResult] = field(default_factory=lambda: list(GOOD))
    hold: threading.Event | None = None
    error: BaseException | None = None
    choices: list[DeviceChoice] = field(default_factory=list)

    def __call__(
        self, choice: DeviceChoice, progress: ProgressCallback, cancel: threading.Event
    ) -> FakeReport:
        self.choices.append(choice)
        progress(Progress("camera", 0.0, "Opening your camera…"))
        try:
            camera = self.devices.camera(choice.camera)
            camera.open()
            camera.read()
            camera.close()
        except DeviceError:
            pass
        progress(Progress("microphone", 0.0, "Listening to your microphone…"))
        progress(Progress("speaker", 0.0, "Playing a short sound…"))
        progress(Progress("bandwidth", 0.1, "Measuring download…", "38.0 Mbps"))
        progress(Progress("bandwidth", 0.6, "Measuring upload…", "12.3 Mbps"))
        if self.hold is not None:
            while not self.hold.wait(0.02):
                if cancel.is_set():  # as the real runner does: what finished, the rest stopped
                    return FakeReport([*self.results[:2], *map(stopped_result, STOPPED_PARTS)])
        if self.error is not None:
            raise self.error
        progress(Progress("bandwidth", 1.0, "Done", "4.1 Mbps"))
        return FakeReport(list(self.results))
