"""One VP8 encode for every sender of a track (app.call.shared_encoder), on real libvpx at a
tiny size: the cache by frame identity, the lowest target, keyframes asked by any peer, and
what a sender that fell behind or joined late gets."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecParameters
from aiortc.codecs import vpx
from av.frame import Frame

from app.call.audio_tracks import ToneAudioTrack
from app.call.bitrate_caps import CAP_HEADROOM, BitrateCap, set_vp8_target
from app.call.send_tuning import tune_sender
from app.call.shared_encoder import (
    ACTIVE_S,
    HISTORY,
    EncodedPicture,
    EncoderPort,
    SharedVideoEncoder,
)
from app.call.video_tracks import PatternVideoTrack
from app.call.vp8_settings import TunedVp8Encoder


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def frame(n: int) -> av.VideoFrame:
    image = np.full((48, 64, 3), (n * 37) % 256, np.uint8)
    image[n % 48, :, :] = 255  # something moves
    made = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    made.pts = n * 6000
    made.time_base = Fraction(1, 90_000)
    return made


def is_keyframe(payloads: list[bytes]) -> bool:
    descriptor, data = vpx.VpxPayloadDescriptor.parse(payloads[0])
    return descriptor.partition_start == 1 and data[0] & 1 == 0  # VP8 frame tag: P bit clear


class Recorder(TunedVp8Encoder):
    """The real encoder, remembering what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int | None, bool, int]] = []

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        self.calls.append((frame.pts, force_keyframe, self.target_bitrate))
        return super().encode(frame, force_keyframe)


def shared_pair(
    clock: FakeClock | None = None,
) -> tuple[SharedVideoEncoder, list[Recorder], EncoderPort, EncoderPort]:
    made: list[Recorder] = []

    def make() -> Recorder:
        made.append(Recorder())
        return made[-1]

    shared = SharedVideoEncoder(make, now=clock or FakeClock())
    return shared, made, shared.port(), shared.port()


def test_one_encode_serves_both_senders_with_the_same_payloads() -> None:
    shared, made, a, b = shared_pair()
    for n in range(3):
        f = frame(n)
        sent_a, sent_b = a.encode(f), b.encode(f)
        assert sent_a == sent_b and sent_a[0]
        assert sent_a[1] == n * 6000  # 90 kHz: each sender adds its own origin
    assert len(made) == 1 and len(made[0].calls) == 3
    assert shared.counts["encoded"] == 3 and shared.counts["shared"] == 3
    pictures = [vpx.VpxPayloadDescriptor.parse(p)[0].picture_id for p in (a.encode(frame(3))[0])]
    assert pictures[0] is not None  # the encoder's picture id travels unchanged


def test_the_target_is_the_lowest_of_the_active_senders() -> None:
    clock = FakeClock()
    shared, made, a, b = shared_pair(clock)
    assert set_vp8_target(a, 180_000) and set_vp8_target(b, 540_000)
    a.encode(frame(0))
    b.encode(frame(0))
    clock.t += 0.1
    a.encode(frame(1))
    assert made[0].calls[-1][2] == 180_000  # below aiortc's 250 kbit/s floor, as capped
    # `a` stops asking (paused for audio only, or closed): it no longer holds `b` down.
    for n in range(2, 6):
        clock.t += 0.5
        b.encode(frame(n))
    assert made[-1].calls[-1][2] == 540_000
    assert shared.target_bps() == 540_000
    clock.t += ACTIVE_S + 1
    assert shared.target_bps() == vpx.DEFAULT_BITRATE  # nobody sends


def test_aiortcs_own_remb_setter_keeps_its_bounds() -> None:
    shared, _, a, _ = shared_pair()
    a.target_bitrate = 50_000
    assert a.target_bitrate == vpx.MIN_BITRATE
    a.target_bitrate = 9_000_000
    assert a.target_bitrate == vpx.MAX_BITRATE


def test_a_keyframe_asked_by_either_peer_is_the_next_shared_encode() -> None:
    shared, made, a, b = shared_pair()
    first = a.encode(frame(0))[0]
    assert is_keyframe(first) and b.encode(frame(0))[0] == first
    a.encode(frame(1))
    late = b.encode(frame(1), force_keyframe=True)[0]  # `b`'s peer sent a PLI: frame 1 is done
    assert not is_keyframe(late)
    key = a.encode(frame(2))[0]  # `a` did not ask, but the shared encode is a keyframe
    assert is_keyframe(key) and b.encode(frame(2))[0] == key
    assert not is_keyframe(a.encode(frame(3))[0])  # once
    assert made[0].calls[2][1] is True


def test_a_sender_that_missed_a_picture_gets_it_first_not_a_keyframe() -> None:
    shared, _, a, b = shared_pair()
    for port in (a, b):
        port.encode(frame(0))
    one = a.encode(frame(1))[0]  # `b` never saw frame 1 (the relay gave it frame 2 at once)
    two = a.encode(frame(2))[0]
    assert b.encode(frame(2))[0] == one
    assert [p.payloads for p in b.backlog] == [two]
    assert not is_keyframe(two) and shared.counts["caught_up"] == 1
    assert shared.counts["resyncs"] == 0


