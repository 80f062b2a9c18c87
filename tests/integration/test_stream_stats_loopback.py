"""Per-stream stats between two real aiortc connections on loopback, with packets dropped on
purpose at the sender's DTLS transport (after encoding, before SRTP: exactly what a lossy link
does to them, and the receiver's NACKs and the sender's RTX run as in a real call).

What must hold: video loss reads the dropped share and is not swamped by the retransmissions
(aiortc's getStats() mixes the RTX stream into the video's), audio has figures of its own,
a blackout reads as unknown loss and not as 0 %, the first seconds after it do not read as
heavy loss, and the RTT goes stale once the peer's reports stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import is_rtcp

from app.call.audio_tracks import ToneAudioTrack
from app.call.events import PeerStats
from app.call.peer import (
    disable_loopback_candidates,
    enable_loopback_candidates,
    rtc_configuration,
)
from app.call.stats import StatsSnapshot, StatsTracker
from app.call.stream_stats import collect_snapshot
from app.call.video_tracks import PatternVideoTrack

pytestmark = pytest.mark.slow

HANG_GUARD_S = 30.0  # turns a hang into a failure; nothing waits for it to pass
POLL_S = 0.2  # how often a test looks at the stats while it waits for a condition


@dataclass
class Filter:
    """What the sender's transport drops: a share of one SSRC's media packets, or everything,
    or (on the other side) all RTCP."""

    every_nth: int = 0  # drop every n-th media packet of `ssrc` (0: none)
    ssrc: int = -1
    blackout: bool = False
    rtcp: bool = True  # False: drop all RTCP
    dropped: int = 0
    _seen: int = field(default=0, repr=False)

    def keeps(self, data: bytes) -> bool:
        if is_rtcp(data):
            return self.rtcp and not self.blackout
        if self.blackout:
            return False
        if self.every_nth and int.from_bytes(data[8:12], "big") == self.ssrc:
            self._seen += 1
            if self._seen % self.every_nth == 0:
                self.dropped += 1
                return False
        return True


def drop_outgoing(pc: RTCPeerConnection, rule: Filter) -> None:
    """Wrap the connection's (bundled) DTLS transport: every RTP and RTCP packet it sends,
    media, RTX, reports and NACKs alike, passes through `_send_rtp`."""
    transport = pc.getSenders()[0].transport
    send = transport._send_rtp

    async def filtered(data: bytes) -> None:
        if rule.keeps(data):
            await send(data)

    transport._send_rtp = filtered  # type: ignore[method-assign]


async def drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


class Side:
    """One connection and a stats tracker over it, on the monotonic clock."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.tracker = StatsTracker("peer", StatsSnapshot(at=time.monotonic()))
        self.last: StatsSnapshot | None = None

    async def snapshot(self) -> StatsSnapshot:
        self.last = await collect_snapshot(
            self.pc, now=time.monotonic, frames_received=0, last_frame_at=None
        )
        return self.last

    async def stats(self) -> PeerStats:
        return self.tracker.update(await self.snapshot())

    async def until(self, condition: Callable[[StatsSnapshot], bool]) -> StatsSnapshot:
        """Look at the stats every POLL_S until `condition` holds (the hang guard fails it)."""

        async def poll() -> StatsSnapshot:
            while not condition(snapshot := await self.snapshot()):
                await asyncio.sleep(POLL_S)
            return snapshot

        return await asyncio.wait_for(poll(), HANG_GUARD_S)


@dataclass
class Call:
    sender: Side  # sends video and audio
    receiver: Side  # receives them; sends nothing but its reports (RTCP)
    video_ssrc: int


@contextlib.asynccontextmanager
async def call() -> AsyncIterator[Call]:
    enable_loopback_candidates()
    a = RTCPeerConnection(rtc_configuration([]))
    b = RTCPeerConnection(rtc_configuration([]))
    tasks: list[asyncio.Task[None]] = []
    b.on("track", lambda track: tasks.append(asyncio.ensure_future(drain(track))))
    connected = asyncio.Event()

    @a.on("connectionstatechange")
    def changed() -> None:
        if a.connectionState == "connected":
            connected.set()

    try:
        a.addTrack(PatternVideoTrack((640, 360), 30))
        a.addTrack(ToneAudioTrack())
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        sender, receiver = Side(a), Side(b)
        # Tap the receivers before the first packet, as the engine's stats loop does.
        await sender.snapshot()
        await receiver.snapshot()
        await asyncio.wait_for(connected.wait(), HANG_GUARD_S)
        video = next(s for s in a.getSenders() if s.kind == "video")
        yield Call(sender, receiver, video._ssrc)
    finally:
        await a.close()
        await b.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        disable_loopback_candidates()


