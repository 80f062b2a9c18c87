"""The report holds no names, paths or credentials unless the user typed them (JSON and HTML)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.checks.report import EquipmentReport
from app.checks.report_privacy import report_metrics, report_server
from app.checks.result import Status
from app.checks.runner import CheckPlan, run_equipment_check
from app.devices.base import AudioBlock, AudioStream, DeviceError, DeviceProblem, Frame
from app.devices.camera import OpenCVCamera
from app.devices.fakes import FakeCamera, FakeMicrophone, FakeSpeaker
from app.net.bandwidth_measurement import BandwidthError, BandwidthMeasurement
from app.progress import ProgressCallback

HOME_VIDEO = "/home/jane.doe/Videos/our-first-session.mp4"
STREAM = "rtsp://jane:hunter2@192.168.1.20:554/live?key=CAMKEY42"
AIRPODS = "Jane's AirPods Pro"
SERVER = "https://jane:pa55word@sessions.riverside-clinic.org:8443/rooms/couple-17?token=SECRET123"
PERSONAL = (
    "jane",
    "airpods",
    "/home",
    "videos",
    "our-first-session",
    "hunter2",
    "camkey42",
    "rtsp",
    "pa55word",
    "secret123",
    "token",
    "couple-17",
    "rooms",
)


def assert_nothing_personal(report: EquipmentReport) -> None:
    for text in (report.to_json_text(), report.render_html()):
        lower = text.lower()
        for personal in PERSONAL:
            assert personal not in lower, f"{personal!r} leaked into the report"


class _Broken:
    """A device that fails the way real ones do: with its name or path in the error's text."""

    def __init__(self, problem: DeviceProblem, detail: str) -> None:
        self.samplerate = 48000
        self.error = DeviceError(problem, detail)

    def open(self, timeout: float = 3.0) -> None:
        raise self.error

    def read(self, timeout: float = 1.0) -> Frame:
        raise self.error

    def close(self) -> None:
        pass

    def record(self, seconds: float) -> AudioBlock:
        raise self.error

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        raise self.error

    def play(self, samples: AudioBlock) -> None:
        raise self.error


class _Probe:
    def __init__(self, outcome: BandwidthMeasurement | BandwidthError) -> None:
        self.outcome = outcome

    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        if isinstance(self.outcome, BandwidthError):
            raise self.outcome
        return self.outcome


def measured(server: str) -> BandwidthMeasurement:
    return BandwidthMeasurement(
        download_mbps=42.0,
        upload_mbps=11.5,
        latency_ms=18.0,
        jitter_ms=2.0,
        server=server,
        engine_upload_mbps=None,
        engine_download_mbps=None,
        duration_s=6.0,
    )


def run(plan: CheckPlan) -> EquipmentReport:
    plan.camera_duration_s = plan.mic_duration_s = 0.3
    return run_equipment_check(plan)


def test_failing_devices_with_personal_names_leave_no_trace() -> None:
    report = run(
        CheckPlan(
            camera=OpenCVCamera(HOME_VIDEO),  # a real camera: its own error names the path
            microphone=_Broken(DeviceProblem.NOT_FOUND, f"{AIRPODS} has no input channels"),
            speaker=_Broken(DeviceProblem.BUSY, f"{AIRPODS}: Device unavailable"),
            bandwidth_probe=_Probe(BandwidthError("refused", f"ConnectionRefusedError: {SERVER}")),
            server=SERVER,
        )
    )
    assert {r.name: r.status for r in report.results} == {
        "camera": Status.FAIL,
        "microphone": Status.FAIL,
        "speaker": Status.FAIL,
        "bandwidth": Status.FAIL,
    }
    # The checks themselves still know (for the local log), so the test can fail.
    camera = report.result("camera")
    assert camera is not None and HOME_VIDEO in str(camera.metrics["detail"])
    assert_nothing_personal(report)
    checks = report.to_json()["checks"]
    # What clinic IT needs stays: what kind of problem, and where it measured.
    assert checks["camera"]["metrics"] == {"problem": "not_found"}
    assert checks["microphone"]["metrics"] == {"problem": "not_found"}
    assert checks["speaker"]["metrics"] == {"problem": "busy"}
    assert checks["bandwidth"]["metrics"]["problem"] == "refused"
    assert checks["bandwidth"]["metrics"]["min_upload_mbps"] == 5.0
    assert report.to_json()["server"] == "https://sessions.riverside-clinic.org:8443"
    assert "https://sessions.riverside-clinic.org:8443" in report.render_html()


def test_working_devices_keep_their_figures_and_lose_their_names() -> None:
    mic = FakeMicrophone("noise", level_dbfs=-30.0, realtime=False)
    report = run(
        CheckPlan(
            camera=FakeCamera(size=(1280, 720), realtime=False),
            camera_source=STREAM,
            microphone=mic,
            speaker=FakeSpeaker(realtime=False),
            bandwidth_probe=_Probe(measured(SERVER)),
            server=SERVER,
            mic_device=AIRPODS,
            speaker_device=AIRPODS,
        )
    )
    assert_nothing_personal(report)
    checks = report.to_json()["checks"]
    camera = checks["camera"]["metrics"]
    assert (camera["width"], camera["height"]) == (1280, 720)
    assert isinstance(camera["fps_measured"], float)
    assert isinstance(checks["microphone"]["metrics"]["level_dbfs"], float)
    assert checks["speaker"]["metrics"]["confirmed_by"] == "nobody"
    bandwidth = checks["bandwidth"]["metrics"]
    assert bandwidth["download_mbps"] == 42.0 and bandwidth["upload_basis"] == "received"
    assert bandwidth["server"] == "https://sessions.riverside-clinic.org:8443"


def test_what_the_user_typed_is_kept() -> None:
    report = EquipmentReport(results=(), note="Jane's laptop", couple_label="Jane & Sam")
    assert report.to_json()["note"] == "Jane's laptop"
    assert "Jane &amp; Sam" in report.render_html()


@pytest.mark.parametrize(
    ("server", "shown"),
    [
        (SERVER, "https://sessions.riverside-clinic.org:8443"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://[::1]:9000/x?token=1", "https://[::1]:9000"),
        ("HTTPS://Sessions.Example.org/", "https://sessions.example.org"),
        ("speedtest.example.net:8080", "speedtest.example.net:8080"),
        ("public", "public"),
        ("/home/jane/server.sock", None),
        ("not a server at all", None),
        ("https://:99999", None),
        (None, None),
    ],
)
def test_servers_are_shown_without_credentials_paths_or_queries(
    server: str | None, shown: str | None
) -> None:
    assert report_server(server) == shown


def test_only_figures_and_fixed_words_pass() -> None:
    assert report_metrics(
        {
            "width": 640,
            "fps_measured": 29.9,
            "tone_heard": None,
            "person_heard": True,
            "problem": "busy",
            "detail": "Jane's camera is busy",
            "device": "Jane's AirPods",
            "problem_text": "busy",  # a string under a name not known to be a fixed word
            "listen_problem": "Jane's AirPods",  # a known key, but not one of its words
            "Jane's key": 1,
        }
    ) == {
        "width": 640,
        "fps_measured": 29.9,
        "tone_heard": None,
        "person_heard": True,
        "problem": "busy",
    }
