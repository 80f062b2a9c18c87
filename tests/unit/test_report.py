"""The equipment report's JSON shape and its printable HTML page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

from app import __version__
from app.checks.report import CHECK_NAMES, EquipmentReport
from app.checks.result import CheckResult, Status
from tests.report_keys import CHECK_KEYS, TOP_KEYS

WHEN = datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC)


def sample_report(**overrides: object) -> EquipmentReport:
    fields: dict[str, object] = {
        "results": (
            CheckResult("camera", Status.PASS, metrics={"fps": 29.7, "width": 640}),
            CheckResult(
                "microphone",
                Status.WARN,
                "Your microphone is very quiet",
                "Move closer to the microphone",
                {"level_dbfs": -48.2, "clipping": False},
            ),
            CheckResult(
                "bandwidth",
                Status.FAIL,
                "Your upload is too slow for video",
                "Move closer to the Wi-Fi router or use a cable",
                {"download_mbps": 12.5, "upload_mbps": 1.2, "ping_ms": 40},
            ),
        ),
        "skipped": {"speaker": "Not checked (--no-speaker)"},
        "duration_s": 4.567,
        "created_at": WHEN,
        "practice_mode": False,
        "server": "https://sessions.example-clinic.org",
    }
    fields.update(overrides)
    return EquipmentReport(**fields)  # type: ignore[arg-type]


def test_json_has_exactly_the_documented_keys() -> None:
    data = sample_report().to_json()
    assert set(data) == TOP_KEYS
    assert list(data["checks"]) == list(CHECK_NAMES)
    assert set(CHECK_NAMES) == {"camera", "microphone", "speaker", "bandwidth"}
    for entry in data["checks"].values():
        assert set(entry) == CHECK_KEYS
    assert data["verdict"] == "not_ready"
    assert data["deciding_checks"] == ["bandwidth"]
    assert data["duration_s"] == 4.57
    assert data["created_at"] == "2026-11-03T14:05:09Z"
    assert data["app_version"] == __version__
    assert data["practice_mode"] is False
    assert data["server"] == "https://sessions.example-clinic.org"


def test_check_entries_carry_status_words_reasons_fixes_and_figures() -> None:
    checks = sample_report().to_json()["checks"]
    assert checks["camera"] == {
        "status": "pass",
        "reason": "",
        "fix": "",
        "metrics": {"fps": 29.7, "width": 640},
    }
    assert checks["microphone"]["status"] == "warn"
    assert checks["microphone"]["fix"] == "Move closer to the microphone"
    assert checks["bandwidth"]["metrics"]["upload_mbps"] == 1.2


def test_a_skipped_check_is_listed_as_skipped_with_its_reason() -> None:
    speaker = sample_report().to_json()["checks"]["speaker"]
    assert speaker == {
        "status": "skipped",
        "reason": "Not checked (--no-speaker)",
        "fix": "",
        "metrics": {},
    }


def test_a_check_neither_run_nor_skipped_still_appears() -> None:
    data = EquipmentReport(results=()).to_json()
    assert {e["status"] for e in data["checks"].values()} == {"skipped"}
    assert data["verdict"] == "ready"


def test_created_at_is_converted_to_utc() -> None:
    local = datetime(2026, 11, 3, 9, 5, 9, tzinfo=timezone(timedelta(hours=-5)))
    assert sample_report(created_at=local).to_json()["created_at"] == "2026-11-03T14:05:09Z"


def test_no_personal_fields_unless_the_user_typed_them() -> None:
    assert "note" not in sample_report().to_json()
    assert "couple_label" not in sample_report().to_json()
    data = sample_report(note="Tuesday group", couple_label="A & B").to_json()
    assert data["note"] == "Tuesday group"
    assert data["couple_label"] == "A & B"


def test_figures_that_could_not_be_measured_are_null_so_the_json_stays_valid() -> None:
    report = EquipmentReport(
        results=(CheckResult("bandwidth", Status.FAIL, "x", "y", {"ping_ms": float("nan")}),)
    )
    text = report.to_json_text()
    assert json.loads(text)["checks"]["bandwidth"]["metrics"]["ping_ms"] is None


def test_save_json_round_trips(tmp_path: Path) -> None:
    report = sample_report()
    target = tmp_path / "report.json"
    report.save_json(target)
    assert json.loads(target.read_text(encoding="utf-8")) == report.to_json()


class _Collector(HTMLParser):
    """Collects tags and visible text, so tests read the page as a browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def test_html_says_the_verdict_and_each_status_in_words() -> None:
    page = sample_report().render_html()
    text = " ".join(parse(page).text)
    assert page.startswith("<!DOCTYPE html>")
    assert text.index("Not ready yet") < text.index("Camera")  # verdict on top
    for words in ("Working", "Works, but could be better", "Not working", "Not checked"):
        assert words in text
    assert "Your upload is too slow for video" in text
    assert "Move closer to the Wi-Fi router or use a cable" in text
    assert "Not checked (--no-speaker)" in text
    assert "2026-11-03 14:05 UTC" in text
    assert f"Tandem version {__version__}" in text
    assert "https://sessions.example-clinic.org" in text


def test_html_shows_the_figures_in_a_table() -> None:
    page = sample_report().render_html()
    collected = parse(page)
    assert "table" in collected.tags
    text = " ".join(collected.text)
    assert "Upload (Mbps)" in text
    assert "1.2" in text
    assert "Clipping" in text and "no" in text


