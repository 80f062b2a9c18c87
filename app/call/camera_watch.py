"""When a camera that gave frames has stopped giving them (lost), as opposed to hiccuping.

Qt-free and fed one read's outcome at a time, with time injected: the self view's reader thread
and the call's video track each keep one, and tests drive minutes of a failing camera in
milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# No good camera frame for this long after good ones: the camera is lost, not hiccuping. A USB
# camera's worst stalls (exposure change, bus reset) stay well under it; an unplugged one never
# comes back by itself.
CAMERA_LOST_AFTER_S = 2.0


class CameraWatch:
    """Says "lost" once when no frame came for `lost_after` seconds after a good one, and is
    ready to say it again once a frame has come back.

    A camera that has given no frame yet is never lost here: it is still starting, or it could
    not start, which whoever opened it reports. One watch per opening of the device.
    """

    def __init__(
        self,
        lost_after: float = CAMERA_LOST_AFTER_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lost_after = lost_after
        self._now = now
        self._good_at: float | None = None
        self.lost = False

    @property
    def started(self) -> bool:
        """True once the clock runs: a good frame came, or start_clock() was called."""
        return self._good_at is not None

    def start_clock(self) -> None:
        """Count from now as if a frame had just come: for a reader that knows the device opened
        but has had no frame itself yet (another reader may have had many)."""
        if self._good_at is None:
            self._good_at = self._now()

    def frame(self) -> bool:
        """A good frame; True when it ends a loss (frames came back)."""
        came_back = self.lost
        self._good_at = self._now()
        self.lost = False
        return came_back

    def failed(self) -> bool:
        """A failed or empty read; True exactly once per loss, when it becomes one."""
        if self._good_at is None or self.lost:
            return False
        if self._now() - self._good_at < self._lost_after:
            return False
        self.lost = True
        return True
