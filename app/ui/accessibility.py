"""Screen-reader announcements: say a change out loud without moving the keyboard focus."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent

Politeness = QAccessible.AnnouncementPoliteness


def announce(source: QObject, text: str, politeness: Politeness = Politeness.Polite) -> None:
    """Ask a running screen reader to speak `text`, as coming from `source`.

    Polite by default: it waits until the reader has finished what it is saying (a focus
    change, say), like an ARIA polite live region, so nothing the person asked for is cut off.
    Without a screen reader (or offscreen) Qt drops the event, so callers need not check.
    """
    text = " ".join(text.split())
    if not text:
        return
    event = QAccessibleAnnouncementEvent(source, text)
    event.setPoliteness(politeness)
    QAccessible.updateAccessibility(event)
