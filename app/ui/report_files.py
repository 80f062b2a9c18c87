"""Writing an equipment report to disk: the web page a couple sends to the clinic, or (only when
asked for) the data file a clinic's IT team reads. Each kind says what it is for, in the save
dialog and in the confirmation beside the Save button."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.ui.services import Report


class ReportSaveError(Exception):
    """Plain words for why the report could not be written."""


@dataclass(frozen=True)
class ReportKind:
    suffix: str
    file_filter: str  # the save dialog's choice, which says what the file is for
    purpose: str  # the confirmation's words after the file name


WEB_PAGE = ReportKind(
    ".html", "Web page to send to your clinic (*.html)", "a web page to send to your clinic"
)
DATA_FILE = ReportKind(
    ".json",
    "Data file for your clinic's IT team, only if they ask for it (*.json)",
    "a data file for your clinic's IT team",
)
REPORT_KINDS = (WEB_PAGE, DATA_FILE)
SAVE_FILTERS = ";;".join(kind.file_filter for kind in REPORT_KINDS)


def chosen_kind(chosen: Path, selected_filter: str) -> ReportKind:
    """The kind the person picked in the dialog (its filter), else the one the name ends in;
    a web page unless they asked for data."""
    for kind in REPORT_KINDS:
        if selected_filter == kind.file_filter:
            return kind
    return DATA_FILE if chosen.suffix.lower() == DATA_FILE.suffix else WEB_PAGE


def saved_words(path: Path, kind: ReportKind) -> str:
    """The confirmation beside the Save button."""
    return f"Saved {path.name}: {kind.purpose}."


def save_report(report: Report, chosen: Path, kind: ReportKind = WEB_PAGE) -> Path:
    """Write one file of `kind` at `chosen` (its suffix made right); returns the path written."""
    path = chosen.with_suffix(kind.suffix)
    try:
        text = report.render_html() if kind is WEB_PAGE else _json_text(report)
        _write_atomic(path, text)
    except (OSError, TypeError, ValueError) as exc:
        raise ReportSaveError(f"Tandem could not write to {chosen.parent}: {_why(exc)}") from exc
    return path


def _json_text(report: Report) -> str:
    import json

    return json.dumps(report.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _why(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "you do not have permission to save there"
    if isinstance(exc, FileNotFoundError):
        return "that folder does not exist"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
