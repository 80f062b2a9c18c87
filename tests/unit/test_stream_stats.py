"""The aiortc adapter of app.call.stream_stats: taps real receivers once, and falls back to
getStats() when aiortc's private parts are not where 1.16 keeps them."""

from __future__ import annotations

import itertools

from aiortc import RTCPeerConnection

from app.call.peer import rtc_configuration
from app.call.stream_stats import collect_snapshot, counters_for

clock = itertools.count(1.0)


def now() -> float:
    return float(next(clock))


async def test_every_receiver_is_tapped_once_and_counted_per_kind() -> None:
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        first = counters_for(pc, now)
        assert counters_for(pc, now) is first  # one set of counters per connection
        receivers = [t.receiver for t in pc.getTransceivers()]
        tapped = [r.__dict__.get("_handle_rtp_packet") for r in receivers]
        assert None not in tapped
        counters_for(pc, now)
        assert [r.__dict__["_handle_rtp_packet"] for r in receivers] == tapped  # not twice
        snapshot = await collect_snapshot(pc, now=now, frames_received=0, last_frame_at=None)
        assert snapshot.per_stream
        assert snapshot.video.packets_received == snapshot.audio.packets_received == 0
    finally:
        await pc.close()


async def test_without_aiortcs_private_parts_the_snapshot_comes_from_get_stats() -> None:
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        pc.addTransceiver("video", direction="recvonly")
        receiver = pc.getTransceivers()[0].receiver
        delattr(receiver, "_RTCRtpReceiver__codecs")  # as a later aiortc might have it
        snapshot = await collect_snapshot(pc, now=now, frames_received=2, last_frame_at=1.5)
        assert not snapshot.per_stream
        assert "_handle_rtp_packet" not in receiver.__dict__  # left untouched
        assert (snapshot.frames_received, snapshot.last_frame_at) == (2, 1.5)
    finally:
        await pc.close()
