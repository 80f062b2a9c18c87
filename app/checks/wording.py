"""The plain words for each check and its status, the same in the window and in the report.

The couple sees these words in the window and sends the report page to the clinic; both must
say the same thing, so both take them from here.
"""

from __future__ import annotations

from app.checks.result import Status

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

NOT_CHECKED = "Not checked"


def check_title(name: str) -> str:
    return CHECK_TITLES.get(name, name.replace("_", " ").capitalize())
