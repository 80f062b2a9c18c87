"""One VP8 encode per frame for every peer we send our video to (Qt-free).

aiortc gives each RTCRtpSender its own encoder, so in a three-party call the same frame of our
one local track is encoded twice, the largest CPU cost of the call. Every peer gets the same
picture at the same size (one track, one profile: app.call.video_profile), so one encode can
serve them all: `SharedVideoEncoder` is installed (app.call.send_tuning) as each sender's encoder
through an `EncoderPort`, and each sender wraps the same payloads in its own RTP (its own SSRC,
sequence numbers and timestamp origin; the VP8 payload descriptor and picture id are the shared
encoder's, the same for every peer, which a receiver only needs to be continuous).

How the senders meet: they read the track through aiortc's MediaRelay (latest frame only), so
both get the very same frame object and call `encode` from aiortc's executor threads at about
the same time. Under a lock, the first call encodes and the result is kept with the frame; the
second finds it and takes the same payloads. Every VP8 frame after a keyframe refers to the ones
before it, so each peer must get every picture the shared encoder made, in order:

- a sender that missed a picture still in the short history gets it first (its backlog, sent
  back to back before the newer one), so its peer's stream has no hole;
- a sender that missed more (paused for audio only, joined late) waits for a keyframe and asks
  for one: the next shared encode is a keyframe, for everyone (a rare extra cost, counted);
- a keyframe request from any peer (PLI/FIR, force_keyframe) makes the next encode a keyframe.

The target bitrate is the lowest of the senders' targets (each one's REMB estimate under the
rung's cap, app.call.bitrate_caps). A much worse link to one peer thus drags the other peer's
picture down too; that is already the ladder's rule (one profile for all peers, the worst link
decides the rung), so the minimum is consistent with it. A sender that has not asked for a frame
for ACTIVE_S (paused for audio only, closed) no longer counts.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from aiortc.codecs import vpx
from av.frame import Frame

from app.call.vp8_settings import TunedVp8Encoder

HISTORY = 4  # pictures kept for a sender that fell behind (about 0.27 s at 15 fps)
ACTIVE_S = 1.0  # a sender silent this long no longer holds the shared target down


@dataclass(frozen=True)
class EncodedPicture:
    """One shared encode: the frame it came from (identity), its payloads and RTP time."""

    serial: int
    frame: Frame
    time: Fraction  # the frame's time before encoding (PyAV rebases its pts in place)
    payloads: list[bytes]
    timestamp: int
    keyframe: bool


class EncoderPort:
    """What one sender sees as its encoder: `encode` as aiortc calls it, a target bitrate as
    aiortc's REMB handler and app.call.bitrate_caps write it."""

    def __init__(self, shared: SharedVideoEncoder) -> None:
        self.shared = shared
        self.last_serial: int | None = None  # the last shared picture this sender sent
        self.last_used: float | None = None
        self.backlog: deque[EncodedPicture] = deque()  # to send before asking for a new one
        self._target_bps = vpx.DEFAULT_BITRATE

    @property
    def target_bitrate(self) -> int:
        return self._target_bps

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        """aiortc's REMB setter (no cap attached): its own 250-1500 kbit/s bounds."""
        self._target_bps = max(vpx.MIN_BITRATE, min(bitrate, vpx.MAX_BITRATE))

    def set_target(self, bps: int) -> None:
        """The capped target (bitrate_caps.set_vp8_target), past aiortc's 250 kbit/s floor."""
        self._target_bps = bps

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        """aiortc's `Encoder.encode`, run in its executor: this sender's next picture."""
        return self.shared.encode_for(self, frame, force_keyframe)


