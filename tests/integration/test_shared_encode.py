"""One VP8 encode for two peers (app.call.shared_encoder) between real aiortc connections on
loopback: one local track, read through a MediaRelay as LocalMedia does, sent to two receivers
(tests/lab/rtp_pair.py), each sender wrapping the shared payloads in its own RTP.

Counts and RTP fields are asserted, never timings (benchmarks/vp8_encoder.py measures those).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiortc.contrib.media import MediaRelay

from app.call.bitrate_caps import BitrateCap
from app.call.shared_encoder import SharedVideoEncoder
from app.call.video_tracks import PatternVideoTrack
from tests.lab.rtp_pair import VideoPair

pytestmark = pytest.mark.slow

FRAMES = 30  # two seconds at 15 fps
GUARD_S = 30.0


@pytest.fixture
async def pairs() -> AsyncIterator[tuple[SharedVideoEncoder, list[VideoPair]]]:
    source = PatternVideoTrack((320, 180), 15)
    relay = MediaRelay()
    shared = SharedVideoEncoder()
    cap = BitrateCap(600)
    made = [
        VideoPair(relay.subscribe(source, buffered=False), cap=cap, shared=shared) for _ in range(2)
    ]
    try:
        for pair in made:
            await pair.start()
        yield shared, made
    finally:
        for pair in made:
            await pair.close()
        source.stop()


async def test_both_peers_decode_one_encode_in_their_own_rtp(
    pairs: tuple[SharedVideoEncoder, list[VideoPair]],
) -> None:
    shared, (one, two) = pairs
    await asyncio.gather(one.frames_after(FRAMES, 0), two.frames_after(FRAMES, 0))

    # Fewer encodes than pictures sent: the second sender took the first one's payloads.
    sent = sum(p.sender_fault.packets["video"] for p in (one, two) if p.sender_fault)
    assert shared.counts["shared"] > FRAMES // 2
    assert shared.counts["encoded"] < len(one.frames) + len(two.frames)
    assert sent > 0
    senders = [p.video_sender for p in (one, two)]
    assert senders[0] is not None and senders[1] is not None
    assert senders[0]._ssrc != senders[1]._ssrc
    for pair in (one, two):
        fault = pair.sender_fault
        assert fault is not None
        stamps = fault.timestamps["video"]
        # Valid RTP: the media clock never runs backwards (mod 2^32) and moves ~6000 a frame.
        steps = [(b - a) % (1 << 32) for a, b in zip(stamps, stamps[1:], strict=False)]
        assert all(step < 90_000 for step in steps)
        assert any(5_000 <= step <= 7_000 for step in steps)
        # Every decoded picture is later than the one before: no hole made a peer go back.
        pts = [p for _, p in pair.frames]
        assert pts == sorted(pts) and len(set(pts)) == len(pts)


async def test_a_keyframe_asked_by_one_peer_reaches_both(
    pairs: tuple[SharedVideoEncoder, list[VideoPair]],
) -> None:
    shared, (one, two) = pairs
    await asyncio.gather(one.frames_after(FRAMES // 2, 0), two.frames_after(FRAMES // 2, 0))
    assert one.receiver_tuning is not None and two.receiver_tuning is not None
    made = shared.counts["keyframes"]
    before = two.receiver_tuning.jitter.counts["keyframes"]
    assert one.video_sender is not None
    one.video_sender._send_keyframe()  # what aiortc does on a PLI from `one`'s receiver

    async def keyframe_at_two() -> None:
        while two.receiver_tuning.jitter.counts["keyframes"] <= before:  # type: ignore[union-attr]
            await two.frames_after(1, len(two.frames))

    await asyncio.wait_for(keyframe_at_two(), GUARD_S)
    assert shared.counts["keyframes"] > made
