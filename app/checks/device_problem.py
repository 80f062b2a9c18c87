"""What a check says when its device cannot be used: the words, and the failed result."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from app.checks.result import CheckResult, MetricValue, Status
from app.devices.base import DeviceError, DeviceProblem

log = logging.getLogger(__name__)

RETRY = "Then run the check again."

# The microphone and the speaker go through the same sound system, so they say the same.
SOUND_SYSTEM_WORDS = (
    "The sound system of your computer is not working",
    "Restart your computer. If this message comes back, please call your clinic.",
)

DeviceWords = Mapping[DeviceProblem, tuple[str, str]]


def device_failure(
    name: str,
    error: DeviceError,
    words: DeviceWords,
    metrics: Mapping[str, MetricValue] | None = None,
) -> CheckResult:
    """The failed `name` check, in `words` (those for FAILED where a problem has none)."""
    reason, fix = words.get(error.problem, words[DeviceProblem.FAILED])
    log.info("%s check: device problem %s (%s)", name, error.problem.value, error.detail)
    figures = {**(metrics or {}), "problem": error.problem.value, "detail": error.detail}
    return CheckResult(name, Status.FAIL, reason, fix, figures)
