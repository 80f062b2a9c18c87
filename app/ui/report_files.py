"""Writing an equipment report to disk as an HTML page and a JSON file side by side."""

from __future__ import annotations

import os
from pathlib import Path

from app.ui.services import Report


class ReportSaveError(Exception):
    """Plain words for why the report could not be written."""


def save_report(report: Report, chosen: Path) -> list[Path]:
    """Write `<name>.html` and `<name>.json` next to `chosen`; returns the paths written."""
    html_path = chosen.with_suffix(".html")
    json_path = chosen.with_suffix(".json")
    try:
        _write_atomic(html_path, report.render_html())
        report.save_json(json_path)
    except (OSError, TypeError, ValueError) as exc:
        raise ReportSaveError(f"Tandem could not write to {chosen.parent}: {_why(exc)}") from exc
    return [html_path, json_path]


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
