"""Receive counters for one RTP stream (one SSRC), fed packet by packet: pure arithmetic.

What RTP receiver statistics count (RFC 3550 A.3, A.8): packets received, packets expected
from the highest extended sequence number, and interarrival jitter; plus payload bytes and when
the last packet came. One addition: missing packets in a sequence gap that spans a silence of
`OUTAGE_S` or more are counted as `outage`, not loss. The sender kept numbering its packets
through a blackout, so the first packet after it reveals hundreds missing at once; those are
what the watchdog already reported as an interruption, and counting them as loss would make
the first second after a restore read 80-100 % on a link that is fine again.
"""

from __future__ import annotations

from dataclasses import dataclass

# A stream silent this long is interrupted (the watchdog's limit, issue 7): the gap that ends
# it is an outage, shorter gaps are loss.
OUTAGE_S = 1.0

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


@dataclass(frozen=True)
class StreamTotals:
    """Running totals of one kind of stream (video, its RTX, audio) at one moment.

    `packets_lost` is RTP's cumulative loss (expected - received), outage gaps included;
    `outage_packets` says how many of those fell in outages. Bytes are RTP payload bytes (what
    RTCP's octet count counts). `last_packet_at` is on the clock the counters were fed with.
    """

    packets_received: int = 0
    packets_expected: int = 0
    outage_packets: int = 0
    bytes_received: int = 0
    jitter_ms: float | None = None
    last_packet_at: float | None = None

    @property
    def packets_lost(self) -> int:
        return max(self.packets_expected - self.packets_received, 0)


class SsrcCounter:
    """One SSRC's counters. `add` is called for every packet, in arrival order."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.received = 0
        self.bytes = 0
        self.outage = 0
        self.last_arrival: float | None = None
        self._base: int | None = None  # extended sequence number of the first packet
        self._max = 0  # highest extended sequence number so far
        self._jitter = 0.0  # RFC 3550 J, in RTP timestamp units
        self._transit_ts: int | None = None  # RTP timestamp of the last in-order packet
        self._transit_at = 0.0

    @property
    def expected(self) -> int:
        return 0 if self._base is None else self._max - self._base + 1

    @property
    def jitter_ms(self) -> float | None:
        if self._base is None or self.clock_rate <= 0:
            return None
        return 1000.0 * self._jitter / self.clock_rate

    def add(self, sequence_number: int, timestamp: int, payload_bytes: int, at: float) -> None:
        silent_for = None if self.last_arrival is None else at - self.last_arrival
        self.received += 1
        self.bytes += payload_bytes
        self.last_arrival = at
        if self._base is None:
            self._base = self._max = sequence_number
            self._transit_ts, self._transit_at = timestamp, at
            return
        step = (sequence_number - self._max) % _SEQ_MOD
        if step == 0 or step >= _SEQ_MOD // 2:
            return  # a duplicate or a late packet: received, but the highest number stands
        self._max += step
        if step > 1 and silent_for is not None and silent_for >= OUTAGE_S:
            self.outage += step - 1
        self._update_jitter(timestamp, at)

    def _update_jitter(self, timestamp: int, at: float) -> None:
        # Packets of one video frame share a timestamp: only a new timestamp says anything
        # about transit time (as aiortc's own StreamStatistics does).
        if self._transit_ts is None or timestamp == self._transit_ts:
            return
        ts_step = (timestamp - self._transit_ts) % _TS_MOD
        if ts_step >= _TS_MOD // 2:
            ts_step -= _TS_MOD  # an older frame's timestamp, sent after a newer one
        d = (at - self._transit_at) * self.clock_rate - ts_step
        self._jitter += (abs(d) - self._jitter) / 16.0
        self._transit_ts, self._transit_at = timestamp, at


def totals(counters: list[SsrcCounter]) -> StreamTotals:
    """Sum the SSRCs of one kind (a renegotiated sender may bring a new one); jitter is the
    worst stream's."""
    if not counters:
        return StreamTotals()
    jitters = [j for c in counters if (j := c.jitter_ms) is not None]
    arrivals = [c.last_arrival for c in counters if c.last_arrival is not None]
    return StreamTotals(
        packets_received=sum(c.received for c in counters),
        packets_expected=sum(c.expected for c in counters),
        outage_packets=sum(c.outage for c in counters),
        bytes_received=sum(c.bytes for c in counters),
        jitter_ms=max(jitters) if jitters else None,
        last_packet_at=max(arrivals) if arrivals else None,
    )


def interval_loss_pct(previous: StreamTotals, current: StreamTotals) -> float | None:
    """Loss between two totals of one stream, over the packets expected in between once
    outage gaps are set aside; None when no packet was expected (nothing arrived: a blackout,
    or the sender paused this stream), so silence never reads as 0 % loss."""
    expected = current.packets_expected - previous.packets_expected
    outage = current.outage_packets - previous.outage_packets
    received = current.packets_received - previous.packets_received
    judged = expected - outage
    if judged <= 0:
        return None
    lost = min(max(judged - received, 0), judged)
    return 100.0 * lost / judged
