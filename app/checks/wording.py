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


# What the person must do while a part of the check runs, most needed first: a person who stays
# quiet fails the microphone check, so that instruction wins over the others running beside it.
PERSON_STEPS: tuple[tuple[str, str], ...] = (
    ("microphone", "Please say a few words now, in your normal voice."),
    ("speaker", "Listen: a short test sound is playing from your speaker."),
    ("camera", "Look at your camera for a moment."),
)
NOTHING_TO_DO = "Nothing to do now: just wait a few seconds."


def person_instruction(running: set[str] | frozenset[str]) -> str:
    """What the person must do now, given the checks that have started and not yet finished."""
    for name, words in PERSON_STEPS:
        if name in running:
            return words
    return NOTHING_TO_DO
