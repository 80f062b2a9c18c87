"""Plain words the window shows for check names, statuses and verdicts."""

from __future__ import annotations

from app.checks.result import Status, Verdict

CHECK_ORDER = ("camera", "microphone", "speaker", "bandwidth")

CHECK_TITLES = {
    "camera": "Camera",
    "microphone": "Microphone",
    "speaker": "Speaker",
    "bandwidth": "Internet connection",
}

STATUS_WORDS = {
    Status.PASS: "Working",
    Status.WARN: "Works, but could be better",
    Status.FAIL: "Not working",
}

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


def check_title(name: str) -> str:
    return CHECK_TITLES.get(name, name.replace("_", " ").capitalize())


def verdict_detail(verdict: Verdict, deciding: tuple[str, ...]) -> str:
    names = ", ".join(check_title(n) for n in deciding)
    if verdict is Verdict.READY:
        return "Your camera, microphone, speaker and internet connection all work."
    if verdict is Verdict.READY_WITH_WARNINGS:
        return f"Have a look at: {names}. The cards below say what to do."
    return f"Not working yet: {names}. The cards below say what to do."
