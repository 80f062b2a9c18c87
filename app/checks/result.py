"""What every check returns, and how the results add up to one verdict."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MetricValue = float | int | str | bool | None


class Status(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome.

    `reason` and `fix` are written for a non-technical person and are empty only on a pass.
    `metrics` holds the measured figures (numbers a clinic's IT can read).
    """

    name: str
    status: Status
    reason: str = ""
    fix: str = ""
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "fix": self.fix,
            "metrics": dict(self.metrics),
        }


class Verdict(enum.StrEnum):
    READY = "ready"
    READY_WITH_WARNINGS = "ready_with_warnings"
    NOT_READY = "not_ready"

    @property
    def exit_code(self) -> int:
        return {Verdict.READY: 0, Verdict.READY_WITH_WARNINGS: 1, Verdict.NOT_READY: 2}[self]


@dataclass(frozen=True)
class VerdictSummary:
    verdict: Verdict
    deciding_checks: tuple[str, ...]


def decide(results: Sequence[CheckResult]) -> VerdictSummary:
    """Any fail makes the set not ready; otherwise any warning makes it ready with warnings.

    The deciding checks are the ones at the worst status, so the user sees what to fix first.
    """
    failed = tuple(r.name for r in results if r.status is Status.FAIL)
    if failed:
        return VerdictSummary(Verdict.NOT_READY, failed)
    warned = tuple(r.name for r in results if r.status is Status.WARN)
    if warned:
        return VerdictSummary(Verdict.READY_WITH_WARNINGS, warned)
    return VerdictSummary(Verdict.READY, ())
