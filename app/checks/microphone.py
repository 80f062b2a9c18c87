"""The microphone check: record a moment and say whether the other side will hear you well."""

from __future__ import annotations

from app.checks.audio_analysis import LevelStats, level_stats
from app.checks.device_problem import RETRY, SOUND_SYSTEM_WORDS, DeviceWords, device_failure
from app.checks.result import CheckResult, MetricValue, Status
from app.devices.base import DeviceError, DeviceProblem, Microphone
from app.progress import Progress, ProgressCallback, ignore_progress

NAME = "microphone"
SILENT_PEAK_DBFS = -80.0  # nothing at all reached the computer: muted or dead (fail)
QUIET_LEVEL_DBFS = -55.0  # a voice this quiet is hard to follow (warn)
CLIPPING_RATIO = 0.01  # 1 % of samples at full scale: audibly distorted (warn)
INVALID_RATIO = 0.001  # samples that are not numbers: a broken driver (fail)

DEVICE_WORDS: DeviceWords = {
    DeviceProblem.NOT_FOUND: (
        "We could not find a microphone",
        f"Plug in a headset or a microphone. {RETRY}",
    ),
    DeviceProblem.NO_AUDIO_SYSTEM: SOUND_SYSTEM_WORDS,
    DeviceProblem.BUSY: (
        "Another program is using your microphone",
        f"Close other call programs, such as Zoom, Teams or Skype. {RETRY}",
    ),
    DeviceProblem.PERMISSION: (
        "Tandem is not allowed to use your microphone",
        f"Open your computer's privacy settings and allow Tandem to use the microphone. {RETRY}",
    ),
    DeviceProblem.TIMEOUT: (
        "Your microphone did not respond",
        "Unplug the headset or microphone and plug it in again, or restart your computer. " + RETRY,
    ),
    DeviceProblem.FAILED: (
        "Your microphone is not working properly",
        "Unplug the headset or microphone and plug it in again, or restart your computer. " + RETRY,
    ),
}


def check_microphone(
    mic: Microphone, duration_s: float = 2.0, progress: ProgressCallback | None = None
) -> CheckResult:
    """Record `duration_s` seconds and judge the level (ask the person to speak meanwhile)."""
    report = progress or ignore_progress
    report(Progress(NAME, 0.0, "Listening to your microphone… please say a few words"))
    try:
        samples = mic.record(duration_s)
        stats = level_stats(samples, mic.samplerate)
    except DeviceError as error:
        return device_failure(NAME, error, DEVICE_WORDS)
    except ValueError as error:  # an empty or malformed recording
        return device_failure(NAME, DeviceError(DeviceProblem.FAILED, str(error)), DEVICE_WORDS)
    result = judge(stats, mic.samplerate)
    report(Progress(NAME, 1.0, "Microphone checked", figure=f"{stats.level_dbfs:.0f} dB"))
    return result


def judge(stats: LevelStats, samplerate: int) -> CheckResult:
    """Turn measured levels into a verdict with plain-words reason and fix."""
    metrics: dict[str, MetricValue] = {
        "level_dbfs": round(stats.level_dbfs, 1),
        "peak_dbfs": round(stats.peak_dbfs, 1),
        "clipping_ratio": round(stats.clipping_ratio, 4),
        "noise_floor_dbfs": round(stats.noise_floor_dbfs, 1),
        "invalid_ratio": round(stats.invalid_ratio, 4),
        "samplerate": samplerate,
    }

    def result(status: Status, reason: str = "", fix: str = "") -> CheckResult:
        return CheckResult(NAME, status, reason, fix, metrics)

    if stats.invalid_ratio > INVALID_RATIO:
        return result(Status.FAIL, *DEVICE_WORDS[DeviceProblem.FAILED])
    if stats.peak_dbfs < SILENT_PEAK_DBFS:
        return result(
            Status.FAIL,
            "We could not hear you: your microphone may be muted",
            "Check the mute button on your headset, keyboard or microphone, and make sure the "
            f"right microphone is chosen in Tandem's Microphone list. {RETRY}",
        )
    if stats.clipping_ratio > CLIPPING_RATIO:
        return result(
            Status.WARN,
            "Your microphone is too loud, so your voice may sound distorted",
            "Sit a little further from the microphone, or turn the microphone volume down in "
            "your computer's sound settings.",
        )
    if stats.level_dbfs < QUIET_LEVEL_DBFS:
        return result(
            Status.WARN,
            "Your microphone is very quiet, so you may be hard to hear",
            "Sit closer to the microphone and speak up, or turn the microphone volume up in "
            "your computer's sound settings.",
        )
    return result(Status.PASS)
