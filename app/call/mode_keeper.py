"""Audio only or video, per remote peer, applied (Qt-free): the MediaModePolicy of each peer
fed with that peer's figures, its decisions applied to the link (video paused or resumed on
that connection only), the person's choice honoured, and what each peer sends us watched so
that a tile can turn into a voice tile.

A peer that sends audio but no video for RECEIVE_AUDIO_ONLY_S (its own link chose audio only,
or it has no camera) is "audio only" in the receive direction; video frames arriving again end
it. An interrupted peer (nothing at all arrives) is the watchdog's business, not this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from app.call.events import CallEvent, MediaModeChanged, PeerStats
from app.call.media_mode import MediaMode, MediaModePolicy, ModeChange
from app.call.peer_links import PeerLinks

log = logging.getLogger(__name__)

RECEIVE_AUDIO_ONLY_S = 2.0
# A new connection's send rate ramps up (REMB starts low): its first seconds are no evidence.
SETTLING_S = 3.0
# Stats come once a second; a longer gap means this process did not run (frozen, asleep).
STALL_S = 2.5
VIDEO, AUDIO_ONLY = MediaMode.VIDEO.value, MediaMode.AUDIO_ONLY.value


class ModeKeeper:
    def __init__(
        self,
        links: PeerLinks,
        *,
        interrupted: Callable[[str], bool],
        camera_on: Callable[[], bool],
        has_audio: Callable[[], bool],
        emit: Callable[[CallEvent], None],
        now: Callable[[], float],
    ) -> None:
        self._links = links
        self._interrupted = interrupted
        self._camera_on = camera_on
        self._has_audio = has_audio
        self._emit = emit
        self._now = now
        self._policies: dict[str, MediaModePolicy] = {}
        self._receiving: dict[str, str] = {}  # peer_id -> what arrives: video | audio_only
        self._dark_at: dict[str, float] = {}  # peer_id -> last seen interrupted
        self._choice = "auto"
        self._last_consumed: float | None = None

    @property
    def choice(self) -> str:
        return self._choice

    def mode(self, peer_id: str) -> str:
        policy = self._policies.get(peer_id)
        return VIDEO if policy is None else policy.mode.value

    def _policy(self, peer_id: str) -> MediaModePolicy:
        policy = self._policies.get(peer_id)
        if policy is None:
            policy = self._policies[peer_id] = MediaModePolicy()
            if self._choice == "audio_only":
                policy.stay_on_audio(self._now())
        return policy

    def forget(self, peer_id: str) -> None:
        self._policies.pop(peer_id, None)
        self._receiving.pop(peer_id, None)
        self._dark_at.pop(peer_id, None)

    def consume(self, connected: Sequence[PeerStats]) -> None:
        """One stats second (a StatsMonitor consumer)."""
        if not self._has_audio():
            return  # without a microphone, audio only would leave the others with nothing
        now = self._now()
        camera_on = self._camera_on()
        stalled = self._last_consumed is not None and now - self._last_consumed > STALL_S
        self._last_consumed = now
        for stats in connected:
            policy = self._policy(stats.peer_id)
            link = self._links.get(stats.peer_id)
            young = link is None or now - link.created_at < SETTLING_S
            # The first receiver reports after an outage count what was lost in it.
            young = young or now - self._dark_at.get(stats.peer_id, -SETTLING_S) < SETTLING_S
            if stalled or young or self._interrupted(stats.peer_id) or stats.rtt_stale:
                # Nothing arrives from them, or no receiver report says what reaches them: a
                # dead path (the watchdogs' business), not a weak one. A new connection's first
                # seconds ramp up from nothing. A gap in these reports (this process was
                # frozen, a laptop slept) covers seconds nobody saw. The figures say nothing.
                policy.no_evidence()
                continue
            change = policy.update(now, stats, camera_on=camera_on)
            self._apply(stats.peer_id, change)

    def on_video(self, connected: Sequence[PeerStats]) -> list[PeerStats]:
        """The figures of the peers that get video (the video ladder's evidence)."""
        return [s for s in connected if self.mode(s.peer_id) == VIDEO]

    def choose(self, choice: str) -> None:
        """The person: "try_video", "audio_only" (stay on audio) or "auto"."""
        self._choice = choice
        now = self._now()
        for peer_id, policy in self._policies.items():
            if choice == "audio_only":
                change = policy.stay_on_audio(now)
            else:
                change = policy.try_video(now)
            self._apply(peer_id, change)

    def link_made(self, peer_id: str) -> None:
        """A new connection to `peer_id` sends what the mode says from its first frame."""
        link = self._links.get(peer_id)
        if link is not None:
            link.set_video_sending(self.mode(peer_id) == VIDEO)

    def _apply(self, peer_id: str, change: ModeChange | None) -> None:
        if change is None:
            return
        link = self._links.get(peer_id)
        if link is not None:
            link.set_video_sending(change.mode is MediaMode.VIDEO)
        self._emit(MediaModeChanged(self._now(), peer_id, "send", change.mode.value, change.reason))

    def tick(self, now: float) -> None:
        """What arrives from each peer: video, or audio without video."""
        for link in self._links.links():
            peer_id = link.peer_id
            if self._interrupted(peer_id):
                # After an outage audio comes back before the first new picture: count the
                # quiet video from the outage's end, not from the last frame before it.
                self._dark_at[peer_id] = now
                continue
            if link.audio_frames == 0:
                continue
            since = max(
                link.created_at if link.last_frame_at is None else link.last_frame_at,
                self._dark_at.get(peer_id, link.created_at),
            )
            quiet = now - since >= RECEIVE_AUDIO_ONLY_S
            mode = AUDIO_ONLY if quiet else VIDEO
            if self._receiving.get(peer_id, VIDEO) != mode:
                self._receiving[peer_id] = mode
                reason = "peer" if mode == AUDIO_ONLY else "video_back"
                self._emit(MediaModeChanged(now, peer_id, "receive", mode, reason))
