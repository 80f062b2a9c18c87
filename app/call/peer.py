"""One RTCPeerConnection per remote participant, plus the opt-in loopback ICE patch.

The newcomer offers, the peer already present answers; no trickle (aiortc gathers every
candidate before setLocalDescription returns). Remote video is drained here, counted for the
watchdog and, if asked, converted to BGR off the GUI thread. Callbacks into the engine never
raise into aiortc.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.call.audio_tracks import RemoteAudioSink
from app.call.bitrate_caps import BitrateCap
from app.call.events import Peer
from app.call.local_media import LocalMedia
from app.call.peer_channel import LABEL, DataMessage, PeerChannel
from app.call.rtp_tuning import ConnectionTuning, recv_fresh, tune_connection
from app.call.signaling import IceServer
from app.call.stats import StatsSnapshot, StatsTracker
from app.call.stream_stats import collect_snapshot
from app.devices.base import Speaker

log = logging.getLogger(__name__)


class _WithholdSdp(logging.Filter):
    """aiortc logs every SDP at DEBUG (ICE password, DTLS fingerprint, addresses): keep the
    line, drop the SDP, so `tandem -v` stays within the privacy rule."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Description(" in str(record.msg) and isinstance(record.args, tuple) and record.args:
            record.args = (*record.args[:-1], "[sdp withheld]")
        return True


_SDP_FILTER = _WithholdSdp()
logging.getLogger("aiortc.rtcpeerconnection").addFilter(_SDP_FILTER)

_loopback_users = 0
_original_host_addresses: Callable[[bool, bool], list[str]] | None = None


def enable_loopback_candidates() -> None:
    """Make aioice offer 127.0.0.1 as a host candidate (it never does by itself).

    Only for peers on one machine with no other shared address: practice mode and local tests.
    Process-wide while at least one user holds it: every enable needs one
    `disable_loopback_candidates()`. Nothing calls it unless asked (`allow_loopback=True`,
    `--allow-loopback`, TANDEM_ICE_LOOPBACK=1).
    """
    global _loopback_users, _original_host_addresses
    _loopback_users += 1
    if _original_host_addresses is not None:
        return
    import aioice.ice

    original = aioice.ice.get_host_addresses

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    _original_host_addresses = original
    aioice.ice.get_host_addresses = with_loopback
    log.info("ICE: offering 127.0.0.1 as a host candidate (loopback mode)")


def disable_loopback_candidates() -> None:
    """Release one enable; the last one restores aioice's own host-address gathering."""
    global _loopback_users, _original_host_addresses
    _loopback_users = max(_loopback_users - 1, 0)
    if _loopback_users == 0 and _original_host_addresses is not None:
        import aioice.ice

        setattr(aioice.ice, "get_host_addresses", _original_host_addresses)  # noqa: B010
        _original_host_addresses = None