def test_a_sender_that_fell_out_of_the_history_restarts_at_a_keyframe() -> None:
    shared, _, a, b = shared_pair()
    for port in (a, b):
        port.encode(frame(0))
    for n in range(1, HISTORY + 2):
        a.encode(frame(n))
    # `b` missed more than is kept: sending the rest would leave its peer a broken picture.
    n = HISTORY + 2
    key = b.encode(frame(n))[0]
    assert is_keyframe(key) and a.encode(frame(n))[0] == key
    assert shared.counts["resyncs"] == 1 and not b.backlog


def test_a_late_sender_waits_for_a_keyframe_and_asks_for_it() -> None:
    shared, _, a, _ = shared_pair()
    for n in range(HISTORY + 1):
        a.encode(frame(n))
    late = shared.port()
    n = HISTORY + 1
    a.encode(frame(n))
    assert late.encode(frame(n)) == ([], 0)  # frame n was encoded as a delta already
    key = late.encode(frame(n + 1))[0]
    assert is_keyframe(key) and a.encode(frame(n + 1))[0] == key
    assert shared.counts["resyncs"] == 0  # a first keyframe is no resync


def test_a_stale_frame_is_not_encoded_but_a_new_timeline_is() -> None:
    shared, made, a, b = shared_pair()
    for n in (0, 1, 3):
        a.encode(frame(n))
    b.last_serial = 3  # as if `b` had sent everything
    assert b.encode(frame(2)) == ([], 0)  # older than frame 3: libvpx only goes forward
    assert shared.counts["stale"] == 1 and len(made) == 1
    for n in range(10, 10 + HISTORY):
        a.encode(frame(n))
    restart = a.encode(frame(0))[0]  # a pts before all that is kept: another track's clock
    assert len(made) == 2 and is_keyframe(restart)


def test_each_senders_capped_target_reaches_its_port() -> None:
    clock = FakeClock()
    cap = BitrateCap(600, now=clock)
    shared, _, a, b = shared_pair(clock)
    near, far = cap.target(), cap.target()
    near.on_encoder(a)
    far.on_encoder(b)
    near.on_estimate(450_000)
    far.on_estimate(300_000)
    assert a.target_bitrate == 450_000 and b.target_bitrate == 300_000
    a.encode(frame(0))
    b.encode(frame(0))
    assert shared.target_bps() == 300_000  # the worse link sets it, as the ladder does
    cap.set(130)
    assert shared.target_bps() == int(130_000 * CAP_HEADROOM)  # below aiortc's floor


async def test_a_tuned_sender_gets_a_port_and_sends_its_backlog_first() -> None:
    shared = SharedVideoEncoder()
    pc = RTCPeerConnection()
    try:
        sender = pc.addTrack(PatternVideoTrack((64, 48), 15))
        tuning = tune_sender(sender, BitrateCap(600), shared=shared)
        codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
        first = await sender._next_encoded_frame(codec)
        port = tuning.encoder()
        assert isinstance(port, EncoderPort) and port.shared is shared
        assert first is not None and is_keyframe(first.payloads)
        assert port.target_bitrate == vpx.DEFAULT_BITRATE  # no estimate yet, under the cap
        missed = EncodedPicture(99, frame(0), Fraction(0), [b"\x90\x80\x00\x01xx"], 1234, False)
        port.backlog.append(missed)
        sent = await sender._next_encoded_frame(codec)  # no frame read: the backlog goes first
        assert sent is not None and (sent.payloads, sent.timestamp) == (
            [b"\x90\x80\x00\x01xx"],
            1234,
        )
        assert not port.backlog
        opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, payloadType=111)
        audio = pc.addTrack(ToneAudioTrack())
        tune_sender(audio, None, shared=shared)
        await audio._next_encoded_frame(opus)
        assert not isinstance(tune_sender(audio).encoder(), EncoderPort)  # video only
    finally:
        await pc.close()


def test_what_aiortcs_encoder_did_on_its_own_still_happens() -> None:
    shared, made, a, b = shared_pair()
    rgb = frame(0).reformat(format="rgb24")  # reformatted for libvpx, cached as given
    rgb.pts, rgb.time_base = 0, Fraction(1, 90_000)
    assert a.encode(rgb) == b.encode(rgb)
    a.encode(frame(1))
    bigger = av.VideoFrame.from_ndarray(np.zeros((96, 128, 3), np.uint8), format="rgb24")
    bigger.pts, bigger.time_base = 12_000, Fraction(1, 90_000)
    assert is_keyframe(a.encode(bigger)[0])  # a new size (a rung change): one new context
    assert len(made) == 1 and made[0].codec is not None and made[0].codec.width == 128
    unstamped = frame(3)
    unstamped.pts = None
    with pytest.raises(ValueError, match="timestamp"):
        b.encode(unstamped)
    with pytest.raises(ValueError, match="timestamp"):
        TunedVp8Encoder().encode(unstamped)


def test_an_encode_that_gives_nothing_is_not_a_picture() -> None:
    class Silent(TunedVp8Encoder):
        def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
            return [], 0

    shared = SharedVideoEncoder(Silent)
    port = shared.port()
    assert port.encode(frame(0)) == ([], 0)
    assert shared.counts["encoded"] == 1 and shared.counts["keyframes"] == 0
