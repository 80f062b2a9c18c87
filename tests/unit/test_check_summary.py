"""`tandem check` without --json: the speaker line when nothing proved the tone was heard."""

from __future__ import annotations

from app.checks.report import EquipmentReport
from app.checks.result import CheckResult, Status
from app.checks.speaker import check_speaker
from app.commands.check import _summary
from app.devices.fakes import FakeSpeaker


def test_an_unconfirmed_tone_is_a_warning_in_plain_words() -> None:
    speaker = check_speaker(FakeSpeaker(realtime=False), None)  # no microphone to listen
    report = EquipmentReport(
        results=(
            CheckResult("camera", Status.PASS),
            CheckResult("microphone", Status.PASS),
            speaker,
        ),
        skipped={"bandwidth": "Not checked (no server to measure against)"},
    )
    lines = _summary(report).splitlines()
    line = next(line for line in lines if line.startswith("speaker"))
    assert line.startswith(
        "speaker     WARNING  We played a test tone but could not confirm you heard it. "
        "What to do: "
    )
    assert "volume" in line and "headphones are plugged in" in line
    assert lines[-1] == "Verdict: Ready, with warnings (see above)."
    assert report.exit_code == 1
