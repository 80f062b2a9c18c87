"""The arithmetic of a speed test: rates from timelines of arrivals, latency and jitter.

Pure functions, tested on synthetic timelines.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

BUCKET_S = 0.05
WARMUP_S = 0.3


def bucket_events(events: Sequence[tuple[float, int]], bucket_s: float = BUCKET_S) -> list[int]:
    """Bytes per `bucket_s` slot, counted from the first event."""
    if not events:
        return []
    start = min(t for t, _ in events)
    buckets: list[int] = []
    for t, nbytes in events:
        index = int((t - start) / bucket_s)
        if index >= len(buckets):
            buckets.extend([0] * (index + 1 - len(buckets)))
        buckets[index] += nbytes
    return buckets


def steady_rate_mbps(
    buckets: Sequence[int], bucket_s: float = BUCKET_S, warmup_s: float = WARMUP_S
) -> float | None:
    """The rate of the steady part of a timeline, in Mbit/s; None when nothing arrived.

    Leaves out the warm-up (TCP's ramp-up, at most a third of the timeline) and the last slot,
    which is cut short when the phase ends.
    """
    if sum(buckets) == 0:
        return None
    warm = min(round(warmup_s / bucket_s), len(buckets) // 3)
    steady = list(buckets[warm:-1])
    if sum(steady) == 0:
        steady = list(buckets)
    return sum(steady) * 8 / (len(steady) * bucket_s) / 1e6


def rtt_stats(rtts_s: Sequence[float]) -> tuple[float, float]:
    """(median RTT, jitter) in ms; jitter is the mean absolute difference of consecutive RTTs."""
    if not rtts_s:
        raise ValueError("no round trips measured")
    median_ms = statistics.median(rtts_s) * 1000
    diffs = [abs(b - a) for a, b in zip(rtts_s, rtts_s[1:], strict=False)]
    jitter_ms = statistics.fmean(diffs) * 1000 if diffs else 0.0
    return median_ms, jitter_ms
