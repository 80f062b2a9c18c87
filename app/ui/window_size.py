"""The window's first size: what Tandem would like, within the screen it opens on.

A laptop screen of 1366x768 or 1280x720, less its panels, is shorter than the size the pages
are laid out for; a window taller than the screen hides its own bottom (the Join button, the
call controls) and cannot be dragged back up. So the window asks for the preferred size only
as far as the screen's available area allows, with room for the title bar and borders the
window manager adds (the frame is not known before the window is shown).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

PREFERRED_SIZE = QSize(1100, 860)
# A typical title bar and borders, for a window not yet shown (its real frame is unknown).
FRAME_ALLOWANCE = QSize(16, 40)


def fit_size(preferred: QSize, available: QRect, minimum: QSize) -> QSize:
    """The preferred size, made small enough for `available` with a frame around it, but never
    below `minimum` (below it the pages would overlap their own parts)."""
    room = available.size() - FRAME_ALLOWANCE
    return preferred.boundedTo(room).expandedTo(minimum)


def fit_to_screen(window: QWidget, preferred: QSize = PREFERRED_SIZE) -> None:
    """Size `window` for the screen it opens on and centre it in that screen's free area."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:  # no screen at all (a headless test platform without one)
        window.resize(preferred)
        return
    available = screen.availableGeometry()
    size = fit_size(preferred, available, window.minimumSizeHint())
    window.resize(size)
    outer = size + FRAME_ALLOWANCE
    window.move(
        available.topLeft()
        + QPoint(
            max(0, (available.width() - outer.width()) // 2),
            max(0, (available.height() - outer.height()) // 2),
        )
    )
