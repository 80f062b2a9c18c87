"""The equipment-check runner: lanes run at once, a crashing check is contained, cancel works.

The check functions are doubles (the real ones are tested on their own), so these tests are about
the runner only. Concurrency is proved with a barrier that only opens when the camera, microphone
and bandwidth checks are all running at the same moment: no sleeps, no timings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from app.checks.result import CheckResult, Status, Verdict
from app.checks.runner import CheckFunctions, CheckPlan, run_equipment_check
from app.devices.base import AudioBlock, AudioStream, Camera, Frame, Microphone, Speaker
from app.net.bandwidth_probe import BandwidthMeasurement
from app.progress import Progress, ProgressCallback

WAIT_S = 10.0  # only a bound on a test that is already broken; never reached when it passes


class StubCamera:
    def open(self, timeout: float = 3.0) -> None: ...
    def read(self, timeout: float = 1.0) -> Frame:
        raise NotImplementedError

    def close(self) -> None: ...


class StubMicrophone:
    samplerate = 48000

    def record(self, seconds: float) -> AudioBlock:
        raise NotImplementedError

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        raise NotImplementedError


class StubSpeaker:
    samplerate = 48000

    def play(self, samples: AudioBlock) -> None: ...


class StubProbe:
    def measure(self, progress: ProgressCallback | None = None) -> BandwidthMeasurement:
        raise NotImplementedError


def passed(name: str) -> CheckResult:
    return CheckResult(name, Status.PASS, metrics={"by": "double"})


@dataclass
class Doubles:
    """Check-function doubles that record what they were called with, in order."""

    calls: list[str] = field(default_factory=list)
    speaker_heard_by: list[Microphone | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    before: dict[str, Callable[[], None]] = field(default_factory=dict)
    outcome: dict[str, Callable[[str], CheckResult]] = field(default_factory=dict)

    def _run(self, name: str, progress: ProgressCallback | None) -> CheckResult:
        with self.lock:
            self.calls.append(name)
        if progress is not None:
            progress(Progress(name, 0.5, f"checking {name}"))
        self.before.get(name, lambda: None)()
        return self.outcome.get(name, passed)(name)

    def functions(self) -> CheckFunctions:
        def camera(cam: Camera, duration: float, progress: ProgressCallback | None) -> CheckResult:
            return self._run("camera", progress)

        def mic(m: Microphone, duration: float, progress: ProgressCallback | None) -> CheckResult:
            return self._run("microphone", progress)

        def speaker(
            s: Speaker, m: Microphone | None, progress: ProgressCallback | None
        ) -> CheckResult:
            self.speaker_heard_by.append(m)
            return self._run("speaker", progress)

        def bandwidth(
            probe: object, dl: float, ul: float, progress: ProgressCallback | None
        ) -> CheckResult:
            return self._run("bandwidth", progress)

        return CheckFunctions(camera, mic, speaker, bandwidth)


def full_plan(**overrides: object) -> CheckPlan:
    plan = CheckPlan(
        camera=StubCamera(),
        microphone=StubMicrophone(),
        speaker=StubSpeaker(),
        bandwidth_probe=StubProbe(),
        server="http://127.0.0.1:1",
    )
    for key, value in overrides.items():
        setattr(plan, key, value)
    return plan


def test_all_checks_pass_gives_ready_with_all_four_results() -> None:
    doubles = Doubles()
    report = run_equipment_check(full_plan(), functions=doubles.functions())
    assert report.verdict is Verdict.READY
    assert [r.name for r in report.results] == ["camera", "microphone", "speaker", "bandwidth"]
    assert sorted(doubles.calls) == ["bandwidth", "camera", "microphone", "speaker"]
    assert report.server == "http://127.0.0.1:1"
    assert report.duration_s >= 0


def test_camera_audio_and_bandwidth_run_at_the_same_time() -> None:
    barrier = threading.Barrier(3, timeout=WAIT_S)

    def meet() -> None:
        barrier.wait()

    doubles = Doubles(before={"camera": meet, "microphone": meet, "bandwidth": meet})
    report = run_equipment_check(full_plan(), functions=doubles.functions())
    # Run one after another, the first check would wait alone and break the barrier.
    assert report.verdict is Verdict.READY, report.to_json()


def test_the_speaker_check_runs_after_the_microphone_and_listens_with_it() -> None:
    mic: Microphone = StubMicrophone()
    doubles = Doubles()
    run_equipment_check(full_plan(microphone=mic), functions=doubles.functions())
    assert doubles.calls.index("microphone") < doubles.calls.index("speaker")
    assert doubles.speaker_heard_by == [mic]


def test_a_failed_microphone_leaves_the_speaker_check_without_ears() -> None:
    doubles = Doubles(outcome={"microphone": lambda n: CheckResult(n, Status.FAIL, "no", "fix")})
    report = run_equipment_check(full_plan(), functions=doubles.functions())
    assert doubles.speaker_heard_by == [None]
    assert report.verdict is Verdict.NOT_READY
    assert report.summary.deciding_checks == ("microphone",)


def test_a_check_that_raises_becomes_a_plain_words_fail_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    private = "/home/" + "alice" + "/camera"  # built at run time, as a real path would be

    def explode(name: str) -> CheckResult:
        raise RuntimeError(private)

    doubles = Doubles(outcome={"camera": explode})
    with caplog.at_level(logging.ERROR, logger="app.checks.runner"):
        report = run_equipment_check(full_plan(), functions=doubles.functions())
    camera = report.result("camera")
    assert camera is not None
    assert camera.status is Status.FAIL
    assert camera.reason == "Something went wrong while checking your camera."
    assert camera.fix
    assert report.verdict is Verdict.NOT_READY
    assert [r.status for r in report.results[1:]] == [Status.PASS] * 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "camera check raised RuntimeError" in logged
    assert "alice" not in logged  # the message may hold personal data; the type and stack do not


def test_a_device_that_cannot_even_be_built_fails_only_its_own_check(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import app.checks.runner as runner

    def no_audio(plan: CheckPlan) -> Microphone:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(runner, "_microphone", no_audio)
    doubles = Doubles()
    with caplog.at_level(logging.ERROR, logger="app.checks.runner"):
        report = run_equipment_check(full_plan(microphone=None), functions=doubles.functions())
    mic = report.result("microphone")
    assert mic is not None and mic.status is Status.FAIL
    assert "microphone" in mic.reason
    assert doubles.speaker_heard_by == [None]
    camera = report.result("camera")
    assert camera is not None and camera.status is Status.PASS


def test_a_result_under_the_wrong_name_is_filed_under_the_check_that_made_it() -> None:
    doubles = Doubles(outcome={"bandwidth": lambda n: passed("network")})
    report = run_equipment_check(full_plan(), functions=doubles.functions())
    assert report.result("bandwidth") is not None
    assert report.result("network") is None


def test_skipping_the_speaker_and_the_bandwidth() -> None:
    doubles = Doubles()
    report = run_equipment_check(
        full_plan(
            skip_speaker=True,
            speaker_skip_reason="Not checked (--no-speaker)",
            bandwidth_probe=None,
        ),
        functions=doubles.functions(),
    )
    assert sorted(doubles.calls) == ["camera", "microphone"]
    data = report.to_json()
    assert data["checks"]["speaker"]["status"] == "skipped"
    assert data["checks"]["speaker"]["reason"] == "Not checked (--no-speaker)"
    assert data["checks"]["bandwidth"]["status"] == "skipped"
    assert data["server"] is None
    assert data["verdict"] == "ready"


def test_known_results_are_reported_and_not_run() -> None:
    doubles = Doubles()
    known = CheckResult("bandwidth", Status.FAIL, "The practice server did not start", "Retry")
    report = run_equipment_check(
        full_plan(bandwidth_probe=None, known_results={"bandwidth": known}),
        functions=doubles.functions(),
    )
    assert "bandwidth" not in doubles.calls
    assert report.result("bandwidth") == known
    assert report.verdict is Verdict.NOT_READY


def test_progress_comes_from_every_lane_and_a_raising_callback_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def progress(update: Progress) -> None:
        with lock:
            seen.append((update.check, threading.current_thread().name))
        raise ValueError("a broken progress bar")

    with caplog.at_level(logging.ERROR, logger="app.checks.runner"):
        report = run_equipment_check(full_plan(), progress, functions=Doubles().functions())
    assert report.verdict is Verdict.READY
    assert {check for check, _ in seen} == {"camera", "microphone", "speaker", "bandwidth"}
    assert {thread for _, thread in seen} == {
        "tandem-check-camera",
        "tandem-check-audio",
        "tandem-check-bandwidth",
    }


def test_cancel_returns_at_once_and_unfinished_checks_say_they_were_stopped() -> None:
    release = threading.Event()
    cancel = threading.Event()
    cancel.set()

    def hold() -> None:
        release.wait(WAIT_S)

    doubles = Doubles(before={"camera": hold, "microphone": hold, "bandwidth": hold})
    try:
        report = run_equipment_check(full_plan(), cancel=cancel, functions=doubles.functions())
    finally:
        release.set()
    assert report.verdict is Verdict.NOT_READY
    for name in ("camera", "microphone", "speaker", "bandwidth"):
        result = report.result(name)
        assert result is not None and result.status is Status.FAIL
        assert "stopped" in result.reason


def test_a_check_that_never_finishes_is_given_up_at_the_plans_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def hang() -> None:
        release.wait(WAIT_S)

    doubles = Doubles(before={"bandwidth": hang})
    barrier_free_plan = full_plan(timeout_s=0.0)
    try:
        with caplog.at_level(logging.ERROR, logger="app.checks.runner"):
            report = run_equipment_check(barrier_free_plan, functions=doubles.functions())
    finally:
        release.set()
    bandwidth = report.result("bandwidth")
    assert bandwidth is not None and bandwidth.status is Status.FAIL
    assert "took far too long" in bandwidth.reason
    assert "did not finish" in caplog.text


def test_the_real_checks_run_through_the_runner_with_fake_devices() -> None:
    """The runner calls the real check functions as their signatures expect."""
    from app.devices.base import DeviceProblem
    from app.devices.fakes import FakeCamera, FakeMicrophone, FakeSpeaker

    plan = CheckPlan(
        camera=FakeCamera(realtime=False),
        microphone=FakeMicrophone(realtime=False),
        speaker=FakeSpeaker(realtime=False),
        camera_duration_s=0.3,
        mic_duration_s=0.3,
    )
    # Nothing linked the speaker to the microphone, so nothing proved the tone was heard.
    summary = run_equipment_check(plan).summary
    assert summary.verdict is Verdict.READY_WITH_WARNINGS
    assert summary.deciding_checks == ("speaker",)

    broken = CheckPlan(
        camera=FakeCamera(fail=DeviceProblem.BUSY, realtime=False),
        microphone=FakeMicrophone(fail=DeviceProblem.NO_AUDIO_SYSTEM, realtime=False),
        speaker=FakeSpeaker(realtime=False),
        skip_speaker=True,
    )
    report = run_equipment_check(broken)
    assert report.summary.deciding_checks == ("camera", "microphone")
    for result in report.results:
        assert result.reason and "Something went wrong" not in result.reason
