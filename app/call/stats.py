"""Per-peer call quality, once a second: pure arithmetic on two successive snapshots.

Snapshots hold running totals; the figures people act on are rates and ages, so a
`StatsTracker` keeps the previous snapshot and when bytes last arrived. Frames are counted by
the engine itself (aiortc has no frame counter) — together with bytes that is our watchdog,
because aiortc notices a dead peer only after ~32 s. Per-stream packet counts come from
app.call.stream_stats (video, its RTX and audio apart); `snapshot_from_report` reads aiortc's
getStats(), whose video figures are wrong once RTX arrives (it is the fallback).

What the loss figures mean (`PeerStats`):
- `video_loss_pct`, `audio_loss_pct`: of the packets the sender numbered in the last interval,
  the share that never arrived. RTX is neither loss nor receipt (a retransmitted packet still
  counts as lost, as RTP receiver stats do). None when no packet was expected: nothing arrived
  (a blackout, or the sender paused that stream); never 0 % for silence.
- After a blackout the first packet reveals the numbers sent meanwhile: those fall in an
  outage (app.call.stream_counters.OUTAGE_S) and are left out, so the figure after a restore
  is the loss of what arrives now; how long the outage was is `since_last_byte_s`, which grows
  throughout it.
- `packet_loss_pct` (the key clients already read): video's loss; audio's when no video was
  expected (the peer sends audio only); None when nothing arrived at all (before media starts,
  in a blackout). Not 100 in a blackout: how long nothing has come is the figure that matters
  there (`since_last_byte_s`, `since_last_frame_s`), and app.call.quality words it as a pause.
- `rtt_ms` is None with `rtt_stale` True when the last RTCP receiver report is older than
  RTT_STALE_S (aiortc keeps its last value forever otherwise).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.call.events import PeerStats
from app.call.stream_counters import StreamTotals, interval_loss_pct

# RTP clock rates, to turn aiortc's jitter (in timestamp units) into milliseconds.
_CLOCK_RATE = {"video": 90_000, "audio": 48_000}

# aiortc's receivers report every 0.5-1.5 s: two missed reports mean the RTT is history.
RTT_STALE_S = 2.0


@dataclass(frozen=True)
class StatsSnapshot:
    """Running totals for one peer at time `at` (the engine's clock, seconds)."""

    at: float
    bytes_received: int = 0
    bytes_sent: int = 0
    rtt_s: float | None = None
    jitter_ms: float | None = None
    frames_received: int = 0
    last_frame_at: float | None = None
    lost_out: float | None = None  # 0-1: of what we sent, in the peer's last report interval
    # When the peer's last receiver report (behind rtt_s and lost_out) arrived, on this
    # snapshot's clock; None if unknown (a report without timestamps: taken as fresh).
    rtt_at: float | None = None
    video: StreamTotals = field(default_factory=StreamTotals)
    video_rtx: StreamTotals = field(default_factory=StreamTotals)
    audio: StreamTotals = field(default_factory=StreamTotals)
    per_stream: bool = False  # True: counted per SSRC by us; False: from getStats()


def snapshot_from_report(
    report: Mapping[str, object],
    *,
    at: float,
    frames_received: int,
    last_frame_at: float | None,
    wall_now: datetime.datetime | None = None,
) -> StatsSnapshot:
    """Sum an aiortc RTCStatsReport (or anything shaped like one) into a snapshot.

    Reads attributes by name so tests can hand in simple stand-ins; unknown entries are skipped.
    `wall_now` is aiortc's clock (`aiortc.clock.current_datetime()`) at `at`: with it, the age
    of the receiver reports gives `rtt_at`. Inbound streams are summed by kind, as the fallback
    when app.call.stream_stats cannot count them (video is then RTX-mixed, see module doc).
    """
    bytes_received = bytes_sent = 0
    rtts: list[float] = []
    jitters: list[float] = []
    lost_out: list[float] = []
    reported: list[float] = []
    inbound: dict[str, StreamTotals] = {}
    for entry in report.values():
        kind = getattr(entry, "type", "")
        if kind == "transport":
            bytes_received += int(getattr(entry, "bytesReceived", 0))
            bytes_sent += int(getattr(entry, "bytesSent", 0))
        elif kind == "inbound-rtp":
            media = str(getattr(entry, "kind", ""))
            rate = _CLOCK_RATE.get(media)
            if rate is None:
                continue
            jitter = 1000.0 * float(getattr(entry, "jitter", 0)) / rate
            jitters.append(jitter)
            inbound[media] = _add_inbound(inbound.get(media), entry, jitter)
        elif kind == "remote-inbound-rtp":
            rtt = getattr(entry, "roundTripTime", None)
            if isinstance(rtt, int | float):
                rtts.append(float(rtt))
            # RTCP's 8-bit fixed point (0-255), as aiortc passes it on from the receiver report.
            fraction = getattr(entry, "fractionLost", None)
            if isinstance(fraction, int | float):
                lost_out.append(min(max(float(fraction) / 256.0, 0.0), 1.0))
            # aiortc stamps this entry when a receiver report arrives, and only then.
            stamp = getattr(entry, "timestamp", None)
            if wall_now is not None and isinstance(stamp, datetime.datetime):
                reported.append(at - max((wall_now - stamp).total_seconds(), 0.0))
    return StatsSnapshot(
        at=at,
        bytes_received=bytes_received,
        bytes_sent=bytes_sent,
        rtt_s=max(rtts) if rtts else None,
        jitter_ms=max(jitters) if jitters else None,
        frames_received=frames_received,
        last_frame_at=last_frame_at,
        # The streams' mean: each report's fraction swings widely on its own (a few dozen
        # packets a second), and the largest of two such figures reads high on every link.
        lost_out=sum(lost_out) / len(lost_out) if lost_out else None,
        rtt_at=max(reported) if reported else None,
        video=inbound.get("video", StreamTotals()),
        audio=inbound.get("audio", StreamTotals()),
    )


def _add_inbound(total: StreamTotals | None, entry: object, jitter: float) -> StreamTotals:
    received = int(getattr(entry, "packetsReceived", 0))
    expected = received + int(getattr(entry, "packetsLost", 0))
    if total is None:
        return StreamTotals(packets_received=received, packets_expected=expected, jitter_ms=jitter)
    return StreamTotals(
        packets_received=total.packets_received + received,
        packets_expected=total.packets_expected + expected,
        jitter_ms=max(total.jitter_ms or 0.0, jitter),
    )


def _rate(delta: float, seconds: float) -> float:
    return max(delta, 0.0) / seconds if seconds > 0 else 0.0


class StatsTracker:
    """Turns successive snapshots of one peer into PeerStats."""

    def __init__(self, peer_id: str, start: StatsSnapshot | None = None) -> None:
        self.peer_id = peer_id
        self._previous = start
        self._last_byte_at: float | None = None
        if start is not None and start.bytes_received > 0:
            self._last_byte_at = start.at

    def update(
        self,
        current: StatsSnapshot,
        *,
        sent_size: tuple[int, int] | None = None,
        sent_fps: int | None = None,
    ) -> PeerStats:
        """`sent_size` and `sent_fps` are the local video's current profile (None: no video)."""
        previous = self._previous or StatsSnapshot(at=current.at)
        self._previous = current
        seconds = current.at - previous.at
        if current.bytes_received > previous.bytes_received:
            self._last_byte_at = current.at
        video_loss = interval_loss_pct(previous.video, current.video)
        audio_loss = interval_loss_pct(previous.audio, current.audio)
        rtt_stale = (
            current.rtt_s is not None
            and current.rtt_at is not None
            and current.at - current.rtt_at > RTT_STALE_S
        )
        audio_bytes = current.audio.bytes_received - previous.audio.bytes_received
        audio_packets = current.audio.packets_received - previous.audio.packets_received
        rtx_packets = current.video_rtx.packets_received - previous.video_rtx.packets_received
        return PeerStats(
            peer_id=self.peer_id,
            bitrate_in_kbps=_rate(current.bytes_received - previous.bytes_received, seconds)
            * 8
            / 1000,
            bitrate_out_kbps=_rate(current.bytes_sent - previous.bytes_sent, seconds) * 8 / 1000,
            packet_loss_pct=video_loss if video_loss is not None else audio_loss,
            rtt_ms=None if current.rtt_s is None or rtt_stale else current.rtt_s * 1000.0,
            jitter_ms=current.jitter_ms,
            fps_in=_rate(current.frames_received - previous.frames_received, seconds),
            since_last_frame_s=_age(current.at, current.last_frame_at),
            since_last_byte_s=_age(current.at, self._last_byte_at),
            packet_loss_out_pct=None if current.lost_out is None else 100.0 * current.lost_out,
            sent_width=None if sent_size is None else sent_size[0],
            sent_height=None if sent_size is None else sent_size[1],
            sent_fps=sent_fps,
            video_loss_pct=video_loss,
            audio_loss_pct=audio_loss,
            audio_bitrate_in_kbps=_rate(audio_bytes, seconds) * 8 / 1000,
            audio_packets_in=_rate(audio_packets, seconds),
            audio_since_last_packet_s=_age(current.at, current.audio.last_packet_at),
            rtt_stale=rtt_stale,
            video_rtx_packets_in=_rate(rtx_packets, seconds),
        )


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else max(now - then, 0.0)