class SharedVideoEncoder:
    """The one encoder of a local video track; `port()` gives each sender its view."""

    def __init__(
        self,
        make_encoder: Callable[[], TunedVp8Encoder] = TunedVp8Encoder,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_encoder = make_encoder
        self._now = now
        self._lock = threading.Lock()
        self._encoder: TunedVp8Encoder | None = None
        self._history: deque[EncodedPicture] = deque(maxlen=HISTORY)
        self._serial = 0
        self._keyframe_wanted = False
        self._ports: weakref.WeakSet[EncoderPort] = weakref.WeakSet()
        # encoded: libvpx ran (keyframes: how many of them were); shared: a sender took a
        # picture another one paid for; caught_up: pictures sent from a backlog; resyncs:
        # keyframes made for a sender that could not otherwise continue; stale: frames older
        # than what was already encoded.
        self.counts = {
            "encoded": 0,
            "keyframes": 0,
            "shared": 0,
            "caught_up": 0,
            "resyncs": 0,
            "stale": 0,
        }

    def port(self) -> EncoderPort:
        port = EncoderPort(self)
        self._ports.add(port)
        return port

    def target_bps(self) -> int:
        """The lowest target of the senders that asked for a frame within ACTIVE_S."""
        now = self._now()
        active = [
            p.target_bitrate
            for p in list(self._ports)
            if p.last_used is not None and now - p.last_used <= ACTIVE_S
        ]
        return min(active) if active else vpx.DEFAULT_BITRATE

    def encode_for(
        self, port: EncoderPort, frame: Frame, force_keyframe: bool
    ) -> tuple[list[bytes], int]:
        """`port`'s next picture: its backlog first, else `frame`, encoded once for all."""
        with self._lock:
            port.last_used = self._now()
            if force_keyframe:
                self._keyframe_wanted = True
            paid_by_another = self._find(frame) is not None
            if not paid_by_another:
                if self._is_new(frame):
                    lost = self._pending(port) is None  # this sender cannot go on without one
                    self.counts["resyncs"] += lost and port.last_serial is not None
                    self._encode(frame, self._keyframe_wanted or lost)
                else:
                    self.counts["stale"] += 1
            pending = self._pending(port)
            if pending is None:
                self._keyframe_wanted = True  # the next frame starts this sender's stream
                return [], 0
            if not pending:
                return [], 0  # aiortc sends nothing for an empty list
            first, *rest = pending
            port.last_serial = pending[-1].serial
            port.backlog.extend(rest)
            self.counts["caught_up"] += len(rest)
            self.counts["shared"] += paid_by_another and pending[-1].frame is frame
            return first.payloads, first.timestamp

    # --- under the lock ---------------------------------------------------------------------

    def _find(self, frame: Frame) -> EncodedPicture | None:
        for picture in self._history:
            if picture.frame is frame:
                return picture
        return None

    def _is_new(self, frame: Frame) -> bool:
        """Later than the last encoded frame (or from a new timeline: a time before the whole
        history); an older frame some sender still held is not encoded (libvpx goes forward)."""
        if not self._history:
            return True
        when = frame_time(frame)
        return when > self._history[-1].time or when < self._history[0].time

    def _pending(self, port: EncoderPort) -> list[EncodedPicture] | None:
        """What `port` may send now, in order; None when it must wait for a keyframe (it never
        sent, or it missed a picture no longer kept)."""
        if port.last_serial is None:
            unsent = list(self._history)
        else:
            unsent = [p for p in self._history if p.serial > port.last_serial]
            if not unsent or unsent[0].serial == port.last_serial + 1:
                return unsent
        keys = [i for i, p in enumerate(unsent) if p.keyframe]
        return unsent[keys[-1] :] if keys else None

    def _encode(self, frame: Frame, keyframe: bool) -> None:
        when = frame_time(frame)
        if self._encoder is None or (self._history and when < self._history[-1].time):
            self._encoder = self._make_encoder()  # a new timeline: a new context
        encoder = self._encoder
        # Past the setter's 250 kbit/s floor, as app.call.bitrate_caps.set_vp8_target does.
        encoder._Vp8Encoder__target_bitrate = self.target_bps()  # type: ignore[attr-defined]
        payloads, timestamp = encoder.encode(frame, keyframe)
        self.counts["encoded"] += 1
        if not payloads:
            return
        made = encoder.last_keyframe
        if made:
            self._keyframe_wanted = False
            self.counts["keyframes"] += 1
        self._serial += 1
        picture = EncodedPicture(self._serial, frame, when, payloads, timestamp, made)
        self._history.append(picture)


def frame_time(frame: Frame) -> Fraction:
    """When a frame is, in seconds (unchanged when PyAV rebases its pts to the codec's)."""
    if frame.pts is None or frame.time_base is None:
        raise ValueError("a video frame to send has a timestamp (aiortc's tracks stamp them)")
    return frame.pts * frame.time_base
