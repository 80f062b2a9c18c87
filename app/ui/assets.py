"""Where the window's stylesheet and icons live, and loading them."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
ICONS = RESOURCES / "icons"


def stylesheet() -> str:
    """The app's QSS; an empty string (Qt's default look) if the file is missing."""
    try:
        text = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("stylesheet not loaded: %s", exc)
        return ""
    # QSS urls are relative to the working directory; point them at our icons instead.
    return text.replace("%ICONS%", ICONS.as_posix())


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons by name (without .svg)."""
    return QIcon(str(ICONS / f"{name}.svg"))
