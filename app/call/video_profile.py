"""Which size and frame rate the local video is sent at, suited to the link (Qt-free).

A mesh call encodes one copy of the local video per remote peer, all from one shared track, so
one profile serves every peer and the worst link decides. The start, and the ceiling, come from
the upload the equipment check measured, shared among the peers; during the call the per-second
stats move it down a ladder on sustained loss of what we send (the peers' receiver reports) or
when a peer's bandwidth estimate for our video (its REMB) stays far below what the picture needs,
and back up only after a clean stretch.
Separate thresholds for "bad" and "clean", streaks instead of single seconds, and a longer wait
after a step up that failed keep it from flapping.

aiortc's VP8 encoder holds its bitrate at the receiver's estimate (250-1500 kbit/s) whatever the
size, so with aiortc a smaller picture buys fewer artefacts per bit and less CPU per copy rather
than fewer bits on the wire.

"Starved" is judged on the receiver's estimate, never on the bits that left: those also fall
when this machine is short of CPU (the encoder drops frames) or the picture is still, and
neither is the link's fault. Measured in the network lab (tests/lab/cpu_limit.py), a participant
held to 3 % of a core sends 60-350 kbit/s a second on a clean link and the old rule on bits sent
stepped it down. aiortc's estimator (aiortc/rate.py) starts from the throughput of its first
3 s, then only rises, to at most 1.5 x what arrives, unless it sees the link queue up: only then
does it fall (to 0.85 x what arrives). So a low estimate that never fell says "not much was sent
yet" (in the same lab it started at 135 and climbed), and only one that fell lately says "the
link cannot carry more": a peer's estimate is starved when its average is low and it fell
within `fall_memory_s`.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.call.events import PeerStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoProfile:
    """One rung: `need_kbps` is about what VP8 wants for a decent picture at this size and rate."""

    width: int
    height: int
    fps: int
    need_kbps: float

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}"


# Best first. VP8 at 640x360@15 wants roughly 500-800 kbit/s; smaller pictures need fewer bits
# per second but more per pixel, hence not a straight scale by pixel count.
LADDER: tuple[VideoProfile, ...] = (
    VideoProfile(640, 360, 15, 500.0),
    VideoProfile(480, 270, 15, 300.0),
    VideoProfile(320, 180, 15, 180.0),
    VideoProfile(320, 180, 10, 120.0),
)
_TOP = LADDER[0]


def ladder_for(size: tuple[int, int], fps: int) -> tuple[VideoProfile, ...]:
    """The ladder under a track that starts at `size`@`fps`: never larger or faster than that.

    A size that is not a rung becomes the top rung (its need scaled from 640x360@15 by pixels
    per second), so a small test track stays small and a larger camera keeps its own top.
    """
    width, height = size
    below = tuple(r for r in LADDER if r.width <= width and r.height <= height and r.fps <= fps)
    if below and below[0].size == size and below[0].fps == fps:
        return below
    scale = (width * height * fps) / (_TOP.width * _TOP.height * _TOP.fps)
    return (VideoProfile(width, height, fps, round(_TOP.need_kbps * scale, 1)), *below)


@dataclass(frozen=True)
class AdaptSettings:
    """Thresholds; the defaults suit a call, tests inject others."""

    lossy_pct: float = 5.0  # a second with more loss than this (on any peer) is bad
    clean_pct: float = 2.0  # a second is clean only at or below this on every peer
    # A peer's estimate for our video (`PeerStats.estimate_out_kbps`) on average over the last
    # `down_after` seconds below this share of the rung's need: bad. Averaged, so that one
    # second's dip (the estimator's fall on a single queueing spike) alone does not decide.
    starved_ratio: float = 0.5
    # ... and only if that estimate fell within this long: a fall is the estimator seeing the
    # link queue up; on a link at its limit it falls again every few seconds.
    fall_memory_s: float = 10.0
    down_after: int = 3  # consecutive bad seconds before one step down
    up_after: int = 10  # consecutive clean seconds before one step up
    max_up_after: int = 160  # the wait doubles after each failed step up, up to this
    probe_window_s: float = 30.0  # a step down this soon after a step up means the step up failed
    upload_share: float = 0.8  # of the measured upload: speed tests run high on slow links
    audio_kbps: float = 50.0  # per peer, before video gets the rest


@dataclass(frozen=True)
class _Probe:
    rung: int  # the rung stepped up into
    at: float


class VideoAdapter:
    """Feed it each second's stats with `update()`; apply the profile it returns.

    `upload_kbps` is the equipment check's upload figure (None: not measured, start at the top);
    `peers` is how many copies the start has to share it among.
    """

    def __init__(
        self,
        ladder: Sequence[VideoProfile] = LADDER,
        *,
        upload_kbps: float | None = None,
        peers: int = 1,
        settings: AdaptSettings | None = None,
    ) -> None:
        if not ladder:
            raise ValueError("a video ladder needs at least one rung")
        self.ladder = tuple(ladder)
        self.upload_kbps = upload_kbps
        self.settings = settings or AdaptSettings()
        self.peers = peers
        self._ceiling = self._ceiling_for(peers)
        self._rung = self._ceiling
        self._bad = 0  # consecutive bad seconds
        self._estimates: dict[str, collections.deque[float]] = {}  # peer_id -> recent kbit/s
        self._fell_at: dict[str, float] = {}  # peer_id -> when its estimate last fell
        self._last_estimate: dict[str, float] = {}  # peer_id -> its estimate a second ago
        self._clean = 0  # consecutive clean seconds
        self._up_after: dict[int, int] = {}  # rung -> clean seconds needed to step up into it
        self._probe: _Probe | None = None

    @property
    def profile(self) -> VideoProfile:
        return self.ladder[self._rung]

    @property
    def ceiling(self) -> VideoProfile:
        """The best rung the measured upload allows for the current number of peers."""
        return self.ladder[self._ceiling]

    def _ceiling_for(self, peers: int) -> int:
        if self.upload_kbps is None:
            return 0
        share = self.upload_kbps * self.settings.upload_share / max(peers, 1)
        video = share - self.settings.audio_kbps
        for index, rung in enumerate(self.ladder):
            if rung.need_kbps <= video:
                return index
        return len(self.ladder) - 1  # too little for any rung: the smallest still beats none

    def update(
        self, now: float, stats: Sequence[PeerStats], *, camera_on: bool = True
    ) -> VideoProfile | None:
        """One stats second: `stats` holds the latest PeerStats of every connected peer.

        Returns the new profile when it changes, else None. With the camera off, black frames
        are tiny once encoded and the estimate (which rises with what arrives) says nothing,
        so only loss counts.
        """
        if not stats:  # nobody to send to: no evidence either way
            self._bad = self._clean = 0
            return None
        changed = self._set_peers(len(stats))
        if self._probe is not None and now - self._probe.at >= self.settings.probe_window_s:
            self._up_after.pop(self._probe.rung, None)  # that step up held: no more backoff
            self._probe = None
        # The loss of what we send, as each peer reports it: the downlink's loss is not ours to
        # fix by sending less. Before a peer's first report nothing is known to be lost.
        worst_loss = max(s.packet_loss_out_pct or 0.0 for s in stats)
        starved = camera_on and self._starved(now, stats)
        if not camera_on:
            # Estimates of black frames say nothing once it is back.
            self._estimates.clear()
            self._last_estimate.clear()
            self._fell_at.clear()
        if worst_loss > self.settings.lossy_pct or starved:
            self._clean = 0
            self._bad += 1
            if self._bad >= self.settings.down_after:
                reason = "loss" if worst_loss > self.settings.lossy_pct else "low bitrate"
                return self._step_down(reason) or changed
        elif worst_loss <= self.settings.clean_pct:
            self._bad = 0
            self._clean += 1
            if self._clean >= self._wait_before_up(self._rung - 1):
                return self._step_up(now) or changed
        else:  # between clean and bad: neither streak survives it
            self._bad = self._clean = 0
        return changed

    def _starved(self, now: float, stats: Sequence[PeerStats]) -> bool:
        """Whether a peer's estimate of the link for our video stayed far below the rung's
        need and fell lately (camera on). A peer with no estimate gives no evidence."""
        need = self.profile.need_kbps * self.settings.starved_ratio
        window = max(self.settings.down_after, 1)
        estimates: dict[str, collections.deque[float]] = {}
        for s in stats:
            peer = s.peer_id
            last = self._last_estimate.get(peer)
            if s.estimate_out_kbps is None:
                continue
            if last is not None and s.estimate_out_kbps < last:
                self._fell_at[peer] = now
            self._last_estimate[peer] = s.estimate_out_kbps
            seen = self._estimates.get(peer) or collections.deque(maxlen=window)
            seen.append(s.estimate_out_kbps)
            estimates[peer] = seen
        self._estimates = estimates
        for peer in set(self._fell_at) - set(estimates):  # gone, or no estimate: forget it
            del self._fell_at[peer]
        for peer in set(self._last_estimate) - set(estimates):
            del self._last_estimate[peer]
        return any(
            len(kbps) == window
            and sum(kbps) / window < need
            and now - self._fell_at.get(peer, -math.inf) <= self.settings.fall_memory_s
            for peer, kbps in estimates.items()
        )

    def _set_peers(self, peers: int) -> VideoProfile | None:
        """A new peer gets its own copy: the upload share shrinks, maybe below the rung."""
        if peers == self.peers:
            return None
        self.peers = peers
        self._ceiling = self._ceiling_for(peers)
        if self._rung >= self._ceiling:
            return None
        return self._move(self._ceiling, f"{peers} peers share the upload")

    def _wait_before_up(self, rung: int) -> int:
        return self._up_after.get(rung, self.settings.up_after)

    def _step_down(self, reason: str) -> VideoProfile | None:
        if self._rung == len(self.ladder) - 1:
            self._bad = 0  # already the smallest: start counting afresh
            return None
        probe = self._probe  # update() has already dropped a probe older than the window
        if probe is not None and probe.rung == self._rung:
            # The step up into this rung did not hold: wait longer before trying it again.
            waited = self._wait_before_up(self._rung)
            self._up_after[self._rung] = min(waited * 2, self.settings.max_up_after)
        self._probe = None
        return self._move(self._rung + 1, reason)

    def _step_up(self, now: float) -> VideoProfile | None:
        if self._rung <= self._ceiling:
            self._clean = 0  # already as good as the upload allows
            return None
        self._probe = _Probe(self._rung - 1, now)
        return self._move(self._rung - 1, "clean link")

    def _move(self, rung: int, reason: str) -> VideoProfile:
        old = self.profile
        self._rung = rung
        self._bad = self._clean = 0
        self._estimates.clear()  # the new rung's own seconds decide whether it is starved
        log.info("video %s -> %s (%s)", old, self.profile, reason)
        return self.profile