def until_video(packets: int, since: StatsSnapshot) -> Callable[[StatsSnapshot], bool]:
    return lambda s: s.video.packets_expected - since.video.packets_expected >= packets


async def test_video_loss_is_the_dropped_share_and_retransmissions_stay_apart() -> None:
    async with call() as c:
        await c.receiver.until(lambda s: s.video.packets_received > 0)
        rule = Filter(every_nth=10, ssrc=c.video_ssrc)
        drop_outgoing(c.sender.pc, rule)
        start = await c.receiver.snapshot()
        assert start.per_stream  # counted by us, not aiortc's RTX-mixed getStats()
        c.receiver.tracker = StatsTracker("peer", start)
        end = await c.receiver.until(until_video(600, since=start))
        stats = c.receiver.tracker.update(end)

        assert rule.dropped > 50
        assert stats.video_loss_pct is not None
        assert stats.video_loss_pct == pytest.approx(10.0, abs=1.5)
        assert stats.packet_loss_pct == stats.video_loss_pct
        # The receiver asked for the lost packets and got them again, on the RTX stream.
        assert end.video_rtx.packets_received - start.video_rtx.packets_received > 0
        assert stats.video_rtx_packets_in > 0
        # Audio was not touched: it flows whole, with figures of its own.
        assert stats.audio_loss_pct == 0.0
        assert stats.audio_packets_in > 20  # ~50 a second from a 20 ms Opus frame
        assert stats.audio_bitrate_in_kbps > 0
        assert stats.audio_since_last_packet_s is not None
        assert stats.audio_since_last_packet_s < 1.0


async def test_a_blackout_reads_as_unknown_loss_and_its_end_not_as_heavy_loss() -> None:
    async with call() as c:
        await c.receiver.until(until_video(100, since=StatsSnapshot(at=0.0)))
        rule = Filter(blackout=True)
        drop_outgoing(c.sender.pc, rule)
        await c.receiver.snapshot()  # the last packets before the blackout may still land
        quiet = await c.receiver.until(
            lambda s: (
                s.audio.last_packet_at is not None and s.at - s.audio.last_packet_at > 1.5
            )  # past OUTAGE_S
        )
        c.receiver.tracker = StatsTracker("peer", quiet)
        during = await c.receiver.stats()
        assert during.video_loss_pct is None and during.audio_loss_pct is None
        assert during.packet_loss_pct is None  # unknown, not 0 %: nothing arrives

        rule.blackout = False
        back = await c.receiver.until(until_video(300, since=quiet))
        after = c.receiver.tracker.update(back)
        # Hundreds of packets numbered during the blackout are an outage, not loss; the RTX
        # burst that follows (NACKs for the gap) is not counted as video either.
        assert back.video.outage_packets > quiet.video.outage_packets
        assert after.video_loss_pct is not None
        assert after.video_loss_pct < 5.0
        assert after.packet_loss_pct == after.video_loss_pct
        assert after.audio_loss_pct is not None and after.audio_loss_pct < 5.0


async def test_the_rtt_goes_stale_when_the_peers_reports_stop() -> None:
    async with call() as c:
        fresh = await c.sender.until(lambda s: s.rtt_s is not None)
        stats = c.sender.tracker.update(fresh)
        assert stats.rtt_ms is not None and not stats.rtt_stale
        drop_outgoing(c.receiver.pc, Filter(rtcp=False))  # the receiver sends only RTCP
        stale = await c.sender.until(
            lambda s: s.rtt_at is not None and s.at - s.rtt_at > 2.0  # RTT_STALE_S
        )
        stats = c.sender.tracker.update(stale)
        assert stats.rtt_stale
        assert stats.rtt_ms is None
