"""The keys of the report's JSON, which a clinic's IT may rely on: both the unit test of the
report and the test of `tandem check --json` hold the output to them."""

from __future__ import annotations

CHECK_KEYS = {"status", "reason", "fix", "metrics"}
TOP_KEYS = {
    "verdict",
    "deciding_checks",
    "checks",
    "duration_s",
    "created_at",
    "app_version",
    "practice_mode",
    "server",
}
