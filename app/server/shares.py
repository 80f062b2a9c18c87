"""Each sender's share of what waits for one client, so that no sender takes another's place.

Messages for a client wait in its Outbox (app/server/outbox.py) while it reads, or among the
frames held for it while it is in its grace period (app/server/seats.py). Either queue is
bounded; without shares, one participant's burst filled it, and the server dropped the client
that was reading (or, held, pushed out everyone else's messages). With them, a sender whose
share is full has its message refused (it hears `rate_limited`), and the reader and the other
senders are untouched: only the one who misbehaves pays.
"""

from __future__ import annotations

from collections import deque


class Shares:
    """Per sender, the frames and bytes it has waiting in one queue; and all senders' frames.

    `admit` counts a frame in if it fits: at most `frames_each` frames and `bytes_each` bytes
    of one sender, and `frames_all` of all senders together (None: no such bound). `release`
    counts it out again.
    """

    def __init__(self, frames_each: int, bytes_each: int, frames_all: int | None) -> None:
        self.frames_each = frames_each
        self.bytes_each = bytes_each
        self.frames_all = frames_all
        self._held: dict[str, tuple[int, int]] = {}  # sender -> (frames, bytes)
        self.frames = 0  # of all senders

    def admit(self, sender: str, size: int) -> bool:
        """Count in a frame of `size` bytes from `sender`; False (nothing counted) if it does
        not fit."""
        frames, held = self._held.get(sender, (0, 0))
        if (
            frames >= self.frames_each
            or held + size > self.bytes_each
            or (self.frames_all is not None and self.frames >= self.frames_all)
        ):
            return False
        self._held[sender] = (frames + 1, held + size)
        self.frames += 1
        return True

    def release(self, sender: str, size: int) -> None:
        """Count out a frame admitted before (written, or dropped)."""
        frames, held = self._held.pop(sender, (0, 0))
        if frames > 1:
            self._held[sender] = (frames - 1, held - size)
        self.frames -= 1

    def of(self, sender: str) -> int:
        """The frames `sender` has waiting."""
        return self._held.get(sender, (0, 0))[0]

    def clear(self) -> None:
        self._held.clear()
        self.frames = 0


class HeldFrames:
    """Relayed frames kept for a member in its grace period, oldest first, fairly shared.

    A sender past its share is refused (append returns False). Past `limit` in all (frames of
    senders that left the room), the oldest go.
    """

    def __init__(self, limit: int, share: int, share_bytes: int) -> None:
        self.limit = limit
        self._frames: deque[tuple[str, str]] = deque()
        self._shares = Shares(share, share_bytes, frames_all=None)

    def append(self, sender: str, text: str) -> bool:
        if not self._shares.admit(sender, len(text)):
            return False
        self._frames.append((sender, text))
        if len(self._frames) > self.limit:
            self._drop_oldest()
        return True

    def take(self) -> list[str]:
        """Every frame, in order; none is kept."""
        texts = [text for _, text in self._frames]
        self.clear()
        return texts

    def clear(self) -> None:
        self._frames.clear()
        self._shares.clear()

    def __len__(self) -> int:
        return len(self._frames)

    def _drop_oldest(self) -> None:
        sender, text = self._frames.popleft()
        self._shares.release(sender, len(text))
