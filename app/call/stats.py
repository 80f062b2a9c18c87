"""Per-peer call quality, once a second: pure arithmetic on two successive snapshots.

aiortc's getStats() gives running totals; the figures people act on are rates and ages, so a
`StatsTracker` keeps the previous snapshot and when bytes last arrived. Frames are counted by
the engine itself (aiortc has no frame counter) — together with bytes that is our watchdog,
because aiortc notices a dead peer only after ~32 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.call.events import PeerStats

# RTP clock rates, to turn aiortc's jitter (in timestamp units) into milliseconds.
_CLOCK_RATE = {"video": 90_000, "audio": 48_000}


@dataclass(frozen=True)
class StatsSnapshot:
    """Running totals for one peer at time `at` (the engine's clock, seconds)."""

    at: float
    bytes_received: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    packets_lost: int = 0
    rtt_s: float | None = None
    jitter_ms: float | None = None
    frames_received: int = 0
    last_frame_at: float | None = None
    lost_out: float | None = None  # 0-1: of what we sent, in the peer's last report interval


def snapshot_from_report(
    report: Mapping[str, object],
    *,
    at: float,
    frames_received: int,
    last_frame_at: float | None,
) -> StatsSnapshot:
    """Sum an aiortc RTCStatsReport (or anything shaped like one) into a snapshot.

    Reads attributes by name so tests can hand in simple stand-ins; unknown entries are skipped.
    """
    bytes_received = bytes_sent = packets_received = packets_lost = 0
    rtts: list[float] = []
    jitters: list[float] = []
    lost_out: list[float] = []
    for entry in report.values():
        kind = getattr(entry, "type", "")
        if kind == "transport":
            bytes_received += int(getattr(entry, "bytesReceived", 0))
            bytes_sent += int(getattr(entry, "bytesSent", 0))
        elif kind == "inbound-rtp":
            packets_received += int(getattr(entry, "packetsReceived", 0))
            packets_lost += int(getattr(entry, "packetsLost", 0))
            rate = _CLOCK_RATE.get(str(getattr(entry, "kind", "")))
            if rate is not None:
                jitters.append(1000.0 * float(getattr(entry, "jitter", 0)) / rate)
        elif kind == "remote-inbound-rtp":
            rtt = getattr(entry, "roundTripTime", None)
            if isinstance(rtt, int | float):
                rtts.append(float(rtt))
            # RTCP's 8-bit fixed point (0-255), as aiortc passes it on from the receiver report.
            fraction = getattr(entry, "fractionLost", None)
            if isinstance(fraction, int | float):
                lost_out.append(min(max(float(fraction) / 256.0, 0.0), 1.0))
    return StatsSnapshot(
        at=at,
        bytes_received=bytes_received,
        bytes_sent=bytes_sent,
        packets_received=packets_received,
        packets_lost=packets_lost,
        rtt_s=max(rtts) if rtts else None,
        jitter_ms=max(jitters) if jitters else None,
        frames_received=frames_received,
        last_frame_at=last_frame_at,
        lost_out=max(lost_out) if lost_out else None,
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
        received = current.packets_received - previous.packets_received
        lost = current.packets_lost - previous.packets_lost
        expected = max(received, 0) + max(lost, 0)
        loss = 100.0 * max(lost, 0) / expected if expected > 0 else 0.0
        return PeerStats(
            peer_id=self.peer_id,
            bitrate_in_kbps=_rate(current.bytes_received - previous.bytes_received, seconds)
            * 8
            / 1000,
            bitrate_out_kbps=_rate(current.bytes_sent - previous.bytes_sent, seconds) * 8 / 1000,
            packet_loss_pct=loss,
            rtt_ms=None if current.rtt_s is None else current.rtt_s * 1000.0,
            jitter_ms=current.jitter_ms,
            fps_in=_rate(current.frames_received - previous.frames_received, seconds),
            since_last_frame_s=_age(current.at, current.last_frame_at),
            since_last_byte_s=_age(current.at, self._last_byte_at),
            packet_loss_out_pct=None if current.lost_out is None else 100.0 * current.lost_out,
            sent_width=None if sent_size is None else sent_size[0],
            sent_height=None if sent_size is None else sent_size[1],
            sent_fps=sent_fps,
        )


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else max(now - then, 0.0)
