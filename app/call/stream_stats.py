"""Per-stream receive counters for one RTCPeerConnection, kept by us instead of aiortc.

aiortc 1.16's `RTCRtpReceiver.getStats()` gives a video stream and its retransmission (RTX)
stream the same stats id, so the RTX counters overwrite the video's once a retransmission
arrives (PLATFORM.md "Calls under faults"), and it counts no bytes per stream. So every RTP
packet a receiver is handed is also counted here, per SSRC, with video, video-RTX and audio
kept apart (app.call.stream_counters does the arithmetic). The transport's bytes and the round
trip time still come from `getStats()`; if a receiver cannot be tapped (a future aiortc), its
kind falls back to `getStats()`'s figures.

`collect_snapshot(pc, now=...)` is the one entry point: taps new receivers, then reads.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiortc import RTCPeerConnection, clock
from aiortc.codecs import is_rtx

from app.call.stats import StatsSnapshot, snapshot_from_report
from app.call.stream_counters import SsrcCounter, StreamTotals, totals

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class ReceiverCounters:
    """The SSRCs one receiver has seen, media and RTX apart."""

    def __init__(self, kind: str, now: Clock) -> None:
        self.kind = kind
        self.media: dict[int, SsrcCounter] = {}
        self.rtx: dict[int, SsrcCounter] = {}
        self._now = now

    def count(self, ssrc: int, rtx: bool, clock_rate: int, packet: Any) -> None:
        streams = self.rtx if rtx else self.media
        counter = streams.get(ssrc)
        if counter is None:
            counter = streams[ssrc] = SsrcCounter(clock_rate)
        counter.add(
            int(packet.sequence_number),
            int(packet.timestamp),
            len(packet.payload),
            self._now(),
        )


def _tap_receiver(receiver: Any, counters: ReceiverCounters) -> bool:
    """The one place that touches aiortc's private parts (checked against aiortc 1.16).

    - `RTCRtpReceiver._handle_rtp_packet(packet, arrival_time_ms)`: what the DTLS transport
      calls for every decrypted RTP packet routed to this receiver. We wrap it on the instance.
    - `RTCRtpReceiver.__codecs` (name-mangled): payload type -> negotiated codec, filled by
      `receive()`; it tells an RTX packet (codec "rtx") from media, as aiortc itself does.

    Returns False, leaving the receiver untouched, when either is missing: the caller then
    uses `getStats()` for this kind.
    """
    codecs = getattr(receiver, "_RTCRtpReceiver__codecs", None)
    handle = getattr(receiver, "_handle_rtp_packet", None)
    if not isinstance(codecs, dict) or handle is None:
        return False

    async def counted(packet: Any, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is not None:  # aiortc drops a packet of an unknown payload type too
            try:
                counters.count(packet.ssrc, is_rtx(codec), int(codec.clockRate), packet)
            except Exception:  # counting must never break reception
                log.debug("could not count an RTP packet", exc_info=True)
        await handle(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = counted
    return True


class _PeerCounters:
    def __init__(self) -> None:
        self.receivers: weakref.WeakKeyDictionary[Any, ReceiverCounters | None] = (
            weakref.WeakKeyDictionary()
        )

    def tap_new(self, pc: RTCPeerConnection, now: Clock) -> None:
        for transceiver in pc.getTransceivers():
            receiver = transceiver.receiver
            if receiver is None or receiver in self.receivers:
                continue
            counters = ReceiverCounters(transceiver.kind, now)
            tapped = _tap_receiver(receiver, counters)
            if not tapped:
                log.info("cannot count %s RTP per stream: using aiortc's stats", counters.kind)
            self.receivers[receiver] = counters if tapped else None

    def kinds(self) -> dict[str, tuple[StreamTotals, StreamTotals]] | None:
        """(media, rtx) totals per kind we count ourselves; None if any receiver is untapped."""
        media: dict[str, list[SsrcCounter]] = {}
        rtx: dict[str, list[SsrcCounter]] = {}
        for counters in self.receivers.values():
            if counters is None:
                return None
            media.setdefault(counters.kind, []).extend(counters.media.values())
            rtx.setdefault(counters.kind, []).extend(counters.rtx.values())
        return {kind: (totals(media[kind]), totals(rtx[kind])) for kind in media}


_peers: weakref.WeakKeyDictionary[RTCPeerConnection, _PeerCounters] = weakref.WeakKeyDictionary()


def counters_for(pc: RTCPeerConnection, now: Clock) -> _PeerCounters:
    """This connection's counters; taps any receiver that appeared since the last call."""
    peer = _peers.get(pc)
    if peer is None:
        peer = _peers[pc] = _PeerCounters()
    peer.tap_new(pc, now)
    return peer


async def collect_snapshot(
    pc: RTCPeerConnection,
    *,
    now: Clock,
    frames_received: int,
    last_frame_at: float | None,
) -> StatsSnapshot:
    """A StatsSnapshot of `pc` at `now()`: per-stream counts from our taps, the transport's
    bytes and the RTT (with when its report arrived) from `getStats()`.

    Call it from the start of the connection (once a second): a receiver is tapped on the
    first call that sees it, and packets before that are not counted.
    """
    peer = counters_for(pc, now)
    report = await pc.getStats()
    snapshot = snapshot_from_report(
        report,
        at=now(),
        frames_received=frames_received,
        last_frame_at=last_frame_at,
        wall_now=clock.current_datetime(),
    )
    kinds = peer.kinds()
    if kinds is None:
        return snapshot
    video, video_rtx = kinds.get("video", (StreamTotals(), StreamTotals()))
    audio, _ = kinds.get("audio", (StreamTotals(), StreamTotals()))
    jitters = [j for j in (video.jitter_ms, audio.jitter_ms) if j is not None]
    return replace(
        snapshot,
        video=video,
        video_rtx=video_rtx,
        audio=audio,
        jitter_ms=max(jitters) if jitters else None,
        per_stream=True,
    )