def test_html_is_standalone_with_nothing_fetched_or_run() -> None:
    page = sample_report().render_html()
    tags = set(parse(page).tags)
    assert "style" in tags
    assert not tags & {"script", "link", "img", "iframe"}
    assert "http://" not in page.replace("https://sessions.example-clinic.org", "")


def test_html_escapes_everything_from_outside() -> None:
    evil = '<script>alert("x")</script>&'
    report = EquipmentReport(
        results=(
            CheckResult("camera", Status.FAIL, evil, evil, {evil: evil}),
            CheckResult("microphone", Status.PASS),
        ),
        skipped={"speaker": evil},
        server=evil,
        note=evil,
        couple_label=evil,
        created_at=WHEN,
    )
    page = report.render_html()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "script" not in parse(page).tags
    # Every copy of the text comes back intact when the page is read: the reason, the fix, the
    # skip reason, the note and the label. The metric and the server are free text that did not
    # come from the user, so the report leaves them out (app/checks/report_privacy.py).
    text = "\n".join(parse(page).text)
    assert text.count('alert("x")') == 5
    assert "Measured against: the clinic's server" in text


def test_html_for_a_ready_report() -> None:
    report = EquipmentReport(
        results=tuple(CheckResult(n, Status.PASS) for n in CHECK_NAMES), created_at=WHEN
    )
    text = " ".join(parse(report.render_html()).text)
    assert "Ready for sessions" in text
    assert "Not working" not in text


def test_write_a_sample_page_for_a_person_to_look_at(artifacts_dir: Path) -> None:
    page = sample_report(note="Checked on the living-room laptop").render_html()
    (artifacts_dir / "equipment-report-sample.html").write_text(page, encoding="utf-8")
    assert parse(page).text


def test_a_practice_report_says_it_measured_nothing_of_the_internet() -> None:
    # Issue 10 item 1: a practice report once showed thousands of Mbps as if measured online.
    from app.checks.bandwidth import PRACTICE_NOT_MEASURED
    from app.checks.report_html import PRACTICE_REPORT_NOTE

    report = EquipmentReport(
        results=tuple(CheckResult(n, Status.PASS) for n in CHECK_NAMES if n != "bandwidth"),
        skipped={"bandwidth": PRACTICE_NOT_MEASURED},
        created_at=WHEN,
        practice_mode=True,
    )
    data = report.to_json()
    assert data["practice_mode"] is True
    assert data["checks"]["bandwidth"]["status"] == "skipped"
    assert data["checks"]["bandwidth"]["reason"] == PRACTICE_NOT_MEASURED
    assert "internet connection" in PRACTICE_NOT_MEASURED and "practice" in PRACTICE_NOT_MEASURED
    text = " ".join(parse(report.render_html()).text)
    assert PRACTICE_REPORT_NOTE in text and PRACTICE_NOT_MEASURED in text
    assert "Mbps" not in text
    # A real check's report says nothing of practice.
    assert "Practice mode" not in " ".join(parse(sample_report().render_html()).text)


def test_the_apps_plan_in_practice_mode_measures_no_bandwidth() -> None:
    from app.checks.bandwidth import PRACTICE_NOT_MEASURED
    from app.ui.services import DeviceChoice, system_plan

    practice = system_plan(DeviceChoice(server_url="http://127.0.0.1:9", practice_mode=True))
    assert practice.bandwidth_probe is None and practice.server is None
    assert practice.bandwidth_skip_reason == PRACTICE_NOT_MEASURED
    clinic = system_plan(DeviceChoice(server_url="https://sessions.example-clinic.org"))
    assert clinic.bandwidth_probe is not None


def test_a_bandwidth_measured_later_takes_its_place_and_leaves_the_skipped_list() -> None:
    from app.checks.report import PUBLIC_SERVER
    from app.checks.report_html import PRACTICE_PUBLIC_NOTE

    skipped = EquipmentReport(
        results=tuple(CheckResult(n, Status.PASS) for n in CHECK_NAMES if n != "bandwidth"),
        skipped={"bandwidth": "Not checked: practice mode"},
        practice_mode=True,
    )
    measured = CheckResult("bandwidth", Status.WARN, "Slow upload", "Pause downloads")
    report = skipped.with_measured(measured, PUBLIC_SERVER)
    assert [r.name for r in report.results] == list(CHECK_NAMES)
    assert report.skipped == {} and report.server == PUBLIC_SERVER
    assert report.verdict.value == "ready_with_warnings"
    assert report.to_json()["server"] == PUBLIC_SERVER
    assert PRACTICE_PUBLIC_NOTE in " ".join(parse(report.render_html()).text)
    again = report.with_measured(CheckResult("bandwidth", Status.PASS))
    assert again.result("bandwidth") == CheckResult("bandwidth", Status.PASS)
    assert again.server == PUBLIC_SERVER and len(again.results) == len(CHECK_NAMES)


def test_a_practice_report_with_figures_from_this_computer_says_they_are_not_the_internet() -> None:
    # `tandem check` in practice mode measures against a server it starts on this computer.
    from app.checks.report_html import PRACTICE_LOCAL_NOTE, practice_note

    report = sample_report(practice_mode=True, server="http://127.0.0.1:8765")
    assert practice_note(report) == PRACTICE_LOCAL_NOTE
    assert PRACTICE_LOCAL_NOTE in " ".join(parse(report.render_html()).text)
