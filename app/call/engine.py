"""The call engine (Qt-free): joins a room over signaling, one RemotePeer per participant.

Runs on one asyncio loop; every event goes to `listener` on that loop's thread. The engine owns
the state machine, the local tracks (shared between peers through a MediaRelay), a heartbeat,
and a once-a-second stats report per peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from types import MappingProxyType
from typing import Any

import aiohttp
import av
from aiortc.contrib.media import MediaRelay

from app.call.audio_tracks import LocalAudioTrack, MicrophoneAudioTrack
from app.call.events import (
    CallError,
    CallEvent,
    CallListener,
    CallState,
    FirstFrame,
    Joined,
    Left,
    LocalDeviceProblem,
    Peer,
    PeerConnected,
    PeerJoined,
    PeerLeft,
    PeerStats,
    RemoteFrame,
    StateChanged,
    StatsReport,
)
from app.call.negotiation import NEGOTIATION_DEADLINE_S, Deadlines
from app.call.peer import (
    RemotePeer,
    disable_loopback_candidates,
    enable_loopback_candidates,
    to_bgr,
)
from app.call.signaling import (
    Message,
    ProtocolError,
    Signaling,
    WebSocketSignaling,
    Welcome,
    join_message,
    parse_error,
    parse_peer,
    parse_peer_left,
    parse_sdp,
    parse_welcome,
    websocket_url,
)
from app.call.state import CallInput, CallStateMachine
from app.call.video_profile import AdaptSettings, VideoAdapter, ladder_for
from app.call.video_tracks import CameraVideoTrack, LocalVideoTrack
from app.devices.base import Camera, DeviceError, Microphone, Speaker

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 1.0
SERVER_SILENCE_PERIODS = 3  # heartbeats without a word from the server before it counts as lost


class JoinError(Exception):
    """join() did not get into the room; `code` is the CallError code already emitted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CallEngine:
    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        camera: Camera | None,
        microphone: Microphone | None,
        listener: CallListener,
        video_size: tuple[int, int] = (640, 360),
        fps: int = 15,
        now: Callable[[], float] = time.monotonic,
        speaker: Speaker | None = None,
        allow_loopback: bool = False,
        video_track: LocalVideoTrack | None = None,
        audio_track: LocalAudioTrack | None = None,
        remote_frames: bool = True,
        signaling: Signaling | None = None,
        join_timeout: float = 10.0,
        negotiation_deadline: float = NEGOTIATION_DEADLINE_S,
        upload_mbps: float | None = None,
        video_adaptation: AdaptSettings | None = None,
    ) -> None:
        """`video_track`/`audio_track` (e.g. PatternVideoTrack, ToneAudioTrack) replace
        `camera`/`microphone`; `remote_frames=False` skips the BGR conversion of remote video
        (headless runs only count frames); `signaling` replaces the WebSocket (tests);
        `negotiation_deadline` is how long each peer connection may take to come up;
        `upload_mbps` (the equipment check's upload) picks the video's starting size, and
        `video_adaptation` replaces the thresholds that move it during the call (tests)."""
        self._token = token
        self._camera = camera
        self._microphone = microphone
        self._listener = listener
        self._video_size = video_size
        self._fps = fps
        self._now = now
        self._speaker = speaker
        self._allow_loopback = allow_loopback
        self._video: LocalVideoTrack | None = video_track
        self._audio: LocalAudioTrack | None = audio_track
        self._remote_frames = remote_frames
        self._signaling = signaling or WebSocketSignaling(websocket_url(server_url))
        self._join_timeout = join_timeout
        self._upload_mbps = upload_mbps
        self._video_adaptation = video_adaptation
        self._adapter: VideoAdapter | None = None
        self._deadlines: Deadlines[RemotePeer] = Deadlines(
            negotiation_deadline, self._negotiation_overdue
        )
        self._machine = CallStateMachine(self._state_changed, now=now)
        self._relay = MediaRelay()
        self._roster: dict[str, Peer] = {}
        self._links: dict[str, RemotePeer] = {}
        self._closing_links: set[RemotePeer] = set()
        self._gone: set[str] = set()  # PeerLeft already emitted (media failed before the server)
        self._tasks: set[asyncio.Task[None]] = set()
        self._welcome: Welcome | None = None
        self._join_started = 0.0
        self._last_heard = 0.0
        self._muted = False
        self._camera_enabled = True
        self._closing = False
        self._shutdown_done: asyncio.Future[None] | None = None
        self._holds_loopback = False

    # --- public API -----------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._machine.state

    @property
    def peers(self) -> Mapping[str, Peer]:
        """The room's other participants (the roster), by peer_id."""
        return MappingProxyType(self._roster)

    @property
    def peer_id(self) -> str | None:
        return None if self._welcome is None else self._welcome.peer_id

    async def join(self) -> None:
        """Connect and enter the room. Returns once welcomed; raises JoinError (after emitting
        CallError) when the server refuses or cannot be reached. Cancelled, it leaves as
        leave() does before the CancelledError goes on: nothing stays connected or running."""
        if self._machine.state is not CallState.IDLE:
            raise RuntimeError("join() can be called once per engine")
        try:
            await self._enter()
        except asyncio.CancelledError:
            await self.leave()
            raise

    async def _enter(self) -> None:
        self._join_started = self._now()
        self._machine.handle(CallInput.JOIN)
        if self._allow_loopback:
            enable_loopback_candidates()
            self._holds_loopback = True
        try:
            await self._signaling.connect()
            await self._signaling.send(join_message(self._token))
            reply = await asyncio.wait_for(self._signaling.receive(), self._join_timeout)
        except ProtocolError as exc:
            await self._fail_join(
                "protocol_error", f"The session server's reply was not understood ({exc})."
            )
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            log.warning("cannot reach the session server: %s", type(exc).__name__)
            await self._fail_join(
                "server_unreachable",
                "The session server could not be "
                "reached. Check your internet connection and try again.",
            )
        if reply is None:
            await self._fail_join("server_closed", "The session server closed the connection.")
        assert reply is not None
        if reply["type"] == "error":
            try:
                error = parse_error(reply)
            except ProtocolError:
                await self._fail_join(
                    "protocol_error", "The session server refused to let you in without saying why."
                )
            await self._fail_join(
                error.code, error.message or "The session server refused to let you in."
            )
        try:
            if reply["type"] != "welcome":
                raise ProtocolError(f"expected 'welcome', got '{reply['type'][:40]}'")
            welcome = parse_welcome(reply)
        except ProtocolError as exc:
            await self._fail_join(
                "protocol_error", f"The session server's reply was not understood ({exc})."
            )
        self._welcome = welcome
        self._last_heard = self._now()
        self._roster = {p.peer_id: p for p in welcome.peers}
        self._make_local_tracks()
        self._emit(Joined(self._now(), welcome.peer_id, welcome.room, welcome.peers))
        self._machine.handle(CallInput.WELCOMED)
        self._spawn(self._receive_loop())
        self._spawn(self._heartbeat(welcome.heartbeat_s))
        self._spawn(self._stats_loop())
        for peer in welcome.peers:
            self._spawn(self._offer_to(peer))

    async def leave(self) -> None:
        """Leave the room cleanly (idempotent): tells the server, closes every connection.

        After a failure it only waits for the shutdown the failure started: one cut short by a
        cancellation (leave() cancelling a join that was failing) still finishes here."""
        if self._machine.finished:
            await self._shutdown()
            return
        if not self._closing:
            with contextlib.suppress(Exception):
                await self._signaling.send({"type": "leave"})
        await self._shutdown()
        if not self._machine.finished:  # a failure may have come while we waited
            self._machine.handle(CallInput.LEAVE)
            self._emit(Left(self._now(), "left"))

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if self._audio is not None:
            self._audio.muted = muted

    def set_camera_enabled(self, enabled: bool) -> None:
        self._camera_enabled = enabled
        if self._video is not None:
            self._video.enabled = enabled

    # --- internals ------------------------------------------------------------------------

    def _emit(self, event: CallEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a listener's bug must not take the call (or aiortc) down
            log.exception("call listener failed on %s", type(event).__name__)

    def _state_changed(self, old: CallState, new: CallState, at: float) -> None:
        self._emit(StateChanged(at, old, new))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._closing:  # the shutdown already cancelled the others: start nothing new
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    def _make_local_tracks(self) -> None:
        if self._video is None and self._camera is not None:
            self._video = CameraVideoTrack(
                self._camera,
                self._video_size,
                self._fps,
                on_lost=self._camera_lost,
                now=self._now,
            )
        if self._audio is None and self._microphone is not None:
            self._audio = MicrophoneAudioTrack(self._microphone)
        self.set_muted(self._muted)
        self.set_camera_enabled(self._camera_enabled)
        if self._video is not None:
            # Never above the track's own size; start where the upload allows for those here.
            video = self._video
            self._adapter = VideoAdapter(
                ladder_for(video.size, video.fps),
                upload_kbps=None if self._upload_mbps is None else self._upload_mbps * 1000,
                peers=len(self._roster),
                settings=self._video_adaptation,
            )
            video.set_profile(self._adapter.profile.size, self._adapter.profile.fps)

    def _camera_lost(self, exc: DeviceError) -> None:
        if not self._closing:
            self._emit(LocalDeviceProblem(self._now(), "camera", exc.problem))

    async def _fail_join(self, code: str, message: str) -> None:
        self._emit(CallError(self._now(), code, message))
        self._machine.handle(CallInput.FAIL)
        await self._shutdown()
        raise JoinError(code, message)

    async def _fail_call(self, code: str, message: str) -> None:
        if self._closing:
            return
        self._emit(CallError(self._now(), code, message))
        await self._shutdown()
        self._machine.handle(CallInput.FAIL)

    async def _shutdown(self) -> None:
        """Close everything, once, whoever asks first; later calls wait for the same work.

        Shielded: a caller cancelled mid-way (leave() cancelling a join that is failing) must not
        cut the shutdown short, or the WebSocket, the devices and the loopback patch stay held.
        """
        if self._shutdown_done is None:
            self._closing = True
            caller = asyncio.current_task()
            self._shutdown_done = asyncio.ensure_future(self._close_everything(caller))
        await asyncio.shield(self._shutdown_done)

    async def _close_everything(self, caller: asyncio.Task[Any] | None) -> None:
        self._deadlines.cancel_all()
        # The task that asked (e.g. the receive loop failing the call) goes on after this.
        cancelled = [task for task in self._tasks if task is not caller]
        for task in cancelled:
            task.cancel()
        # Links a cancelled task was closing finish closing here (RemotePeer.close is shielded).
        links = [*self._links.values(), *self._closing_links]
        self._links = {}
        for link in links:
            with contextlib.suppress(Exception):
                await link.close()
        with contextlib.suppress(Exception):
            await self._signaling.close()
        for track in (self._video, self._audio):
            if isinstance(track, CameraVideoTrack | MicrophoneAudioTrack):
                await track.release()
            elif track is not None:
                track.stop()
        if cancelled:
            await asyncio.wait(cancelled)
        if self._holds_loopback:
            self._holds_loopback = False
            disable_loopback_candidates()

    def _new_link(self, info: Peer) -> RemotePeer:
        assert self._welcome is not None
        link = RemotePeer(
            info,
            ice_servers=self._welcome.ice_servers,
            relay=self._relay,
            video=self._video,
            audio=self._audio,
            speaker=self._speaker,
            now=self._now,
            on_state=self._link_state,
            on_frame=self._link_frame,
        )
        self._links[info.peer_id] = link
        self._gone.discard(info.peer_id)
        self._deadlines.start(link)
        return link

    async def _drop_link(self, peer_id: str) -> bool:
        link = self._links.pop(peer_id, None)
        if link is None:
            return False
        self._deadlines.settle(link)
        self._closing_links.add(link)
        try:
            await link.close()
        finally:
            self._closing_links.discard(link)
        self._update_connected()
        return True

    def _update_connected(self) -> None:
        if self._machine.finished:
            return
        connected = any(link.connected for link in self._links.values())
        self._machine.handle(CallInput.PEER_CONNECTED if connected else CallInput.NO_PEER_CONNECTED)

    async def _offer_to(self, peer: Peer) -> None:
        link = self._new_link(peer)
        try:
            sdp = await link.create_offer()
            await self._signaling.send({"type": "offer", "to": peer.peer_id, "sdp": sdp})
        except Exception as exc:
            log.warning("offer to peer %s failed: %s", peer.peer_id, type(exc).__name__)
            await self._media_failed(link)

    async def _media_failed(self, link: RemotePeer) -> None:
        if self._links.get(link.peer_id) is not link:
            return
        await self._drop_link(link.peer_id)
        self._gone.add(link.peer_id)
        self._emit(PeerLeft(self._now(), link.peer_id, "failed"))

    def _link_state(self, link: RemotePeer, state: str) -> None:
        if self._links.get(link.peer_id) is not link:
            return
        if state == "connected":
            self._deadlines.settle(link)
            if not link.announced:
                link.announced = True
                self._emit(PeerConnected(self._now(), link.peer_id))
        if state == "failed":
            # Failing before it ever connected is the same news as the deadline's, only later.
            self._spawn(self._media_failed(link) if link.announced else self._unreachable(link))
        self._update_connected()

    def _negotiation_overdue(self, link: RemotePeer) -> None:
        if not self._closing and self._links.get(link.peer_id) is link:
            log.info("peer %s not connected after %.0f s", link.peer_id, self._deadlines.seconds)
            self._spawn(self._unreachable(link))

    async def _unreachable(self, link: RemotePeer) -> None:
        """Tell the listener first (fallback acts on the code), then close only this link."""
        if self._links.get(link.peer_id) is not link:
            return
        self._emit(
            CallError(
                self._now(),
                "peer_unreachable",
                "The connection to this participant could not be set up; the call goes on.",
                peer_id=link.peer_id,
            )
        )
        await self._media_failed(link)

    def _link_frame(self, link: RemotePeer, frame: av.VideoFrame) -> None:
        now = self._now()
        if not link.first_frame_seen:
            link.first_frame_seen = True
            self._emit(FirstFrame(now, link.peer_id, (now - self._join_started) * 1000.0))
        if self._remote_frames:
            self._emit(RemoteFrame(now, link.peer_id, to_bgr(frame)))

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self._signaling.receive()
                self._last_heard = self._now()
            except ProtocolError as exc:
                self._protocol_problem(exc)
                continue
            except (OSError, aiohttp.ClientError):
                message = None
            if message is None or self._closing:
                await self._fail_call(
                    "server_lost", "The connection to the session server was lost."
                )
                return
            try:
                await self._dispatch(message)
            except ProtocolError as exc:
                self._protocol_problem(exc)
            if self._closing:
                return

    def _protocol_problem(self, exc: ProtocolError) -> None:
        log.warning("ignored a malformed server message: %s", exc)
        self._emit(
            CallError(
                self._now(),
                "protocol_error",
                "The session server sent something this version does not "
                "understand; the call goes on.",
            )
        )

    async def _dispatch(self, message: Message) -> None:
        kind = message["type"]
        if kind == "offer":
            await self._answer(*parse_sdp(message))
        elif kind == "answer":
            peer_id, sdp = parse_sdp(message)
            link = self._links.get(peer_id)
            if link is None:
                log.debug("answer from unknown peer %s ignored", peer_id)
                return
            try:
                await link.accept_answer(sdp)
            except Exception as exc:
                log.warning("answer from peer %s rejected: %s", peer_id, type(exc).__name__)
                await self._media_failed(link)
        elif kind == "peer_joined":
            peer = parse_peer(message.get("peer"))
            await self._drop_link(peer.peer_id)
            self._roster[peer.peer_id] = peer
            self._gone.discard(peer.peer_id)
            self._emit(PeerJoined(self._now(), peer))
        elif kind == "peer_left":
            peer_id, reason = parse_peer_left(message)
            known = self._roster.pop(peer_id, None) is not None
            await self._drop_link(peer_id)
            if peer_id in self._gone:
                self._gone.discard(peer_id)
            elif known:
                self._emit(PeerLeft(self._now(), peer_id, reason))
        elif kind == "error":
            error = parse_error(message)
            if error.fatal:
                await self._fail_call(
                    error.code, error.message or "The session server ended the call."
                )
            else:
                log.warning("session server reported %s", error.code)
        elif kind != "pong":
            log.debug("ignored message of unknown type")

    async def _answer(self, peer_id: str, sdp: str) -> None:
        await self._drop_link(peer_id)
        info = self._roster.get(peer_id) or Peer(peer_id, "", "")
        link = self._new_link(info)
        try:
            answer = await link.accept_offer(sdp)
            await self._signaling.send({"type": "answer", "to": peer_id, "sdp": answer})
        except Exception as exc:
            log.warning("offer from peer %s rejected: %s", peer_id, type(exc).__name__)
            await self._media_failed(link)

    async def _heartbeat(self, period: float) -> None:
        """Ping every `period`; a server silent for 3 periods (no pong, nothing) is lost, since
        a blackholed WebSocket would otherwise wait forever."""
        while True:
            await asyncio.sleep(period)
            if self._now() - self._last_heard > SERVER_SILENCE_PERIODS * period:
                log.warning("session server silent for %.0f s", self._now() - self._last_heard)
                await self._fail_call(
                    "server_lost", "The connection to the session server was lost."
                )
                return
            try:
                await self._signaling.send({"type": "ping"})
            except Exception:  # the receive loop notices the closed connection
                return

    async def _stats_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += STATS_INTERVAL_S
            await asyncio.sleep(max(due - loop.time(), 0.0))
            connected: list[PeerStats] = []
            for link in list(self._links.values()):
                try:
                    snapshot = await link.snapshot()
                except Exception as exc:  # a closing connection has no stats: skip it
                    log.debug("no stats for peer %s: %s", link.peer_id, type(exc).__name__)
                    continue
                if self._links.get(link.peer_id) is link:
                    video = self._video
                    stats = link.tracker.update(
                        snapshot,
                        sent_size=None if video is None else video.size,
                        sent_fps=None if video is None else video.fps,
                    )
                    self._emit(StatsReport(snapshot.at, stats))
                    if link.connected:  # a link still negotiating sends nothing yet
                        connected.append(stats)
            self._adapt_video(connected)

    def _adapt_video(self, connected: list[PeerStats]) -> None:
        """One stats second for the video adapter; a new profile applies from the next frame."""
        if self._adapter is None or self._video is None:
            return
        picture = self._camera_enabled and self._video.sending_picture
        profile = self._adapter.update(self._now(), connected, camera_on=picture)
        if profile is not None:
            self._video.set_profile(profile.size, profile.fps)
