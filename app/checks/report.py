"""The equipment check's report: the verdict, each check's outcome, and its JSON and HTML forms.

The JSON is what `tandem check --json` prints and what a clinic's IT can read; the HTML page
(app/checks/report_html.py) is what the couple sends to the clinic before enrolling.

A check that was not run (the speaker with `--no-speaker`, the bandwidth with no probe) is listed
with `"status": "skipped"` and a reason, and does not count toward the verdict. Status itself
stays pass/warn/fail: "skipped" exists only in the report, never as a CheckResult.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.checks import report_privacy
from app.checks.result import CheckResult, MetricValue, Verdict, VerdictSummary, decide

CHECK_NAMES: tuple[str, ...] = ("camera", "microphone", "speaker", "bandwidth")
SKIPPED = "skipped"
PUBLIC_SERVER = report_privacy.PUBLIC_SERVER

# What a person types for the report (their names, a note for the clinic): enough for a
# sentence or two, never a document pasted by mistake.
MAX_TYPED_CHARS = 500


@dataclass(frozen=True)
class EquipmentReport:
    """The outcome of one equipment check.

    `results` holds the checks that ran; `skipped` maps a check that did not run to the reason,
    in plain words. `server` is the session server's URL, "public" for speedtest.net, or None when
    the bandwidth was not measured. `practice_mode` is true when no clinic server was involved
    (the bandwidth was measured against a server this computer started for the check).
    `note` and `couple_label` are only what the user typed, and appear in the JSON only if set.
    Nothing else personal goes out: metrics and the server pass through report_privacy (no
    device names, file paths or credentials), for the JSON and the HTML page alike.
    """

    results: tuple[CheckResult, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    app_version: str = __version__
    practice_mode: bool = False
    server: str | None = None
    note: str = ""
    couple_label: str = ""

    @property
    def summary(self) -> VerdictSummary:
        return decide(self.results)

    @property
    def verdict(self) -> Verdict:
        return self.summary.verdict

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def result(self, name: str) -> CheckResult | None:
        """The named check's result, or None if it was skipped."""
        for r in self.results:
            if r.name == name:
                return r
        return None

    def with_details(self, couple_label: str, note: str) -> EquipmentReport:
        """This report with what the person typed for the clinic (trimmed to MAX_TYPED_CHARS)."""
        return replace(
            self,
            couple_label=couple_label.strip()[:MAX_TYPED_CHARS],
            note=note.strip()[:MAX_TYPED_CHARS],
        )

    def with_result(self, result: CheckResult) -> EquipmentReport:
        """This report with `result` in place of the check of the same name (e.g. the speaker
        check once the person said whether they heard the tone)."""
        results = tuple(result if r.name == result.name else r for r in self.results)
        if result.name not in {r.name for r in self.results}:
            raise ValueError(f"no {result.name} check in this report")
        return replace(self, results=results)

    def with_measured(self, result: CheckResult, server: str | None = None) -> EquipmentReport:
        """This report with `result` for a check that was skipped or ran (practice mode's public
        speed test, run afterwards from the card); `server` says where the bandwidth was
        measured."""
        results = tuple(r for r in self.results if r.name != result.name) + (result,)
        order = {name: index for index, name in enumerate(CHECK_NAMES)}
        results = tuple(sorted(results, key=lambda r: order.get(r.name, len(order))))
        skipped = {k: v for k, v in self.skipped.items() if k != result.name}
        return replace(
            self, results=results, skipped=skipped, server=server if server else self.server
        )

    def check_json(self, name: str) -> dict[str, Any]:
        """One check's entry of the JSON report."""
        r = self.result(name)
        if r is None:
            reason = self.skipped.get(name, "Not checked")
            return {"status": SKIPPED, "reason": reason, "fix": "", "metrics": {}}
        entry = r.to_json()
        metrics = report_privacy.report_metrics(r.metrics)
        entry["metrics"] = {k: _json_safe(v) for k, v in metrics.items()}
        return entry

    def to_json(self) -> dict[str, Any]:
        summary = self.summary
        data: dict[str, Any] = {
            "verdict": summary.verdict.value,
            "deciding_checks": list(summary.deciding_checks),
            "checks": {name: self.check_json(name) for name in CHECK_NAMES},
            "duration_s": round(self.duration_s, 2),
            "created_at": _iso_utc(self.created_at),
            "app_version": self.app_version,
            "practice_mode": self.practice_mode,
            "server": report_privacy.report_server(self.server),
        }
        if self.note:
            data["note"] = self.note
        if self.couple_label:
            data["couple_label"] = self.couple_label
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False, allow_nan=False)

    def save_json(self, path: Path) -> None:
        path.write_text(self.to_json_text() + "\n", encoding="utf-8")

    def render_html(self) -> str:
        """A standalone, printable page for the couple to send to the clinic."""
        from app.checks.report_html import render_report_html

        return render_report_html(self)

    def save_html(self, path: Path) -> None:
        path.write_text(self.render_html(), encoding="utf-8")


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json_safe(value: MetricValue) -> MetricValue:
    """NaN and infinity are not JSON; a figure that could not be measured is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
