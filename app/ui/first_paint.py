"""`TANDEM_SMOKE=paint` (app/smoke.py): close the window once a page has been painted.

The event filter only notes the first paint; the report and the close wait for the event loop's
next turn, by which time the painted frame has been handed to the window system. The line goes to
stdout: stderr is not safe at that moment, because sounddevice points it at /dev/null while
PortAudio starts (to hide ALSA's chatter), and the device lists load just as the page first shows.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from app.smoke import PAINT, PAINTED_LINE, requested

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class CloseAfterFirstPaint(QObject):
    def __init__(self, page: QWidget, window: QWidget) -> None:
        super().__init__(page)
        self._window = window
        self.painted = False
        page.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.painted and event.type() == QEvent.Type.Paint:
            self.painted = True
            QTimer.singleShot(0, self._report_and_close)
        return False

    def _report_and_close(self) -> None:
        print(PAINTED_LINE, file=sys.stdout, flush=True)
        self._window.close()


def close_after_first_paint_if_asked(window: MainWindow) -> CloseAfterFirstPaint | None:
    """Watch the window's equipment-check page when TANDEM_SMOKE=paint; else do nothing."""
    if requested() != PAINT:
        return None
    return CloseAfterFirstPaint(window.preflight, window)
