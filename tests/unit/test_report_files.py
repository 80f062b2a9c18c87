"""Which report file the Save dialog's choice writes, and what the confirmation says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.checks.report import CHECK_NAMES, EquipmentReport
from app.checks.result import CheckResult, Status
from app.ui.report_files import (
    DATA_FILE,
    WEB_PAGE,
    ReportSaveError,
    chosen_kind,
    save_report,
    saved_words,
)

REPORT = EquipmentReport(results=tuple(CheckResult(n, Status.PASS) for n in CHECK_NAMES))


@pytest.mark.parametrize(
    ("name", "selected", "kind"),
    [
        ("r.html", WEB_PAGE.file_filter, WEB_PAGE),
        ("r", "", WEB_PAGE),
        ("r.json", "", DATA_FILE),
        ("r.JSON", "", DATA_FILE),
        ("r.html", DATA_FILE.file_filter, DATA_FILE),  # the dialog's choice wins
        ("r.txt", "something else", WEB_PAGE),
    ],
)
def test_the_kind_is_what_the_person_chose(name: str, selected: str, kind: object) -> None:
    assert chosen_kind(Path(name), selected) is kind


def test_one_file_is_written_with_the_right_suffix(tmp_path: Path) -> None:
    page = save_report(REPORT, tmp_path / "report.txt")
    assert page == tmp_path / "report.html" and "<!DOCTYPE html>" in page.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    data = save_report(REPORT, tmp_path / "report", DATA_FILE)
    assert json.loads(data.read_text())["verdict"] == "ready"
    assert saved_words(page, WEB_PAGE) == "Saved report.html: a web page to send to your clinic."
    assert saved_words(data, DATA_FILE).endswith("a data file for your clinic's IT team.")


def test_a_folder_that_is_not_there_is_said_in_words(tmp_path: Path) -> None:
    with pytest.raises(ReportSaveError, match="that folder does not exist"):
        save_report(REPORT, tmp_path / "missing" / "report.html")
