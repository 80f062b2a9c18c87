"""A page whose minimum height is what its wrapped text needs at its current width.

A box layout's minimum counts a word-wrapped label at its narrowest wrap, not at the width it
really gets; below that real height the layout squeezes every row and parts of the page cover
each other (the self view's note over the self view, at the smallest call page). Keeping the
page's minimum at `heightForWidth` lets the window's own minimum follow, so it cannot be made
that small. (Scrolled pages do the same through app.ui.scroll.PageScrollArea.)

It is the layout's *minimum* height for the width (every wrapped label at its real wrap, every
row at its least), not its preferred `heightForWidth`: the preferred one counts each row at its
size hint and so asked for more than a crowded call page needs, pushing the window taller than
a 1280x720 screen (issue 10 item 3).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class _WrappedHeight(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QWidget) and event.type() in (
            QEvent.Type.LayoutRequest,
            QEvent.Type.Resize,
        ):
            fit_wrapped_height(watched)
        return False


def fit_wrapped_height(page: QWidget) -> None:
    layout = page.layout()
    if layout is None or not layout.hasHeightForWidth():
        return
    needed = layout.minimumHeightForWidth(page.width())
    if needed > 0 and page.minimumHeight() != needed:
        page.setMinimumHeight(needed)


def keep_wrapped_height(page: QWidget) -> None:
    """Keep `page`'s minimum height at what its layout needs at its width, from now on."""
    keeper = _WrappedHeight(page)
    page.installEventFilter(keeper)
