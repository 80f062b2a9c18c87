"""How check results add up to one verdict and one exit code."""

from __future__ import annotations

import pytest

from app.checks.report import EquipmentReport
from app.checks.result import CheckResult, Status, Verdict, decide


def result(name: str, status: Status) -> CheckResult:
    return CheckResult(name, status, "" if status is Status.PASS else "why", "")


def test_all_pass_is_ready_with_nothing_deciding() -> None:
    summary = decide([result("camera", Status.PASS), result("microphone", Status.PASS)])
    assert summary.verdict is Verdict.READY
    assert summary.deciding_checks == ()


def test_no_checks_at_all_is_ready() -> None:
    assert decide([]).verdict is Verdict.READY


def test_a_warning_makes_it_ready_with_warnings_and_names_the_warned_checks() -> None:
    summary = decide(
        [
            result("camera", Status.PASS),
            result("microphone", Status.WARN),
            result("bandwidth", Status.WARN),
        ]
    )
    assert summary.verdict is Verdict.READY_WITH_WARNINGS
    assert summary.deciding_checks == ("microphone", "bandwidth")


def test_any_fail_is_not_ready_and_only_failures_decide() -> None:
    summary = decide(
        [
            result("camera", Status.WARN),
            result("microphone", Status.FAIL),
            result("speaker", Status.PASS),
            result("bandwidth", Status.FAIL),
        ]
    )
    assert summary.verdict is Verdict.NOT_READY
    assert summary.deciding_checks == ("microphone", "bandwidth")


@pytest.mark.parametrize(
    ("verdict", "code"),
    [(Verdict.READY, 0), (Verdict.READY_WITH_WARNINGS, 1), (Verdict.NOT_READY, 2)],
)
def test_exit_codes(verdict: Verdict, code: int) -> None:
    assert verdict.exit_code == code


def test_a_skipped_check_does_not_count_toward_the_verdict() -> None:
    report = EquipmentReport(
        results=(result("camera", Status.PASS), result("microphone", Status.PASS)),
        skipped={"speaker": "Not checked (--no-speaker)", "bandwidth": "Not checked"},
    )
    assert report.verdict is Verdict.READY
    assert report.exit_code == 0
    assert report.to_json()["deciding_checks"] == []
