"""Plain words the window shows for verdicts, and the icons for statuses.

Check titles and status words are the report's too: they live in app.checks.wording.
"""

from __future__ import annotations

from app.checks.report import CHECK_NAMES
from app.checks.result import Status, Verdict
from app.checks.wording import check_title

CHECK_ORDER = CHECK_NAMES

STATUS_ICONS = {Status.PASS: "pass", Status.WARN: "warn", Status.FAIL: "fail"}

VERDICT_TITLES = {
    Verdict.READY: "You're ready for your session.",
    Verdict.READY_WITH_WARNINGS: "You can join, but some things could be better.",
    Verdict.NOT_READY: "Some things need fixing before your session.",
}

VERDICT_ICONS = {
    Verdict.READY: "pass",
    Verdict.READY_WITH_WARNINGS: "warn",
    Verdict.NOT_READY: "fail",
}


def verdict_detail(verdict: Verdict, deciding: tuple[str, ...]) -> str:
    names = ", ".join(check_title(n) for n in deciding)
    if verdict is Verdict.READY:
        return "Your camera, microphone, speaker and internet connection all work."
    if verdict is Verdict.READY_WITH_WARNINGS:
        return f"Have a look at: {names}. The cards below say what to do."
    return f"Not working yet: {names}. The cards below say what to do."
