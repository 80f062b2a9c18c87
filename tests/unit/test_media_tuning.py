"""The media tuning policies with a fake clock and synthetic RTP: the time-bounded jitter buffer,
the keyframe requests, the retransmission budget and the bitrate cap on aiortc's real encoder."""

from __future__ import annotations

import queue
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs import vpx
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

from app.call.bitrate_caps import (
    CAP_HEADROOM,
    FLOOR_BPS,
    RAISE_INTERVAL_S,
    BitrateCap,
    target_bps,
)
from app.call.receive_tuning import (
    BoundedJitterBuffer,
    ReceiverTuning,
    is_vp8_keyframe,
    recv_fresh,
    rtp_ahead,
)
from app.call.send_tuning import RetransmitBudget, abs_send_age_s, tune_opus


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


KEY = b"\x00\x00\x00\x9d\x01\x2a" + b"k" * 10  # a VP8 key frame's tag and start code
DELTA = b"\x01" + b"d" * 10


class Stream:
    """VP8-like RTP packets of 90 kHz frames, two packets per frame."""

    def __init__(self, fps: int = 10) -> None:
        self.seq = 1000
        self.ts = 0
        self.step = 90_000 // fps

    def frame(self, key: bool = False) -> list[RtpPacket]:
        packets = []
        for i, body in enumerate([KEY if key else DELTA, b"rest"]):
            packet = RtpPacket(payload_type=96, sequence_number=self.seq, timestamp=self.ts)
            packet.payload = bytes([0x10 if i == 0 else 0x00]) + body
            packet._data = body  # type: ignore[attr-defined]  # as aiortc's depayload leaves it
            packets.append(packet)
            self.seq += 1
        self.ts += self.step
        return packets


def feed(buffer: BoundedJitterBuffer, packets: list[RtpPacket]) -> list[bytes]:
    out = []
    for packet in packets:
        _, frame = buffer.add(packet)
        if frame is not None:
            out.append(frame.data)
    return out


def test_a_clean_stream_passes_through() -> None:
    keys: list[int] = []
    buffer = BoundedJitterBuffer(on_keyframe=lambda: keys.append(1))
    stream = Stream()
    out = feed(buffer, stream.frame(key=True) + stream.frame() + stream.frame() + stream.frame())
    assert out == [KEY + b"rest", DELTA + b"rest", DELTA + b"rest"]  # the last waits for a next
    assert keys == [1] and buffer.counts["head_drops"] == 0


def test_a_blocked_head_is_dropped_and_deltas_wait_for_a_keyframe() -> None:
    keys: list[int] = []
    buffer = BoundedJitterBuffer(on_keyframe=lambda: keys.append(1))
    stream = Stream(fps=10)
    feed(buffer, stream.frame(key=True))
    lost = stream.frame()
    # The first packet of a frame is lost: aiortc holds even the frame before it (a frame leaves
    # when the next one starts). 0.2 s of frames behind the hole: within the bound, wait.
    assert feed(buffer, lost[1:] + stream.frame() + stream.frame()) == []
    assert buffer.counts["head_drops"] == 0
    # Further on, the head is more than 0.3 s behind: dropped, the deltas are held back.
    assert feed(buffer, stream.frame() + stream.frame() + stream.frame()) == []
    assert buffer.counts["head_drops"] == 1 and buffer.waiting_for_keyframe
    assert buffer.counts["frames_held_back"] >= 1
    out = feed(buffer, stream.frame(key=True) + stream.frame())
    assert out == [KEY + b"rest"] and not buffer.waiting_for_keyframe and keys == [1]
    assert feed(buffer, stream.frame()) == [DELTA + b"rest"]


def test_a_hole_inside_the_oldest_frame_is_bounded_too() -> None:
    buffer = BoundedJitterBuffer(on_keyframe=lambda: None)
    stream = Stream(fps=10)
    first = stream.frame(key=True)
    feed(buffer, first[:1])  # its second packet never comes
    assert feed(buffer, stream.frame() + stream.frame() + stream.frame()) == []
    assert buffer.counts["head_drops"] == 0
    feed(buffer, stream.frame())
    assert buffer.counts["head_drops"] == 1 and buffer.waiting_for_keyframe
    assert feed(buffer, stream.frame(key=True) + stream.frame()) == [KEY + b"rest"]


def test_a_pause_without_loss_drops_nothing() -> None:
    buffer = BoundedJitterBuffer(on_keyframe=lambda: None)
    stream = Stream()
    feed(buffer, stream.frame(key=True) + stream.frame())
    stream.ts += 90_000 * 5  # the sender paused 5 s: a jump in time, no hole in sequence
    assert feed(buffer, stream.frame() + stream.frame()) == [DELTA + b"rest", DELTA + b"rest"]
    assert buffer.counts["head_drops"] == 0 and not buffer.waiting_for_keyframe


