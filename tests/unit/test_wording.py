"""What the person is asked to do while the check runs (issue 10 item 2)."""

from __future__ import annotations

import pytest

from app.checks.wording import NOTHING_TO_DO, PERSON_STEPS, person_instruction

WORDS = dict(PERSON_STEPS)


@pytest.mark.parametrize(
    ("running", "expected"),
    [
        (set(), NOTHING_TO_DO),
        ({"bandwidth"}, NOTHING_TO_DO),
        ({"camera"}, WORDS["camera"]),
        ({"camera", "bandwidth"}, WORDS["camera"]),
        # Speaking decides the microphone check: it wins over the camera running beside it.
        ({"camera", "microphone", "bandwidth"}, WORDS["microphone"]),
        ({"camera", "speaker"}, WORDS["speaker"]),
    ],
)
def test_the_instruction_that_matters_most_is_said(running: set[str], expected: str) -> None:
    assert person_instruction(running) == expected


def test_the_microphone_step_asks_the_person_to_speak() -> None:
    assert "say a few words" in WORDS["microphone"].lower()
