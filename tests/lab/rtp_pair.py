"""Two real aiortc connections on loopback, one sending video (and maybe audio) to the other,
with a fault on the sending side's DTLS transport: a blackout, random loss or a rate policer.

The fault sits where aiortc hands plaintext RTP/RTCP to SRTP (`RTCDtlsTransport._send_rtp`), so
it also counts what the sender offers to the link, by stream (media, retransmissions, audio,
RTCP): headers are still in clear there. Used by tests/integration/test_media_recovery.py and
benchmarks/media_recovery.py.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import is_rtcp

from app.call.bitrate_caps import BitrateCap
from app.call.peer import disable_loopback_candidates, enable_loopback_candidates, rtc_configuration
from app.call.receive_tuning import ReceiverTuning, recv_fresh
from app.call.rtp_tuning import tune_connection
from app.call.send_tuning import SenderTuning, VideoGate
from app.call.shared_encoder import SharedVideoEncoder
from app.call.video_tracks import LocalVideoTrack

HANG_GUARD_S = 30.0


def feedback_kind(data: bytes) -> str:
    """ "pli" for a compound RTCP packet holding a picture loss indication, else "feedback"."""
    pos = 0
    while is_rtcp(data) and pos + 4 <= len(data):
        fmt, packet_type = data[pos] & 0x1F, data[pos + 1]
        if packet_type == 206 and fmt == 1:  # payload-specific feedback, PLI
            return "pli"
        pos += 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
    return "feedback"


class LinkFault:
    """Drops what one transport sends while `blackout`, with probability `loss`, or above
    `rate_bps` (a policer with a 0.2 s bucket); counts bytes offered and passed by stream."""

    def __init__(self, transport: Any, classify: Callable[[bytes], str]) -> None:
        self.blackout = False
        self.loss = 0.0
        self.rate_bps: float | None = None
        self.offered: collections.Counter[str] = collections.Counter()
        self.passed: collections.Counter[str] = collections.Counter()
        self.packets: collections.Counter[str] = collections.Counter()
        self.timestamps: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
        self._classify = classify
        self._tokens = 0.0
        self._last = time.monotonic()
        self._random = random.Random(7)
        original: Callable[[bytes], Awaitable[None]] = transport._send_rtp

        async def send(data: bytes) -> None:
            kind = classify(data)
            self.offered[kind] += len(data)
            self.packets[kind] += 1
            if not is_rtcp(data):
                self.timestamps[kind].append(int.from_bytes(data[4:8], "big"))
            if self._drops(len(data)):
                return
            self.passed[kind] += len(data)
            await original(data)

        transport._send_rtp = send

    def _drops(self, size: int) -> bool:
        if self.blackout or (self.loss and self._random.random() < self.loss):
            return True
        if self.rate_bps is None:
            return False
        now = time.monotonic()
        depth = self.rate_bps / 8 * 0.2
        self._tokens = min(depth, self._tokens + (now - self._last) * self.rate_bps / 8)
        self._last = now
        if self._tokens < size:
            return True
        self._tokens -= size
        return False


class VideoPair:
    """`sender_pc` sends `video` (and `audio`) to `receiver_pc`, which decodes every frame."""

    def __init__(
        self,
        video: MediaStreamTrack,
        *,
        tuned: bool = True,
        cap: BitrateCap | None = None,
        audio: MediaStreamTrack | None = None,
        shared: SharedVideoEncoder | None = None,
    ) -> None:
        """`shared`: the video is encoded by this shared encoder (with other pairs' senders)."""
        self.video = video
        self.shared = shared
        self.audio = audio
        self.tuned = tuned
        self.cap = cap
        self.frames: list[tuple[float, int]] = []  # (monotonic time, pts) per decoded frame
        self.frame_arrived = asyncio.Event()
        self.sender_fault: LinkFault | None = None
        self.receiver_fault: LinkFault | None = None
        self.sender_tuning: SenderTuning | None = None
        self.receiver_tuning: ReceiverTuning | None = None
        self.video_gate: VideoGate | None = None
        self.video_sender: RTCRtpSender | None = None
        self.video_receiver: RTCRtpReceiver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.sender_pc: RTCPeerConnection | None = None
        self.receiver_pc: RTCPeerConnection | None = None

    async def start(self) -> None:
        enable_loopback_candidates()
        self.sender_pc = RTCPeerConnection(rtc_configuration([]))
        self.receiver_pc = RTCPeerConnection(rtc_configuration([]))
        self.receiver_pc.on("track", self._track)
        self.video_sender = self.sender_pc.addTrack(self.video)
        if self.audio is not None:
            self.sender_pc.addTrack(self.audio)
        await self.sender_pc.setLocalDescription(await self.sender_pc.createOffer())
        await self.receiver_pc.setRemoteDescription(self.sender_pc.localDescription)
        await self.receiver_pc.setLocalDescription(await self.receiver_pc.createAnswer())
        self.video_receiver = next(
            r for r in self.receiver_pc.getReceivers() if r.track and r.track.kind == "video"
        )
        if self.tuned:
            sending = tune_connection(self.sender_pc, self.cap, shared=self.shared)
            self.sender_tuning = next(s for s in sending.senders if s.sender is self.video_sender)
            self.video_gate = sending.video_gate
            self.receiver_tuning = tune_connection(self.receiver_pc).receivers[0]
        await self.sender_pc.setRemoteDescription(self.receiver_pc.localDescription)
        sender = self.video_sender
        self.sender_fault = LinkFault(sender.transport, self._classify)
        self.receiver_fault = LinkFault(self.video_receiver.transport, feedback_kind)

    def _classify(self, data: bytes) -> str:
        assert self.video_sender is not None
        if is_rtcp(data):
            return "rtcp"
        ssrc = int.from_bytes(data[8:12], "big")
        if ssrc == self.video_sender._ssrc:
            return "video"
        if ssrc == self.video_sender._rtx_ssrc:
            return "rtx"
        return "audio"

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self._tasks.append(asyncio.ensure_future(self._drain(track)))

    async def _drain(self, track: MediaStreamTrack) -> None:
        receive = recv_fresh if self.tuned else (lambda t: t.recv())
        try:
            while True:
                frame = await receive(track)
                assert isinstance(frame, av.VideoFrame) and frame.pts is not None
                self.frames.append((time.monotonic(), frame.pts))
                self.frame_arrived.set()
        except MediaStreamError:
            pass

    async def frames_after(self, count: int, already: int) -> None:
        """Wait until `count` more frames than `already` were decoded."""

        async def wait() -> None:
            while len(self.frames) < already + count:
                self.frame_arrived.clear()
                await self.frame_arrived.wait()

        await asyncio.wait_for(wait(), HANG_GUARD_S)

    def blackout(self, on: bool) -> None:
        assert self.sender_fault is not None and self.receiver_fault is not None
        self.sender_fault.blackout = on
        self.receiver_fault.blackout = on

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for pc in (self.sender_pc, self.receiver_pc):
            if pc is not None:
                await pc.close()
        if self._tasks:
            await asyncio.wait(self._tasks)
        disable_loopback_candidates()


class NoiseVideoTrack(LocalVideoTrack):
    """Moving noise over a gradient: hard to compress, so VP8 spends every bit it is allowed
    (a test pattern alone would stay under most caps and prove nothing)."""

    def __init__(self, size: tuple[int, int] = (640, 360), fps: int = 15) -> None:
        super().__init__(size, fps)
        self._rng = np.random.default_rng(3)

    async def next_image(self, index: int) -> np.ndarray:
        height, width = self.size[1], self.size[0]
        noise = self._rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
        return np.asarray(np.roll(ramp, index * 4, axis=1) // 2 + noise // 2, dtype=np.uint8)
