"""Runs the whole equipment check: camera, microphone, speaker and bandwidth, in one go.

Qt-free and blocking; used by `tandem check` and, on a worker thread, by the desktop app.
Three lanes run at once on their own threads so the whole check fits in a few seconds:

- the camera check;
- the audio checks, microphone then speaker (sequential: the speaker check listens with the mic);
- the bandwidth check.

**Threads:** the `progress` callback is called from these lane threads, several at once. It must
be thread-safe and quick; the desktop app's bridge re-emits it as a Qt signal, the CLI prints
under a lock. A callback that raises is logged and ignored, never allowed to stop a check.

A check that raises (which a check should never do) becomes a FAIL in plain words, and the
exception is logged by type and stack only: its message may hold a device name or a path.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.checks.report import EquipmentReport
from app.checks.result import CheckResult, Status
from app.checks.wording import STATUS_WORDS
from app.devices.base import Camera, Microphone, Speaker
from app.net.bandwidth_probe import BandwidthProbe
from app.profile import DEFAULT_MIN_MBPS
from app.progress import Progress, ProgressCallback

log = logging.getLogger(__name__)

CHECK_WORDS = {
    "camera": "your camera",
    "microphone": "your microphone",
    "speaker": "your speaker",
    "bandwidth": "your internet connection",
}
SPEAKER_SKIPPED = "Not checked (the speaker check was turned off)"
BANDWIDTH_SKIPPED = "Not checked (no server to measure against)"

CameraCheck = Callable[[Camera, float, ProgressCallback | None], CheckResult]
MicrophoneCheck = Callable[[Microphone, float, ProgressCallback | None], CheckResult]
SpeakerCheck = Callable[[Speaker, Microphone | None, ProgressCallback | None], CheckResult]
BandwidthCheck = Callable[[BandwidthProbe, float, float, ProgressCallback | None], CheckResult]


@dataclass
class CheckPlan:
    """What to check and with what.

    Give a device object (a fake, or one the app already made) or leave it None to open the real
    one from the `*_source` / `*_device` setting; real devices are built on the lane's thread, so
    a device that fails to build fails only its own check. `bandwidth_probe` None skips the
    bandwidth check. `known_results` holds checks decided before the run (e.g. "the practice
    server could not start"); they are reported as given and not run.
    """

    camera: Camera | None = None
    camera_source: str | None = None
    microphone: Microphone | None = None
    mic_device: str | int | None = None
    speaker: Speaker | None = None
    speaker_device: str | int | None = None
    skip_speaker: bool = False
    speaker_skip_reason: str = SPEAKER_SKIPPED
    bandwidth_probe: BandwidthProbe | None = None
    bandwidth_skip_reason: str = BANDWIDTH_SKIPPED
    min_download_mbps: float = DEFAULT_MIN_MBPS
    min_upload_mbps: float = DEFAULT_MIN_MBPS
    camera_duration_s: float = 2.0
    mic_duration_s: float = 2.0
    # A safety net: checks bound their own device calls (the whole check takes well under 8 s);
    # this bounds the run even if one of them hangs, and reports that check as too slow.
    timeout_s: float = 15.0
    known_results: Mapping[str, CheckResult] = field(default_factory=dict)
    # For the report only.
    server: str | None = None
    practice_mode: bool = False
    note: str = ""
    couple_label: str = ""


@dataclass(frozen=True)
class CheckFunctions:
    """The check functions the runner calls; tests pass doubles."""

    camera: CameraCheck
    microphone: MicrophoneCheck
    speaker: SpeakerCheck
    bandwidth: BandwidthCheck

    @classmethod
    def default(cls) -> CheckFunctions:
        from app.checks.bandwidth import check_bandwidth
        from app.checks.camera import check_camera
        from app.checks.microphone import check_microphone
        from app.checks.speaker import check_speaker

        return cls(check_camera, check_microphone, check_speaker, check_bandwidth)


def crash_result(name: str) -> CheckResult:
    words = CHECK_WORDS.get(name, name)
    return CheckResult(
        name,
        Status.FAIL,
        f"Something went wrong while checking {words}.",
        "Run the check again. If it happens again, restart the computer and send this report "
        "to the clinic.",
        {"error": "internal"},
    )


def stopped_result(name: str) -> CheckResult:
    return CheckResult(
        name,
        Status.FAIL,
        "Not checked: the check was stopped before this part finished.",
        "Run the check again and let it finish.",
    )


def timeout_result(name: str) -> CheckResult:
    words = CHECK_WORDS.get(name, name)
    return CheckResult(
        name,
        Status.FAIL,
        f"Checking {words} took far too long and was given up.",
        "Close other programs that may be using it, then run the check again.",
        {"error": "timeout"},
    )


def run_equipment_check(
    plan: CheckPlan,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    functions: CheckFunctions | None = None,
) -> EquipmentReport:
    """Run every planned check and return the report; never raises for a check's sake.

    `cancel` stops the run early: the report comes back at once and every unfinished check is
    a FAIL saying it was stopped (lanes still running finish in the background and are
    ignored). `progress` is called from several threads: see the module docstring.
    """
    fns = functions or CheckFunctions.default()
    cancel = cancel or threading.Event()
    report_progress = _safe_progress(progress)
    started = time.monotonic()
    results: dict[str, CheckResult] = dict(plan.known_results)
    lock = threading.Lock()
    done = threading.Event()

    def record(result: CheckResult) -> None:
        with lock:
            if not done.is_set():
                results.setdefault(result.name, result)

    def guarded(name: str, call: Callable[[], CheckResult]) -> CheckResult:
        try:
            result = call()
        except Exception as exc:  # a check must never take the runner down
            log.error(
                "the %s check raised %s\n%s",
                name,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            result = crash_result(name)
        if result.name != name:  # the report is keyed by name: keep it right
            result = CheckResult(name, result.status, result.reason, result.fix, result.metrics)
        report_progress(Progress(name, 1.0, STATUS_WORDS[result.status]))
        return result

    def camera_lane() -> None:
        from app.checks.camera import missing_camera_file

        # A video file that is not there is named as such, not as a camera to plug in.
        missing = None if plan.camera is not None else missing_camera_file(plan.camera_source)
        record(
            missing
            or guarded(
                "camera", lambda: fns.camera(_camera(plan), plan.camera_duration_s, report_progress)
            )
        )

    def audio_lane() -> None:
        mic_holder: list[Microphone] = []

        def mic_check() -> CheckResult:
            mic = _microphone(plan)
            mic_holder.append(mic)
            return fns.microphone(mic, plan.mic_duration_s, report_progress)

        known = plan.known_results
        mic_result = known.get("microphone") or guarded("microphone", mic_check)
        record(mic_result)
        if plan.skip_speaker or "speaker" in known or cancel.is_set():
            return
        # A microphone that failed cannot hear the tone: the speaker check then only plays it.
        heard_by = mic_holder[0] if mic_holder and mic_result.status is not Status.FAIL else None
        record(guarded("speaker", lambda: fns.speaker(_speaker(plan), heard_by, report_progress)))

    def bandwidth_lane() -> None:
        probe = plan.bandwidth_probe
        if probe is None:
            return
        record(
            guarded(
                "bandwidth",
                lambda: fns.bandwidth(
                    probe, plan.min_download_mbps, plan.min_upload_mbps, report_progress
                ),
            )
        )

    lanes: list[tuple[str, Callable[[], None]]] = []
    if "camera" not in results:
        lanes.append(("camera", camera_lane))
    if "microphone" not in results or ("speaker" not in results and not plan.skip_speaker):
        lanes.append(("audio", audio_lane))
    if plan.bandwidth_probe is not None and "bandwidth" not in results:
        lanes.append(("bandwidth", bandwidth_lane))
    threads = [
        threading.Thread(target=_lane_body(name, body), name=f"tandem-check-{name}", daemon=True)
        for name, body in lanes
    ]
    for thread in threads:
        thread.start()
    deadline = started + plan.timeout_s
    for thread in threads:
        while thread.is_alive() and not cancel.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            thread.join(min(remaining, 0.1))
    with lock:
        done.set()
        timed_out = not cancel.is_set()
        finished = dict(results)
    expected = ["camera", "microphone"]
    if not plan.skip_speaker:
        expected.append("speaker")
    if plan.bandwidth_probe is not None or "bandwidth" in finished:
        expected.append("bandwidth")
    for name in expected:
        if name not in finished:
            finished[name] = timeout_result(name) if timed_out else stopped_result(name)
            if timed_out:
                log.error("the %s check did not finish within %.0f s", name, plan.timeout_s)
    skipped: dict[str, str] = {}
    if "speaker" not in finished:
        skipped["speaker"] = plan.speaker_skip_reason
    if "bandwidth" not in finished:
        skipped["bandwidth"] = plan.bandwidth_skip_reason
    order = ("camera", "microphone", "speaker", "bandwidth")
    return EquipmentReport(
        results=tuple(finished[n] for n in order if n in finished),
        skipped=skipped,
        duration_s=time.monotonic() - started,
        practice_mode=plan.practice_mode,
        server=plan.server if "bandwidth" in finished else None,
        note=plan.note,
        couple_label=plan.couple_label,
    )


def _lane_body(name: str, body: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            body()
        except Exception:  # guarded() already contains checks; this is a last resort
            log.exception("the %s lane of the equipment check failed", name)

    return run


def _safe_progress(progress: ProgressCallback | None) -> ProgressCallback:
    if progress is None:
        return lambda _: None
    callback = progress

    def report(update: Progress) -> None:
        try:
            callback(update)
        except Exception:
            log.exception("a progress callback raised; ignoring it")

    return report


def _camera(plan: CheckPlan) -> Camera:
    if plan.camera is not None:
        return plan.camera
    from app.devices.camera import open_camera

    return open_camera(plan.camera_source)


def _microphone(plan: CheckPlan) -> Microphone:
    if plan.microphone is not None:
        return plan.microphone
    from app.devices.audio import SoundDeviceMicrophone

    return SoundDeviceMicrophone(plan.mic_device)


def _speaker(plan: CheckPlan) -> Speaker:
    if plan.speaker is not None:
        return plan.speaker
    from app.devices.audio import SoundDeviceSpeaker

    return SoundDeviceSpeaker(plan.speaker_device)
