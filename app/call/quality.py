"""How good one peer's connection looks: 0-5 bars and the reason in plain words (Qt-free).

Input is the engine's once-a-second PeerStats. Each measure (loss, delay, jitter, frame rate,
time since the last frame) costs bars on its own scale; the worst one decides, a second problem
costs one more bar, and the words name the worst problem so a person knows what they will notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.call.events import PeerStats

MAX_BARS = 5

GOOD = "Good connection"
MINOR = "Good connection, with small hiccups"
CHECKING = "Checking the connection…"
WAITING_FOR_VIDEO = "Connected. Waiting for their video…"

# (threshold, bars lost): the first row whose threshold the value reaches applies.
LOSS_PCT = ((20.0, 4), (10.0, 3), (5.0, 2), (2.0, 1))
RTT_MS = ((800.0, 3), (400.0, 2), (250.0, 1))
JITTER_MS = ((120.0, 3), (60.0, 2), (30.0, 1))
STALL_S = ((5.0, 5), (2.0, 3), (1.0, 1))
# Frame rate works the other way round: lower is worse.
FPS_IN = ((1.0, 3), (5.0, 2), (9.0, 1))

LOSS_WORDS = "Their video is choppy: the connection is losing packets"
RTT_WORDS = "There may be a delay: the connection is slow to respond"
JITTER_WORDS = "Sound and picture may stutter: the connection is uneven"
FPS_WORDS = "Their video is choppy: only a few pictures are arriving each second"


@dataclass(frozen=True)
class Quality:
    """`bars` is None while there is nothing to judge yet; `reason` is always set."""

    bars: int | None
    reason: str

    @property
    def label(self) -> str:
        """Short text for screen readers and the tooltip's first line."""
        if self.bars is None:
            return "Connection: checking"
        return f"Connection: {self.bars} of {MAX_BARS} bars"


def _cost(value: float | None, table: tuple[tuple[float, int], ...]) -> int:
    if value is None:
        return 0
    for threshold, cost in table:
        if value >= threshold:
            return cost
    return 0


def _fps_cost(fps: float) -> int:
    for threshold, cost in FPS_IN:
        if fps < threshold:
            return cost
    return 0


def _stall_words(seconds: float) -> str:
    return f"Their video has paused: nothing has arrived for {int(seconds)} seconds"


def assess(stats: PeerStats | None) -> Quality:
    """Bars and words for one peer's latest stats (None: no report yet)."""
    if stats is None:
        return Quality(None, CHECKING)
    if stats.since_last_frame_s is None:
        # No frame yet: judge the network alone, and say we are still waiting for video.
        network = _network_problems(stats)
        if not network:
            return Quality(None, WAITING_FOR_VIDEO)
        return _combine(network)
    problems = _network_problems(stats)
    stall = _cost(stats.since_last_frame_s, STALL_S)
    if stall:
        problems.append((stall, _stall_words(stats.since_last_frame_s)))
    elif (fps := _fps_cost(stats.fps_in)) > 0:
        problems.append((fps, FPS_WORDS))
    return _combine(problems)


def _network_problems(stats: PeerStats) -> list[tuple[int, str]]:
    found = [
        (_cost(stats.packet_loss_pct, LOSS_PCT), LOSS_WORDS),
        (_cost(stats.rtt_ms, RTT_MS), RTT_WORDS),
        (_cost(stats.jitter_ms, JITTER_MS), JITTER_WORDS),
    ]
    return [(cost, words) for cost, words in found if cost > 0]


def _combine(problems: list[tuple[int, str]]) -> Quality:
    if not problems:
        return Quality(MAX_BARS, GOOD)
    problems.sort(key=lambda p: p[0], reverse=True)
    worst, words = problems[0]
    extra = 1 if len(problems) > 1 else 0
    bars = max(0, MAX_BARS - worst - extra)
    if bars >= 4:
        return Quality(bars, MINOR)
    return Quality(bars, words)
