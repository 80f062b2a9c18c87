"""The sent video changes size and rate during a real aiortc call, and the other side follows.

First two bare RTCPeerConnections on loopback: a track's set_profile() mid-call, and the
decoded frames after it (aiortc's VP8 encoder starts afresh on a new size). Then two engines on
the embedded server, the sender's adapter forced down by thresholds every second breaks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.call.engine import CallEngine
from app.call.events import CallEvent, RemoteFrame, StatsReport
from app.call.peer import disable_loopback_candidates, enable_loopback_candidates, rtc_configuration
from app.call.video_profile import LADDER, AdaptSettings
from app.call.video_tracks import PatternVideoTrack
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token

pytestmark = pytest.mark.slow

HANG_GUARD_S = 30.0  # turns a hang into a failure; nothing waits for it to pass


@pytest.fixture
def loopback() -> Iterator[None]:
    enable_loopback_candidates()
    try:
        yield
    finally:
        disable_loopback_candidates()


@pytest.fixture
async def sent_and_decoded(
    loopback: None,
) -> AsyncIterator[tuple[PatternVideoTrack, asyncio.Queue[av.VideoFrame]]]:
    """A pattern track sent from one local RTCPeerConnection to another; decoded frames queue."""
    sender = RTCPeerConnection(rtc_configuration([]))
    receiver = RTCPeerConnection(rtc_configuration([]))
    track = PatternVideoTrack((640, 360), 15)
    decoded: asyncio.Queue[av.VideoFrame] = asyncio.Queue()
    drains: list[asyncio.Task[None]] = []

    async def drain(remote: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await remote.recv()
                assert isinstance(frame, av.VideoFrame)
                decoded.put_nowait(frame)
        except MediaStreamError:
            pass

    receiver.on("track", lambda remote: drains.append(asyncio.ensure_future(drain(remote))))
    sender.addTrack(track)
    try:
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        yield track, decoded
    finally:
        track.stop()
        await sender.close()
        await receiver.close()
        for task in drains:
            task.cancel()


async def next_frame(decoded: asyncio.Queue[av.VideoFrame]) -> av.VideoFrame:
    return await asyncio.wait_for(decoded.get(), HANG_GUARD_S)


async def frames_until(
    decoded: asyncio.Queue[av.VideoFrame], size: tuple[int, int], then: int
) -> tuple[list[tuple[int, int]], list[av.VideoFrame]]:
    """Sizes decoded before the first frame of `size`, and that frame plus `then` more."""
    before: list[tuple[int, int]] = []
    while (frame := await next_frame(decoded)).width != size[0] or frame.height != size[1]:
        before.append((frame.width, frame.height))
    return before, [frame] + [await next_frame(decoded) for _ in range(then)]


def steps(frames: list[av.VideoFrame]) -> Counter[int]:
    """RTP timestamp steps between successive decoded frames (90 kHz)."""
    pts: list[int] = []
    for frame in frames:
        assert frame.pts is not None
        pts.append(frame.pts)
    return Counter(b - a for a, b in zip(pts, pts[1:], strict=False))


async def test_decoded_frames_follow_a_size_and_rate_change_both_ways(
    sent_and_decoded: tuple[PatternVideoTrack, asyncio.Queue[av.VideoFrame]],
) -> None:
    track, decoded = sent_and_decoded
    _, big = await frames_until(decoded, (640, 360), then=5)
    assert steps(big).most_common(1)[0][0] == 6000  # 15 fps

    track.set_profile((320, 180), 10)
    before, small = await frames_until(decoded, (320, 180), then=15)
    assert set(before) <= {(640, 360)}  # frames already on their way, nothing else
    assert {(f.width, f.height) for f in small} == {(320, 180)}  # and they keep coming
    small_steps = steps(small)
    assert small_steps.most_common(1)[0][0] == 9000  # 10 fps
    assert all(step > 0 and step % 9000 == 0 for step in small_steps)  # monotonic, whole frames

    track.set_profile((480, 270), 15)  # and back up
    before, mid = await frames_until(decoded, (480, 270), then=10)
    assert set(before) <= {(320, 180)}
    assert {(f.width, f.height) for f in mid} == {(480, 270)}


# --- the engine, with its adapter forced down -------------------------------------------------


class Watch:
    """The receiver's decoded sizes from the sender, and the sender's reported profile."""

    def __init__(self, frames_at_bottom: int) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.sent: list[tuple[int | None, int | None, int | None]] = []
        self.bottom_reported = asyncio.Event()
        self.enough_at_bottom = asyncio.Event()
        self._wanted = frames_at_bottom
        self._at_bottom = 0

    def receiver(self, event: CallEvent) -> None:
        if isinstance(event, RemoteFrame):
            height, width = event.frame.shape[:2]
            self.sizes.append((width, height))
            if self.bottom_reported.is_set() and (width, height) == LADDER[-1].size:
                self._at_bottom += 1
                if self._at_bottom >= self._wanted:
                    self.enough_at_bottom.set()

    def sender(self, event: CallEvent) -> None:
        if isinstance(event, StatsReport):
            stats = event.stats
            self.sent.append((stats.sent_width, stats.sent_height, stats.sent_fps))
            if self.sent[-1] == (*LADDER[-1].size, LADDER[-1].fps):
                self.bottom_reported.set()


async def test_an_engine_forced_down_the_ladder_sends_smaller_video(
    server: EmbeddedServer,
) -> None:
    watch = Watch(frames_at_bottom=10)
    # Every connected second counts as lossy (any loss is above -1 %) and none as clean: the
    # adapter must walk down one rung per two stats seconds and stay at the bottom.
    forced = AdaptSettings(lossy_pct=-1.0, clean_pct=-2.0, down_after=2)
    secret = server.config.secret
    sender = CallEngine(
        server.url,
        mint_token(secret, "practice", "partner", "Sender", 60),
        camera=None,
        microphone=None,
        listener=watch.sender,
        allow_loopback=True,
        video_track=PatternVideoTrack((640, 360), 15),
        remote_frames=False,
        video_adaptation=forced,
    )
    receiver = CallEngine(
        server.url,
        mint_token(secret, "practice", "therapist", "Receiver", 60),
        camera=None,
        microphone=None,
        listener=watch.receiver,
        allow_loopback=True,
    )
    try:
        await sender.join()
        await receiver.join()
        await asyncio.wait_for(watch.enough_at_bottom.wait(), HANG_GUARD_S)
    finally:
        await receiver.leave()
        await sender.leave()

    # Every size arrived in ladder order, none skipped back up, ending at the smallest.
    distinct = [size for i, size in enumerate(watch.sizes) if i == 0 or watch.sizes[i - 1] != size]
    assert distinct == [(640, 360), (480, 270), (320, 180)]
    reported = [s for i, s in enumerate(watch.sent) if i == 0 or watch.sent[i - 1] != s]
    assert reported == [(r.width, r.height, r.fps) for r in LADDER]