def rtc_configuration(ice_servers: Sequence[IceServer]) -> RTCConfiguration:
    """Exactly the server's ICE servers; an empty list stays empty (no public STUN default)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in ice_servers
        ]
    )


class RemotePeer:
    """The media link to one remote participant."""

    def __init__(
        self,
        info: Peer,
        *,
        ice_servers: Sequence[IceServer],
        media: LocalMedia,
        speaker: Speaker | None,
        now: Callable[[], float],
        on_state: Callable[[RemotePeer, str], None],
        on_frame: Callable[[RemotePeer, av.VideoFrame], None],
        bitrate_cap: BitrateCap | None = None,
        on_data: Callable[[RemotePeer, DataMessage], None] | None = None,
    ) -> None:
        """`on_data` hears the chat and chat_ack messages that arrive on the data channel."""
        self.info = info
        self.bitrate_cap = bitrate_cap  # the video ladder's, shared by every peer's sender
        self.tuning: ConnectionTuning | None = None  # app.call.rtp_tuning, once SDP is set
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._media = media
        self._speaker = speaker
        self._now = now
        self._on_state = on_state
        self._on_frame = on_frame
        self._tasks: set[asyncio.Task[None]] = set()
        self._sinks: list[RemoteAudioSink] = []
        self._closed: asyncio.Future[None] | None = None
        self._describing: asyncio.Future[None] | None = None  # setLocalDescription under way
        self.connected = False
        self.tracker = StatsTracker(info.peer_id, StatsSnapshot(at=now()))
        self.frames_received = 0
        self.last_frame_at: float | None = None
        self.created_at = now()
        self._video_on = True
        self._on_data = on_data
        self.channel = PeerChannel(
            info.peer_id,
            now=now,
            spawn=self._spawn,
            on_message=self._data_arrived,
            sending_media=self._sending_media,
        )
        self.pc.on("connectionstatechange", self._connection_state_changed)
        self.pc.on("track", self._track_arrived)
        self.pc.on("datachannel", self.channel.attach)

    @property
    def peer_id(self) -> str:
        return self.info.peer_id

    @property
    def audio_frames(self) -> int:
        """Decoded audio frames so far: one per packet, so it grows while audio arrives, even
        silence (Opus keeps sending), and stops with the path."""
        return sum(sink.frames for sink in self._sinks)

    @property
    def last_beat_at(self) -> float | None:
        """When (our clock) the data channel last carried anything from this peer."""
        return self.channel.last_beat_at

    @property
    def quiet_beat_at(self) -> float | None:
        """When (our clock) this peer last said on the data channel that it sends us no media
        (no microphone, no video): the only heartbeat the media watchdog counts as life."""
        return self.channel.quiet_beat_at

    def _sending_media(self) -> bool:
        """Whether we send this peer any media: a muted microphone sends silence and a camera
        switched off black frames, so only a missing track or paused video send nothing."""
        for sender in self.pc.getSenders():
            if sender.track is not None and (sender.kind == "audio" or self._video_on):
                return True
        return False

    @property
    def datachannel_open(self) -> bool:
        """The data channel is open and the peer spoke on it lately (chat may take it)."""
        return self.channel.usable

    def send_data(self, message: DataMessage) -> bool:
        """A chat or chat_ack message over the data channel; False when it cannot take it."""
        return self.channel.send(message)

    def _local_track(self, kind: str) -> MediaStreamTrack | None:
        return self._media.subscribe(kind)

    async def create_offer(self) -> str:
        """Our offer always has one audio and one video m-line (recvonly for a kind we lack), so
        whoever answers can send us both; then the data channel (app.call.peer_channel), made
        before the offer so that the offer has its m-line."""
        for kind in ("audio", "video"):
            track = self._local_track(kind)
            if track is not None:
                self.pc.addTrack(track)
            else:
                self.pc.addTransceiver(kind, direction="recvonly")
        self.channel.attach(self.pc.createDataChannel(LABEL, ordered=True))
        await self._set_local_description(await self.pc.createOffer())
        self.tuning = tune_connection(self.pc, self.bitrate_cap, shared=self._media.video_encoder)
        return self.pc.localDescription.sdp

    async def accept_offer(self, sdp: str) -> str:
        """Answer exactly the offer's m-lines: our track for a kind we have, receive only for one
        we lack. A kind the offer leaves out (a browser without a microphone offers video only)
        gets no m-line: an answer may not add one, and aiortc fails on it. The data channel
        likewise: only an offer that has one (ours) gets one; the browser console's has none."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        offered = {t.kind for t in self.pc.getTransceivers()}
        for kind in sorted(offered):
            track = self._local_track(kind)
            if track is not None:
                # Takes the first offered transceiver of this kind (aiortc's addTrack).
                self.pc.addTrack(track)
        await self._set_local_description(await self.pc.createAnswer())
        self.tuning = tune_connection(self.pc, self.bitrate_cap, shared=self._media.video_encoder)
        return self.pc.localDescription.sdp

    async def _set_local_description(self, description: RTCSessionDescription) -> None:
        """setLocalDescription, carried to its end even when our caller is cancelled (an engine
        leaving while this link negotiates). It gathers the ICE candidates, and aioice binds a
        UDP socket per host address before it records any of them on its connection: a
        gathering cut short orphans the sockets bound so far, and one still running when the
        connection closes adds its sockets to a closed connection. Either way they stay open
        until the garbage collector finds them. close() waits for this step to end (aioice
        bounds gathering: host sockets at once, STUN and TURN within 5 s)."""
        step = asyncio.ensure_future(self.pc.setLocalDescription(description))
        self._describing = step
        await asyncio.shield(step)

    def set_video_sending(self, on: bool) -> None:
        """Send our video to this peer, or not (audio only), on this same connection."""
        if on == self._video_on:
            return
        self._video_on = on
        gate = None if self.tuning is None else self.tuning.video_gate
        if gate is not None:  # no video packets at all while paused; a keyframe on resume
            gate.resume() if on else gate.pause()
            return
        for sender in self.pc.getSenders():
            if sender.kind == "video":
                sender._enabled = on  # aiortc reads frames but encodes none while disabled

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def snapshot(self) -> StatsSnapshot:
        return await collect_snapshot(  # per-stream counts (RTX apart) + getStats()
            self.pc,
            now=self._now,
            frames_received=self.frames_received,
            last_frame_at=self.last_frame_at,
        )

    async def close(self) -> None:
        """Close once; shielded, because a close cut short by cancellation leaves aioice's
        sockets open (seen: an engine leaving while its receive loop was closing a link)."""
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closed)

    async def _close(self) -> None:
        for sink in self._sinks:
            sink.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        self.channel.close()
        step = self._describing
        if step is not None:  # close what its gathering binds, not before (see above)
            await asyncio.wait({step})
            if not step.cancelled():
                step.exception()  # seen here: the caller it failed for may be gone
        await self.pc.close()
        if tasks:  # closed means closed: no drain task outlives its connection
            await asyncio.wait(tasks)

    # aiortc callbacks: must never raise back into aiortc.

    def _connection_state_changed(self) -> None:
        state = self.pc.connectionState
        self.connected = state == "connected"
        log.debug("peer %s connection %s", self.peer_id, state)
        try:
            self._on_state(self, state)
        except Exception:
            log.exception("connection state handler failed")

    def _data_arrived(self, message: DataMessage) -> None:
        if self._on_data is not None:
            self._on_data(self, message)  # PeerChannel catches what this raises

    def _track_arrived(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self._spawn(self._drain_video(track))
        else:
            sink = RemoteAudioSink(track, self._speaker, self._media.echo)
            self._sinks.append(sink)
            self._spawn(sink.run())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain_video(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await recv_fresh(track)  # a backlog after an outage is skipped
                self.frames_received += 1
                self.last_frame_at = self._now()
                assert isinstance(frame, av.VideoFrame)
                try:
                    self._on_frame(self, frame)
                except Exception:
                    log.exception("frame handler failed")
        except MediaStreamError:
            log.debug("peer %s video ended", self.peer_id)
