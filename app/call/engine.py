"""The call engine (Qt-free): joins a room over signaling, one media link per participant.

Runs on one asyncio loop; every event goes to `listener` on that loop's thread. The engine
composes the parts of a call and owns their order of shutdown: the signaling connection
(app.call.signaling_session), the media links (app.call.peer_links), the local tracks
(app.call.local_media) and the once-a-second figures (app.call.stats_monitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.call.audio_tracks import LocalAudioTrack
from app.call.chat import Chat
from app.call.events import (
    CallError,
    CallEvent,
    CallListener,
    CallState,
    Joined,
    Left,
    LocalDeviceProblem,
    Peer,
    PeerStats,
    StateChanged,
)
from app.call.link_keeper import TICK_S, LinkKeeper
from app.call.local_media import LocalMedia
from app.call.mode_keeper import ModeKeeper
from app.call.negotiation import NEGOTIATION_DEADLINE_S
from app.call.peer import RemotePeer, disable_loopback_candidates, enable_loopback_candidates
from app.call.peer_channel import DataMessage
from app.call.peer_links import PeerLinks
from app.call.roster import Roster
from app.call.server_choice import ServerChooser
from app.call.signaling import (
    IceServer,
    Message,
    ProtocolError,
    Signaling,
    Welcome,
    parse_chat,
    parse_chat_id,
    parse_error,
    parse_from,
    parse_peer,
    parse_peer_id,
    parse_peer_left,
    parse_sdp,
    websocket_url,
)
from app.call.signaling_keeper import Failure, SignalingKeeper, websocket_signaling
from app.call.signaling_session import JoinRefused
from app.call.state import CallInput, CallStateMachine
from app.call.stats_monitor import StatsMonitor
from app.call.turn_choice import choose_turn
from app.call.video_profile import AdaptSettings
from app.call.video_tracks import LocalVideoTrack
from app.devices.base import Camera, DeviceError, Microphone, Speaker
from app.net.signaling_protocol import MAX_CHAT_TEXT_CHARS, MAX_PEERS
from app.net.tls_trust import client_tls_context
from app.net.token_bucket import TokenBucket

log = logging.getLogger(__name__)


VIDEO_CHOICES = frozenset({"auto", "audio_only", "try_video"})
MAX_CHAT_CHARS = MAX_CHAT_TEXT_CHARS


ICE_PROBE_EVERY_S = 5.0
# How long a cancelled task is waited for at shutdown before it is cancelled again.
CANCEL_AGAIN_S = 1.0
# How long leaving waits to say `leave` (a server that does not read must not hold us).
LEAVE_SEND_S = 2.0
# Media links at most: the others a room holds, and as many away (the server timed them out;
# their media may still flow). An offer that would make more comes from no honest server.
MAX_LINKS = 2 * MAX_PEERS
# Malformed server messages put up with: each is ignored (a protocol_error event), but a server
# that keeps sending them (more than 10 at once, or one every 6 s on end) ends the call.
PROTOCOL_PROBLEM_BURST = 10
PROTOCOL_PROBLEM_EVERY_S = 6.0
SERVER_BROKEN_WORDS = (
    "The session server kept sending what this version does not understand, so the call was "
    "ended. Join again; if it keeps happening, contact the clinic."
)


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
        media: LocalMedia | None = None,
        backup_url: str | None = None,
        signaling_factory: Callable[[str], Signaling] | None = None,
        audio_only_fallback: bool = True,
        ca_file: Path | None = None,
    ) -> None:
        """`video_track`/`audio_track` (e.g. PatternVideoTrack, ToneAudioTrack) replace
        `camera`/`microphone`; `media` replaces all of those with local media the caller owns
        (CallSession: it outlives this engine and is not released by it); `remote_frames=False`
        skips the BGR conversion of remote video (headless runs only count frames);
        `signaling` replaces the WebSocket (tests); `negotiation_deadline` is how long each
        peer connection may take to come up; `upload_mbps` (the equipment check's upload) picks
        the video's starting size, and `video_adaptation` replaces the thresholds that move it
        during the call (tests). `backup_url` is the clinic's backup session server (same
        secret); `signaling_factory(url)` makes each new signaling connection (reconnects; the
        default is a WebSocket to that server). With `signaling` given and no factory, a lost
        signaling connection ends the call (server_lost), as nothing could reconnect.
        `audio_only_fallback=False` keeps video on however weak the link (measurements).
        `ca_file` is a clinic's own CA certificate (PEM), trusted for wss:// besides the
        system's authorities (app.net.tls_trust; CaFileError, a ValueError, if it cannot be
        used)."""
        self._token = token
        self._listener = listener
        self._now = now
        self._allow_loopback = allow_loopback
        self._chooser = ServerChooser(server_url, backup_url)
        for url in (server_url, backup_url):
            if url:
                websocket_url(url)  # a bad address is the caller's error now, not mid-call
        tls = client_tls_context(ca_file) if ca_file is not None else None
        if signaling_factory is None and signaling is None:
            signaling_factory = functools.partial(websocket_signaling, tls=tls)
        self._signaling = SignalingKeeper(
            token,
            self._chooser,
            first=signaling or websocket_signaling(server_url, connect_timeout=10.0, tls=tls),
            make_signaling=signaling_factory,
            join_timeout=join_timeout,
            emit=self._emit,
            now=now,
        )
        self._owns_media = media is None
        self.media = media or LocalMedia(
            camera=camera,
            microphone=microphone,
            video_track=video_track,
            audio_track=audio_track,
            video_size=video_size,
            fps=fps,
            upload_mbps=upload_mbps,
            video_adaptation=video_adaptation,
            now=now,
        )
        self.media.on_camera_lost = self._camera_lost
        self._machine = CallStateMachine(self._state_changed, now=now)
        self._links = PeerLinks(
            media=self.media,
            speaker=speaker,
            send=self._send,
            emit=self._emit,
            spawn=self._spawn,
            now=now,
            negotiation_deadline=negotiation_deadline,
            remote_frames=remote_frames,
            on_connected_changed=self._update_connected,
            on_link_failed=lambda link: self._keeper.link_failed(link, self._now()),
        )
        self._keeper = LinkKeeper(
            self._links,
            my_id=lambda: self.peer_id,
            peer_info=lambda peer_id: self._roster.get(peer_id),
            peer_version=lambda peer_id: self._roster.versions.get(peer_id),
            signaling_up=lambda: self._signaling.up,
            send=self._send,
            emit=self._emit,
            spawn=self._spawn,
            on_gave_up=self._gave_up,
        )
        self._stats = StatsMonitor(
            self._links.links, self._links.current, self._emit, self._with_sent_video
        )
        self._modes = ModeKeeper(
            self._links,
            interrupted=lambda peer_id: self._keeper.interrupted(peer_id),
            camera_on=lambda: self.media.camera_enabled,
            has_audio=lambda: audio_only_fallback and self.media.audio is not None,
            emit=self._emit,
            now=now,
        )
        self._links.on_new_link = self._modes.link_made
        # Audio only first: the video ladder then hears only from peers that get video.
        self._stats.consumers.append(self._modes.consume)
        self._stats.consumers.append(
            lambda connected: self.media.adapt(self._modes.on_video(connected))
        )
        self._chat = Chat(self._send, self._emit, now, direct=self._send_direct)
        self._links.on_data = self._data_arrived
        self._roster = Roster(
            emit=self._emit,
            spawn=self._spawn,
            now=now,
            has_link=lambda peer_id: self._links.get(peer_id) is not None,
            offer_to=self._links.offer_to,
            let_go=self._let_go,
            interrupted=lambda peer_id: self._keeper.interrupted(peer_id),
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._welcome: Welcome | None = None
        self._fatal: Failure | None = None  # a fatal server error ends the call
        self._closing = False
        self._shutdown_done: asyncio.Future[None] | None = None
        self._holds_loopback = False
        self._offered_ice: tuple[IceServer, ...] = ()
        self._ice_probe: asyncio.Future[tuple[IceServer, ...]] | None = None
        self._ice_probed_at = 0.0
        self._problems = TokenBucket(
            1.0 / PROTOCOL_PROBLEM_EVERY_S, PROTOCOL_PROBLEM_BURST, now=now
        )

    # --- public API -----------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._machine.state

    @property
    def peers(self) -> Mapping[str, Peer]:
        """The room's other participants (the roster), by peer_id."""
        return MappingProxyType(self._roster.peers)

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
        self._links.join_started = self._now()
        self._machine.handle(CallInput.JOIN)
        if self._allow_loopback:
            enable_loopback_candidates()
            self._holds_loopback = True
        try:
            welcome = await self._signaling.join()
        except JoinRefused as exc:
            await self._fail_join(exc.code, exc.message)
        self._welcome = welcome
        self._offered_ice = welcome.ice_servers
        await self._refresh_ice()
        self._links.refresh_ice = self._refresh_ice
        self.media.start(peers=len(welcome.peers))
        self._emit(Joined(self._now(), welcome.peer_id, welcome.room, welcome.peers))
        self._machine.handle(CallInput.WELCOMED)
        self._spawn(self._run_signaling())
        self._spawn(self._stats.run())
        self._spawn(self._keep_links())
        self._roster.welcomed(welcome)

    async def leave(self) -> None:
        """Leave the room cleanly (idempotent): tells the server, closes every connection.

        After a failure it only waits for the shutdown the failure started: one cut short by a
        cancellation (leave() cancelling a join that was failing) still finishes here."""
        if self._machine.finished:
            await self._shutdown()
            return
        if not self._closing:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._send({"type": "leave"}), LEAVE_SEND_S)
        await self._shutdown()
        if not self._machine.finished:  # a failure may have come while we waited
            self._machine.handle(CallInput.LEAVE)
            self._emit(Left(self._now(), "left"))

    def set_muted(self, muted: bool) -> None:
        self.media.set_muted(muted)

    def set_camera_enabled(self, enabled: bool) -> None:
        self.media.set_camera_enabled(enabled)

    def set_video_choice(self, choice: str) -> None:
        """The person's word on video when the link is weak: "try_video" (Try video again),
        "audio_only" (Stay on audio) or "auto" (let the link decide)."""
        if choice not in VIDEO_CHOICES:
            raise ValueError(f"unknown video choice {choice!r}")
        self._modes.choose(choice)

    @property
    def _video_choice(self) -> str:
        """The person's last word on video (kept by the mode keeper, which acts on it)."""
        return self._modes.choice

    async def send_chat(self, text: str) -> str:
        """Send a chat line to everyone in the call; returns its id (ChatStatus events follow).
        Raises ValueError for an empty or too long line."""
        text = text.strip()
        if not text or len(text) > MAX_CHAT_CHARS:
            raise ValueError(f"a chat line has 1 to {MAX_CHAT_CHARS} characters")
        return await self._chat.say(text, list(self._roster.peers))

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

    async def _send(self, message: Message) -> None:
        await self._signaling.send(message)

    def _send_direct(self, peer_id: str, message: DataMessage) -> bool:
        link = self._links.get(peer_id)
        return link is not None and link.send_data(message)

    def _data_arrived(self, peer_id: str, message: DataMessage) -> None:
        """Chat by a peer's data channel: handled as the same message by signaling is."""
        if message["t"] == "chat":
            self._spawn(self._chat.received(peer_id, message["id"], message["text"]))
        elif message["t"] == "chat_ack":
            self._chat.acknowledged(peer_id, message["id"])

    def _camera_lost(self, exc: DeviceError) -> None:
        if not self._closing:
            self._emit(LocalDeviceProblem(self._now(), "camera", exc.problem))

    def _with_sent_video(self, link: RemotePeer, stats: PeerStats) -> PeerStats:
        size = self.media.sent_size
        return dataclasses.replace(
            stats,
            mode=self._modes.mode(link.peer_id),
            sent_width=None if size is None else size[0],
            sent_height=None if size is None else size[1],
            sent_fps=self.media.sent_fps,
            estimate_out_kbps=None if link.tuning is None else link.tuning.video_estimate_kbps(),
        )

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
            self._links.closing = True
            caller = asyncio.current_task()
            self._shutdown_done = asyncio.ensure_future(self._close_everything(caller))
        await asyncio.shield(self._shutdown_done)

    async def _close_everything(self, caller: asyncio.Task[Any] | None) -> None:
        # The task that asked (e.g. the receive loop failing the call) goes on after this.
        cancelled = [task for task in self._tasks if task is not caller]
        for task in cancelled:
            task.cancel()
        await self._links.close_all()
        await self._signaling.stop()
        if self._owns_media:
            await self.media.release()
        pending = set(cancelled)
        while pending:
            # A cancellation can be lost inside a library (one racing aiohttp's receive
            # timeout becomes a TimeoutError): ask again rather than wait forever.
            _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_S)
            for task in pending:
                task.cancel()
        if self._holds_loopback:
            self._holds_loopback = False
            disable_loopback_candidates()

    def _update_connected(self) -> None:
        if self._machine.finished:
            return
        connected = self._links.any_connected
        self._machine.handle(CallInput.PEER_CONNECTED if connected else CallInput.NO_PEER_CONNECTED)

    async def _run_signaling(self) -> None:
        self._fatal = None
        failure = await self._signaling.run(
            self._dispatch, self._protocol_problem, lambda: self._fatal, self._rewelcomed
        )
        if failure is not None:
            await self._fail_call(*failure)

    async def _rewelcomed(self, welcome: Welcome) -> None:
        self._welcome = welcome
        self._offered_ice = welcome.ice_servers
        self._ice_probe = None  # new TURN credentials: choose among these
        await self._refresh_ice()
        self._roster.rewelcomed(welcome)
        self._keeper.signaling_back(self._now())
        await self._chat.tick()

    async def _refresh_ice(self) -> None:
        """The TURN address that answers now, for the next connection. Probed at most every
        few seconds, and one probe at a time: rebuilds of several links (or an offer and a
        restart that cross) share it, and none builds on the choice from before it."""
        now = self._now()
        probe = self._ice_probe
        if probe is None or (probe.done() and now - self._ice_probed_at >= ICE_PROBE_EVERY_S):
            self._ice_probed_at = now
            probe = self._ice_probe = asyncio.ensure_future(choose_turn(self._offered_ice))
        self._links.ice_servers = await asyncio.shield(probe)

    async def _keep_links(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(TICK_S)
            now = self._now()
            self._keeper.tick(now)
            self._modes.tick(now)
            await self._roster.tick(now)
            ticks += 1
            if ticks % round(1 / TICK_S) == 0:  # data channels may carry it without signaling
                await self._chat.tick()

    def _gave_up(self, peer_id: str) -> None:
        self._spawn(self._roster.gone(peer_id, "failed"))

    async def _let_go(self, peer_id: str) -> bool:
        """Close and forget everything about `peer_id`; whether a PeerLeft is still to be
        told (False when the links already told it: media failed before the server spoke)."""
        await self._links.drop(peer_id)
        self._links.forget(peer_id)
        self._keeper.forget(peer_id)
        self._modes.forget(peer_id)
        self._chat.participant_gone(peer_id)
        if peer_id in self._links.gone:
            self._links.gone.discard(peer_id)
            return False
        return True

    def _protocol_problem(self, exc: ProtocolError) -> None:
        if not self._problems.take():
            log.warning("the session server keeps breaking the protocol: ending the call")
            self._spawn(self._fail_call("protocol_error", SERVER_BROKEN_WORDS))
            return
        log.warning("ignored a malformed server message: %s", exc)
        self._emit(
            CallError(
                self._now(),
                "protocol_error",
                "The session server sent something this version does not "
                "understand; the call goes on.",
            )
        )

    async def _dispatch(self, message: Message) -> bool:
        """Act on one server message; False stops reading (a fatal error ends the call)."""
        if self._closing:
            return False
        kind = message["type"]
        if kind == "offer":
            peer_id, sdp = parse_sdp(message)
            if self._links.get(peer_id) is None and len(self._links.links()) >= MAX_LINKS:
                raise ProtocolError(f"an offer for link {MAX_LINKS + 1}: a room is not that big")
            await self._links.answer(self._roster.info(peer_id), sdp)
        elif kind == "answer":
            await self._links.accept_answer(*parse_sdp(message))
        elif kind == "peer_joined":
            raw = message.get("peer")
            peer = parse_peer(raw)
            if peer.peer_id not in self._roster.peers and self._roster.present >= MAX_PEERS:
                raise ProtocolError(f"a room holds at most {MAX_PEERS} others")
            if await self._roster.joined(peer, raw if isinstance(raw, dict) else {}):
                self._chooser.peer_joined()
        elif kind == "peer_left":
            peer_id, reason = parse_peer_left(message)
            await self._roster.left(peer_id, reason)
            look_on = self._chooser.peer_left(reason, self._roster.present)
            if look_on is not None:  # the reading ends; the reconnect looks there
                await self._signaling.close()
        elif kind in ("peer_reconnecting", "peer_resumed"):
            peer_id = parse_peer_id(message)
            self._keeper.peer_reconnecting(peer_id, kind == "peer_reconnecting", self._now())
        elif kind == "chat":
            await self._chat.received(parse_from(message), *parse_chat(message))
        elif kind == "chat_ack":
            self._chat.acknowledged(parse_from(message), parse_chat_id(message))
        elif kind == "restart":
            self._keeper.restart_requested(parse_from(message), self._now())
        elif kind == "error":
            error = parse_error(message)
            if error.fatal:
                words = error.message or "The session server ended the call."
                self._fatal = Failure(error.code, words)
                return False
            log.warning("session server reported %s", error.code)
        elif kind != "pong":
            log.debug("ignored message of unknown type")
        return True
