"""Plain words for a device that cannot be used (shown next to pickers and previews)."""

from __future__ import annotations

from app.devices.base import DeviceError, DeviceProblem


def device_problem_words(kind: str, exc: DeviceError) -> str:
    words = {
        DeviceProblem.NOT_FOUND: f"No {kind} found. Check that it is plugged in.",
        DeviceProblem.BUSY: f"Another program is using the {kind}. Close it and try again.",
        DeviceProblem.PERMISSION: f"Tandem is not allowed to use the {kind}. "
        "Allow it in your computer's privacy settings.",
        DeviceProblem.NO_AUDIO_SYSTEM: "This computer's sound system is not available.",
        DeviceProblem.TIMEOUT: f"The {kind} did not answer in time.",
        DeviceProblem.FAILED: f"The {kind} could not be started.",
    }
    return words.get(exc.problem, f"The {kind} could not be started.")