def test_keyframe_requests_after_a_gap_and_decode_errors_are_rate_limited() -> None:
    clock = FakeClock()
    tuning = ReceiverTuning(queue.Queue(), clock, gap_s=0.5, pli_interval_s=0.5)
    tuning.note_packet()
    clock.t += 0.1
    tuning.note_packet()
    assert not tuning.pli_due()
    clock.t += 2.0  # an outage
    tuning.note_packet()
    assert tuning.counts["gaps"] == 1 and tuning.jitter.waiting_for_keyframe
    assert tuning.pli_due()
    clock.t += 0.1
    tuning.note_decode_error()
    assert not tuning.pli_due()  # one PLI per interval
    clock.t += 0.5
    assert tuning.pli_due()  # still waiting for the keyframe: asked again
    tuning.jitter.waiting_for_keyframe = False
    clock.t += 0.6
    assert not tuning.pli_due() and tuning.counts["pli_sent"] == 2


def test_a_keyframe_flushes_what_waits_for_the_decoder_but_not_the_end() -> None:
    pending: queue.Queue[Any] = queue.Queue()
    tuning = ReceiverTuning(pending, FakeClock())
    for item in ("old", "older", None):
        pending.put(item)
    tuning.flush_decoder_queue()
    assert tuning.counts["decoder_flushed"] == 2 and pending.get_nowait() is None


def test_helpers() -> None:
    assert rtp_ahead(5, 0xFFFFFFFF) == 6 and rtp_ahead(0xFFFFFFFF, 5) == -6
    assert is_vp8_keyframe(KEY) and not is_vp8_keyframe(DELTA)
    ntp = 1234 << 32
    sent = ((ntp >> 14) - (1 << 17)) & 0xFFFFFF  # half a second earlier
    assert abs_send_age_s(sent, ntp) == pytest.approx(0.5)


async def test_recv_fresh_skips_a_backlog_but_keeps_a_short_queue() -> None:
    track = RemoteStreamTrack(kind="video")
    for index in range(10):  # a 1 s backlog at 10 fps
        frame = av.VideoFrame(16, 16, "yuv420p")
        frame.pts = index * 9000
        track._queue.put_nowait(frame)
    first = await recv_fresh(track)
    assert first.pts == 6 * 9000  # within 0.3 s of the newest (9)
    assert [(await recv_fresh(track)).pts for _ in range(3)] == [7 * 9000, 8 * 9000, 9 * 9000]


def test_retransmit_budget_follows_the_target() -> None:
    clock = FakeClock()
    budget = RetransmitBudget(clock, share=0.25)
    target = 400_000  # 0.25 of it is 12.5 kB/s, a 0.5 s bucket is 6.25 kB
    assert budget.take(6000, target)
    assert not budget.take(1000, target)
    clock.t += 2.0
    assert budget.take(6250, target)  # refilled, but never beyond the bucket
    assert not budget.take(100, target)


def test_target_is_the_estimate_under_the_cap_below_aiortcs_floor() -> None:
    assert target_bps(None, None) == vpx.DEFAULT_BITRATE
    assert target_bps(3_000_000, None) == vpx.MAX_BITRATE
    assert target_bps(900_000, 130) == int(130_000 * CAP_HEADROOM) < vpx.MIN_BITRATE
    assert target_bps(400_000, 600) == 400_000
    assert target_bps(100_000, 600) == vpx.MIN_BITRATE  # aiortc's own floor for the estimate
    assert target_bps(100_000, 30) == FLOOR_BPS


def test_the_cap_reaches_aiortcs_encoder_and_rises_wait() -> None:
    clock = FakeClock()
    cap = BitrateCap(600, now=clock)
    share = cap.target()
    encoder = vpx.Vp8Encoder()
    share.on_encoder(encoder)
    assert encoder.target_bitrate == vpx.DEFAULT_BITRATE  # no estimate yet, under the cap
    share.on_estimate(300_000)
    assert encoder.target_bitrate == 300_000  # a fall: at once
    cap.set(130)
    assert encoder.target_bitrate == int(130_000 * CAP_HEADROOM)  # below aiortc's 250 kbit/s
    share.on_estimate(400_000)
    assert encoder.target_bitrate == int(130_000 * CAP_HEADROOM)  # the cap holds
    cap.set(350)
    assert encoder.target_bitrate == int(350_000 * CAP_HEADROOM)  # a rung up: at once
    share.on_estimate(260_000)
    share.on_estimate(320_000)
    assert encoder.target_bitrate == 260_000  # a rise right after a change waits
    clock.t += RAISE_INTERVAL_S
    share.on_estimate(320_000)
    assert encoder.target_bitrate == int(350_000 * CAP_HEADROOM)
    with pytest.raises(ValueError):
        cap.set(0)


def test_opus_takes_in_band_fec_before_it_opens() -> None:
    def encoded_bytes(tuned: bool) -> int:
        encoder = OpusEncoder()
        if tuned:
            tune_opus(encoder, 48_000, 10)
            assert encoder.codec.options["fec"] == "1"
            assert encoder.codec.options["packet_loss"] == "10"
        else:
            encoder.codec.bit_rate = 48_000
        total = 0
        for index in range(50):
            wave = np.sin(np.arange(960) * 2 * np.pi * 440 / 48_000 + index) * 8000
            samples = np.repeat(wave.astype(np.int16), 2).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, index * 960
            payloads, _ = encoder.encode(frame)
            total += sum(len(p) for p in payloads)
        return total

    # libopus really took the options: the same input encodes differently with FEC on.
    assert encoded_bytes(True) != encoded_bytes(False)
