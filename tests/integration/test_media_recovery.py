"""Video between two real aiortc connections on loopback, through a fault on the sending side's
transport (tests/lab/rtp_pair.py): after a blackout a keyframe is asked for and the picture comes
back current; retransmissions stay within their budget on a policed link; the bitrate cap holds
below aiortc's own floor; the video gate stops and resumes video with audio going on.

Counts and media timestamps are asserted, never wall-clock timings (benchmarks/media_recovery.py
measures those). A fault's length is a sleep: it is the fault itself, not a wait for an event.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.codecs import vpx

from app.call.audio_tracks import ToneAudioTrack
from app.call.bitrate_caps import CAP_HEADROOM, BitrateCap
from app.call.send_tuning import OPUS_BITRATE, RTX_BURST_S, RTX_SHARE
from app.call.video_tracks import PatternVideoTrack
from tests.lab.rtp_pair import NoiseVideoTrack, VideoPair

pytestmark = pytest.mark.slow

BLACKOUT_S = 2.0
POLICED_S = 4.0


async def test_after_a_blackout_a_keyframe_is_asked_for_and_the_picture_is_current() -> None:
    pair = VideoPair(NoiseVideoTrack((320, 180), 15), cap=BitrateCap(600))
    await pair.start()
    try:
        await pair.frames_after(15, 0)
        receiving, sending = pair.receiver_tuning, pair.sender_tuning
        feedback = pair.receiver_fault
        assert receiving is not None and sending is not None and feedback is not None
        keyframes = receiving.jitter.counts["keyframes"]
        pair.blackout(True)
        await asyncio.sleep(BLACKOUT_S)
        last_pts = pair.frames[-1][1]
        plis = feedback.packets["pli"]
        shown = len(pair.frames)
        pair.blackout(False)
        await pair.frames_after(15, shown)

        assert receiving.counts["gaps"] == 1
        assert feedback.packets["pli"] > plis  # the request went on the wire after the restore
        assert receiving.jitter.counts["keyframes"] > keyframes
        # Current, not a backlog: the first picture after the restore jumped over the outage.
        assert pair.frames[shown][1] - last_pts > 90_000 * BLACKOUT_S / 2
        # The packets lost in the outage were asked for and not resent: too old to be played.
        assert sending.counts["rtx_too_old"] > 0
    finally:
        await pair.close()


async def test_retransmissions_stay_within_their_share_of_the_target_on_a_policed_link() -> None:
    cap_kbps = 600.0
    pair = VideoPair(NoiseVideoTrack((640, 360), 15), cap=BitrateCap(cap_kbps))
    await pair.start()
    try:
        await pair.frames_after(15, 0)
        link, sending = pair.sender_fault, pair.sender_tuning
        assert link is not None and sending is not None
        rtx_before = link.offered["rtx"]
        link.rate_bps = 300_000
        started = time.monotonic()
        await asyncio.sleep(POLICED_S)
        elapsed = time.monotonic() - started
        rtx_bits = (link.offered["rtx"] - rtx_before) * 8
        link.rate_bps = None

        assert link.packets["rtx"] > 0 and sending.counts["rtx_sent"] > 0  # losses were repaired
        refused = sending.counts["rtx_over_budget"] + sending.counts["rtx_too_old"]
        assert refused > 0
        target = cap_kbps * 1000 * CAP_HEADROOM
        assert rtx_bits <= RTX_SHARE * target * (elapsed + RTX_BURST_S)
        shown = len(pair.frames)
        await pair.frames_after(15, shown)  # and the picture comes back after
    finally:
        await pair.close()


async def test_a_cap_below_aiortcs_floor_holds_what_is_sent() -> None:
    cap = BitrateCap(600)
    fps = 10
    pair = VideoPair(NoiseVideoTrack((320, 180), fps), cap=cap)
    await pair.start()
    try:
        await pair.frames_after(fps, 0)
        cap.set(130)  # the smallest rung
        link, sending = pair.sender_fault, pair.sender_tuning
        assert link is not None and sending is not None
        assert sending.encoder().target_bitrate < vpx.MIN_BITRATE
        await pair.frames_after(2 * fps, len(pair.frames))  # the encoder restarted at the cap
        start_bytes, started = link.offered["video"], time.monotonic()
        await pair.frames_after(6 * fps, len(pair.frames))
        kbps = (link.offered["video"] - start_bytes) * 8 / (time.monotonic() - started) / 1000
        assert kbps <= 130 * 1.15
        assert kbps > 130 * 0.5  # and the picture did not starve
    finally:
        await pair.close()


async def test_the_video_gate_stops_video_only_and_resumes_with_a_keyframe() -> None:
    pair = VideoPair(PatternVideoTrack((320, 180), 15), audio=ToneAudioTrack())
    await pair.start()
    try:
        await pair.frames_after(15, 0)
        link, receiving = pair.sender_fault, pair.receiver_tuning
        gate = pair.video_gate
        assert link is not None and receiving is not None and gate is not None
        assert pair.video_sender is not None
        gate.pause()
        assert gate.paused and pair.video_sender.track is None
        video_at_pause = len(link.timestamps["video"])
        audio_at_pause = link.packets["audio"]
        keyframes = receiving.jitter.counts["keyframes"]
        await asyncio.sleep(BLACKOUT_S)  # audio only for a while
        paused_video = link.timestamps["video"][video_at_pause:]
        assert len(set(paused_video)) <= 1  # at most the frame being encoded when paused
        assert link.packets["audio"] > audio_at_pause  # the voices go on
        assert pair.sender_pc is not None
        audio_sender = next(s for s in pair.sender_pc.getSenders() if s.kind == "audio")
        opus = audio_sender._RTCRtpSender__encoder
        assert opus.codec.bit_rate == OPUS_BITRATE  # tuned before it encoded anything

        shown = len(pair.frames)
        gate.resume()
        await pair.frames_after(5, shown)
        assert not gate.paused
        assert receiving.jitter.counts["keyframes"] > keyframes
    finally:
        await pair.close()
