"""What the call page shows while a call rides out a bad network, decided without Qt.

Two small machines the page feeds with engine events and clicks: `Interruptions` (who is
interrupted since when, the seconds each tile counts, when the dial-in numbers come up) and
`VideoPause` (the banner about our own video paused for a weak link, and the person's choice).
Time is the engine's monotonic clock, passed in (`now`), so tests drive it in milliseconds.
"""

from __future__ import annotations

import enum
import math

# After this long with a peer interrupted, the clinic's dial-in numbers come up in the call.
DIAL_IN_AFTER_S = 10.0

VIDEO_PAUSED = "Video paused to keep your voices clear — weak connection"
STAYING_ON_AUDIO = "Audio only, as you chose."


def reconnecting_words(name: str, seconds: int) -> str:
    """What an interrupted person's tile says (never "left": they did not leave)."""
    return f"Reconnecting to {name}… {seconds} s"


class Interruptions:
    """Peers whose media stopped, from the PeerInterrupted event's time until PeerRestored (or
    PeerLeft). The dial-in numbers show once one of them has been out DIAL_IN_AFTER_S and stay
    until every peer is back: numbers that come and go are no help to someone dialling."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._dial_in = False

    def interrupted(self, peer_id: str, at: float) -> None:
        """A repeat report while still out keeps the first time (the counter must not jump
        back)."""
        self._since.setdefault(peer_id, at)

    def restored(self, peer_id: str) -> bool:
        """True if the peer was interrupted (restored or gone: the same to the page)."""
        found = self._since.pop(peer_id, None) is not None
        if not self._since:
            self._dial_in = False
        return found

    def clear(self) -> None:
        self._since.clear()
        self._dial_in = False

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(self._since)

    def seconds(self, peer_id: str, now: float) -> int | None:
        """Whole seconds `peer_id` has been out (None: not interrupted)."""
        since = self._since.get(peer_id)
        if since is None:
            return None
        return max(0, math.floor(now - since))

    def dial_in_shown(self, now: float) -> bool:
        if not self._dial_in and self._since:
            self._dial_in = now - min(self._since.values()) >= DIAL_IN_AFTER_S
        return self._dial_in


class PauseView(enum.Enum):
    HIDDEN = "hidden"
    PAUSED = "paused"  # the banner, with "Try video again" and "Stay on audio"
    STAYING = "staying"  # the person chose audio: a small "Turn video back on"


class VideoPause:
    """Our video to one or more peers is paused (MediaModeChanged, direction "send"). One banner
    for the person, whoever the peers are; their choice goes to CallSession.set_video_choice."""

    def __init__(self) -> None:
        self._paused: set[str] = set()
        self._staying = False

    def mode_changed(self, peer_id: str, mode: str) -> PauseView:
        if mode == "audio_only":
            self._paused.add(peer_id)
        else:
            self._paused.discard(peer_id)
        return self.view

    def peer_gone(self, peer_id: str) -> PauseView:
        self._paused.discard(peer_id)
        return self.view

    def choose(self, choice: str) -> PauseView:
        """ "try_video": the banner stays until video is really back (MediaModeChanged "video");
        "audio_only": only the person brings video back, so their way back stays on screen;
        "auto": the link decides again."""
        self._staying = choice == "audio_only"
        return self.view

    def clear(self) -> None:
        self._paused.clear()
        self._staying = False

    @property
    def view(self) -> PauseView:
        if self._staying:
            return PauseView.STAYING
        return PauseView.PAUSED if self._paused else PauseView.HIDDEN


# Where one of our own chat lines stands (ChatStatus.state, plus "failed": the send itself
# raised, so nothing will retry it).
CHAT_STATUS_WORDS = {
    "sending": "Sending…",
    "delivered": "Delivered",
    "retrying": "Not delivered — retrying",
    "failed": "Not delivered",
}


def chat_status_words(state: str) -> str:
    return CHAT_STATUS_WORDS.get(state, state.capitalize())
