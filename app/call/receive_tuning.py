"""The receive side of aiortc's video, bounded in time and quick to ask for a keyframe (Qt-free).

aiortc 1.16 holds a frame with a missing packet until 512 later packets push it out (~10 s at
600 kbit/s), then hands the decoder everything that arrived meanwhile: frozen, then fast. It asks
for a keyframe only when its buffer overflows or a frame fails to decode, once per failure.
Here, per video receiver:
- a head blocked for more than MAX_SPAN_S of media time is dropped up to a frame within it;
- after such a drop, a gap of GAP_S without packets or a decode failure, frames are held back
  until a keyframe arrives (no smeared picture), and a PLI goes out at once, then again every
  PLI_INTERVAL_S while still waiting (a lost keyframe is asked for again);
- a keyframe flushes the frames still queued for the decoder: it supersedes them.
`recv_fresh` bounds what waits after the decoder the same way.
The hooks are set on one receiver instance, never on aiortc's classes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
MAX_SPAN_S = 0.3  # how far behind the newest packet the oldest held frame may be
GAP_S = 0.5  # this long without a packet, and what comes next needs a keyframe
PLI_INTERVAL_S = 0.5  # at most one PLI per interval
VP8_KEYFRAME_START = b"\x9d\x01\x2a"


def rtp_ahead(a: int, b: int) -> int:
    """How many ticks timestamp `a` is after `b` (negative if before; 32-bit wrap)."""
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d >= 1 << 31 else d


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame tag with the key-frame bit (0) and the key frame start code."""
    return len(data) >= 6 and data[0] & 1 == 0 and data[3:6] == VP8_KEYFRAME_START


def starts_vp8_frame(packet: RtpPacket) -> bool:
    """The payload descriptor's S bit with partition 0: the first packet of a frame."""
    return bool(packet.payload) and packet.payload[0] & 0x1F == 0x10


class BoundedJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer with a time bound on a blocked head and a keyframe gate."""

    def __init__(self, on_keyframe: Callable[[], None], max_span_s: float = MAX_SPAN_S) -> None:
        super().__init__(capacity=512, is_video=True)
        self.max_span = int(max_span_s * VIDEO_CLOCK)
        self.vp8 = True  # set per packet by the receiver hook; the gate needs VP8 to see keys
        self.waiting_for_keyframe = False
        self.last_ssrc: int | None = None
        self.counts = {"head_drops": 0, "frames_held_back": 0, "keyframes": 0}
        self._on_keyframe = on_keyframe
        self._newest: int | None = None  # RTP timestamp
        self._released: int | None = None  # RTP timestamp of the last frame handed out

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.last_ssrc = packet.ssrc
        if self._released is None:  # a hole before the first frame is bounded from here
            self._released = packet.timestamp
        if self._newest is None or rtp_ahead(packet.timestamp, self._newest) > 0:
            self._newest = packet.timestamp
        pli, frame = super().add(packet)
        if frame is None and self._head_blocked():
            self._drop_head()
            frame = self._remove_frame(packet.sequence_number) if self._origin is not None else None
        return pli, self._gate(frame)

    def _head_blocked(self) -> bool:
        if self._origin is None or self._newest is None:
            return False
        head = self._packets[self._origin % self.capacity]
        oldest = head.timestamp if head is not None else self._released
        return oldest is not None and rtp_ahead(self._newest, oldest) > self.max_span

    def _drop_head(self) -> None:
        """Remove packets up to the first frame start within the bound (or all of them)."""
        assert self._origin is not None and self._newest is not None
        keep_from: int | None = None
        last_present = -1
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None:
                continue
            last_present = count
            recent = rtp_ahead(self._newest, packet.timestamp) <= self.max_span
            if recent and (not self.vp8 or starts_vp8_frame(packet)):
                keep_from = count
                break
        self.remove(keep_from if keep_from is not None else last_present + 1)
        self._released = self._newest
        self.counts["head_drops"] += 1
        self.waiting_for_keyframe = self.vp8
        log.debug("video receive: dropped a blocked head, waiting for a keyframe")

    def _gate(self, frame: JitterFrame | None) -> JitterFrame | None:
        if frame is None:
            return None
        self._released = frame.timestamp
        if self.vp8 and is_vp8_keyframe(frame.data):
            self.counts["keyframes"] += 1
            self.waiting_for_keyframe = False
            self._on_keyframe()
            return frame
        if self.waiting_for_keyframe:
            self.counts["frames_held_back"] += 1
            return None
        return frame


class ReceiverTuning:
    """The state behind one tuned video receiver; `counts` for tests and benchmarks."""

    def __init__(
        self,
        decoder_queue: queue.Queue[Any],
        now: Callable[[], float],
        gap_s: float = GAP_S,
        pli_interval_s: float = PLI_INTERVAL_S,
    ) -> None:
        self.decoder_queue = decoder_queue
        self._now = now
        self._gap_s = gap_s
        self._pli_interval_s = pli_interval_s
        self.jitter = BoundedJitterBuffer(on_keyframe=self.flush_decoder_queue)
        self.counts = {"gaps": 0, "decode_errors": 0, "pli_sent": 0, "decoder_flushed": 0}
        self.last_packet_at: float | None = None
        self.last_pli_at: float | None = None
        self.keyframe_wanted = False

    def note_packet(self) -> None:
        """A packet arrived: after a gap, what follows needs a keyframe."""
        now = self._now()
        if self.last_packet_at is not None and now - self.last_packet_at >= self._gap_s:
            self.counts["gaps"] += 1
            self.keyframe_wanted = True
            self.jitter.waiting_for_keyframe = self.jitter.vp8
        self.last_packet_at = now

    def note_decode_error(self) -> None:
        self.counts["decode_errors"] += 1
        self.keyframe_wanted = True
        self.jitter.waiting_for_keyframe = self.jitter.vp8

    def pli_due(self) -> bool:
        """Whether to send a PLI now: one is wanted and none went out within the interval."""
        wanted = self.keyframe_wanted or self.jitter.waiting_for_keyframe
        now = self._now()
        if not wanted or (
            self.last_pli_at is not None and now - self.last_pli_at < self._pli_interval_s
        ):
            return False
        self.last_pli_at = now
        self.keyframe_wanted = False
        self.counts["pli_sent"] += 1
        return True

    def flush_decoder_queue(self) -> None:
        """Drop encoded frames still waiting for the decoder thread (a keyframe follows them)."""
        ended = False
        while True:
            try:
                task = self.decoder_queue.get_nowait()
            except queue.Empty:
                break
            if task is None:
                ended = True  # the stop sentinel must still reach the thread
            else:
                self.counts["decoder_flushed"] += 1
        if ended:
            self.decoder_queue.put(None)


def tune_receiver(
    receiver: RTCRtpReceiver, now: Callable[[], float] = time.monotonic
) -> ReceiverTuning | None:
    """Bound a video receiver in time and make it ask for keyframes promptly.

    Call once the transceiver exists (after addTrack/addTransceiver, or setRemoteDescription on
    the answering side) and before media flows; audio receivers are left alone (None).
    Idempotent.
    """
    if getattr(receiver, "_RTCRtpReceiver__kind", None) != "video":
        return None
    existing: ReceiverTuning | None = getattr(receiver, "_tandem_tuning", None)
    if existing is not None:
        return existing
    tuning = ReceiverTuning(receiver._RTCRtpReceiver__decoder_queue, now)  # type: ignore[attr-defined]
    receiver._tandem_tuning = tuning  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = tuning.jitter  # type: ignore[attr-defined]
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    decode_error = receiver._RTCRtpReceiver__decoder_error  # type: ignore[attr-defined]
    original: Callable[..., Awaitable[None]] = receiver._handle_rtp_packet

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        if receiver._enabled:
            tuning.note_packet()
            codec = codecs.get(packet.payload_type)
            if codec is not None and is_rtx(codec):
                codec = codecs.get(codec.parameters.get("apt", -1))
            if codec is not None:
                tuning.jitter.vp8 = codec.name == "VP8"
            if decode_error.is_set():
                decode_error.clear()  # aiortc would send a PLI per failure: ours is rate-limited
                tuning.note_decode_error()
        await original(packet, arrival_time_ms=arrival_time_ms)
        ssrc = tuning.jitter.last_ssrc
        if ssrc is not None and tuning.pli_due():
            await receiver._send_rtcp_pli(ssrc)

    receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]
    return tuning


async def recv_fresh(track: MediaStreamTrack, max_lag_s: float = MAX_SPAN_S) -> Any:
    """The next decoded frame of a remote video track, skipping frames that are more than
    `max_lag_s` older than the newest one already decoded (a backlog is dropped, not played
    fast). Works on aiortc's RemoteStreamTrack; other tracks behave like `track.recv()`."""
    frame = await track.recv()
    pending: asyncio.Queue[Any] | None = getattr(track, "_queue", None)
    if pending is None or pending.empty() or not isinstance(frame, av.VideoFrame):
        return frame
    waiting = [pending.get_nowait() for _ in range(pending.qsize())]
    frames = [f for f in waiting if isinstance(f, av.VideoFrame) and f.pts is not None]
    bound = int(max_lag_s * VIDEO_CLOCK)
    newest = frames[-1].pts if frames else None
    while frames and newest is not None and frame.pts is not None and newest - frame.pts > bound:
        waiting.remove(frames[0])
        frame = frames.pop(0)
    for item in waiting:  # put the rest back, in order (nothing else runs meanwhile)
        pending.put_nowait(item)
    return frame
