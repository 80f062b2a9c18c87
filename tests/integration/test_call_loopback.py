"""Practice mode's shape: the embedded server on 127.0.0.1 and two engines in one process.

Needs the opt-in loopback ICE patch (aioice never offers 127.0.0.1 by itself). Also checks that
remote video arrives as BGR numpy frames of the sent size, that remote audio reaches a speaker
at its own sample rate, and that the patch is undone after. The negotiation deadline is tested
against a silent participant: a bare signaling client that takes part in the room but never
completes WebRTC.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice.ice
import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from app.call.audio_tracks import ToneAudioTrack
from app.call.engine import CallEngine
from app.call.events import (
    CallError,
    CallEvent,
    CallState,
    FirstFrame,
    Left,
    PeerConnected,
    PeerLeft,
    RemoteFrame,
    StateChanged,
)
from app.call.negotiation import NEGOTIATION_DEADLINE_S
from app.call.peer import rtc_configuration
from app.call.signaling import Message, WebSocketSignaling, join_message, websocket_url
from app.call.video_tracks import PatternVideoTrack
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token

pytestmark = pytest.mark.slow


class RecordingSpeaker:
    """A Speaker that keeps what it is asked to play (called on the sink's worker thread)."""

    samplerate = 16_000

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.blocks: list[np.ndarray] = []
        self.enough = asyncio.Event()
        self._loop = loop

    def play(self, samples: np.ndarray) -> None:
        self.blocks.append(samples.copy())
        if sum(b.size for b in self.blocks) >= self.samplerate // 2:
            self._loop.call_soon_threadsafe(self.enough.set)


class Inbox:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.frames: list[RemoteFrame] = []
        self.got_frame = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, RemoteFrame):
            if not self.frames:
                self.frames.append(event)
            self.got_frame.set()
        else:
            self.events.append(event)


async def test_two_engines_on_loopback(server: EmbeddedServer) -> None:
    original = aioice.ice.get_host_addresses
    secret = server.config.secret
    inboxes = [Inbox(), Inbox()]
    speaker = RecordingSpeaker(asyncio.get_running_loop())
    engines = [
        CallEngine(
            server.url,
            mint_token(secret, "practice", role, name, 60),
            camera=None,
            microphone=None,
            listener=inbox,
            allow_loopback=True,
            video_track=PatternVideoTrack((160, 90), 10),
            audio_track=ToneAudioTrack() if role == "therapist" else None,
            speaker=speaker if role == "partner" else None,
        )
        for inbox, (role, name) in zip(
            inboxes, [("partner", "Practice"), ("therapist", "Simulated therapist")], strict=True
        )
    ]
    try:
        await engines[0].join()
        await engines[1].join()
        await asyncio.wait_for(
            asyncio.gather(*(inbox.got_frame.wait() for inbox in inboxes)), timeout=30
        )
        for inbox, other in zip(inboxes, reversed(engines), strict=True):
            frame = inbox.frames[0]
            assert frame.peer_id == other.peer_id
            assert frame.frame.shape == (90, 160, 3) and frame.frame.dtype == np.uint8
            assert any(isinstance(e, FirstFrame) for e in inbox.events)
        assert all(engine.state is CallState.CONNECTED for engine in engines)
        await asyncio.wait_for(speaker.enough.wait(), timeout=30)
        played = np.concatenate(speaker.blocks)
        assert played.dtype == np.float32
        tail = played[-speaker.samplerate // 4 :]
        assert 0.1 < float(np.sqrt(np.mean(tail**2))) < 0.4  # the 440 Hz tone at level 0.3
    finally:
        for engine in engines:
            await engine.leave()
    assert all(engine.state is CallState.LEFT for engine in engines)
    assert aioice.ice.get_host_addresses is original


# --- the negotiation deadline -------------------------------------------------------------------

HANG_GUARD_S = 30.0  # turns a hang into a failure; nothing waits for it to pass
SHORT_DEADLINE_S = 1.0


class Recorder:
    """Every call event, and a way to await the first one that matches."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        if not isinstance(event, RemoteFrame):
            self.events.append(event)
            self._changed.set()

    async def first(self, match: Callable[[CallEvent], bool]) -> CallEvent:
        async def wait() -> CallEvent:
            while True:
                found = next((e for e in self.events if match(e)), None)
                if found is not None:
                    return found
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), HANG_GUARD_S)


class SilentParticipant:
    """A participant on the real server that never completes WebRTC: it keeps its place
    (pings), keeps every message, and answers nothing unless a test sends for it."""

    def __init__(self, server: EmbeddedServer, role: str) -> None:
        self.signaling = WebSocketSignaling(websocket_url(server.url))
        self._token = mint_token(server.config.secret, "practice", role, "Silent", 60)
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.peer_id = ""

    async def join(self) -> None:
        await self.signaling.connect()
        await self.signaling.send(join_message(self._token))
        welcome = await asyncio.wait_for(self.signaling.receive(), HANG_GUARD_S)
        assert welcome is not None and welcome["type"] == "welcome", welcome
        self.peer_id = welcome["peer_id"]
        self._tasks = [
            asyncio.create_task(self._read()),
            asyncio.create_task(self._ping(float(welcome["heartbeat_s"]))),
        ]

    async def _read(self) -> None:
        while (message := await self.signaling.receive()) is not None:
            self.messages.append(message)
            self._arrived.set()

    async def _ping(self, period: float) -> None:
        while True:  # the server's heartbeat: without it the silent one would be dropped
            await self.signaling.send({"type": "ping"})
            await asyncio.sleep(period / 2)

    async def first(self, kind: str) -> Message:
        async def wait() -> Message:
            while True:
                found = next((m for m in self.messages if m["type"] == kind), None)
                if found is not None:
                    return found
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), HANG_GUARD_S)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.signaling.close()


@pytest.fixture
async def silent(server: EmbeddedServer) -> AsyncIterator[SilentParticipant]:
    participant = SilentParticipant(server, "oncall")
    await participant.join()
    try:
        yield participant
    finally:
        await participant.close()


def engine_for(
    server: EmbeddedServer,
    role: str,
    recorder: Recorder,
    negotiation_deadline: float = NEGOTIATION_DEADLINE_S,
    **options: Any,
) -> CallEngine:
    """An engine sending a small test pattern (and whatever `options` add: a tone, a speaker)."""
    return CallEngine(
        server.url,
        mint_token(server.config.secret, "practice", role, role.title(), 60),
        camera=None,
        microphone=None,
        listener=recorder,
        allow_loopback=True,
        video_track=PatternVideoTrack((160, 90), 10),
        remote_frames=False,
        negotiation_deadline=negotiation_deadline,
        **options,
    )


def is_unreachable(peer_id: str) -> Callable[[CallEvent], bool]:
    return lambda e: (
        isinstance(e, CallError) and e.code == "peer_unreachable" and (e.peer_id == peer_id)
    )


def call_ended(events: list[CallEvent]) -> bool:
    return any(
        isinstance(e, Left)
        or (isinstance(e, StateChanged) and e.new in (CallState.FAILED, CallState.LEFT))
        or (isinstance(e, CallError) and e.code != "peer_unreachable")
        for e in events
    )


async def test_a_peer_that_never_answers_is_unreachable_and_the_call_goes_on(
    server: EmbeddedServer, silent: SilentParticipant
) -> None:
    partner, therapist = Recorder(), Recorder()
    engine = engine_for(server, "partner", partner, negotiation_deadline=SHORT_DEADLINE_S)
    later = engine_for(server, "therapist", therapist)
    try:
        await engine.join()
        offer = await silent.first("offer")
        assert offer["from"] == engine.peer_id  # the offer really went out over the server

        error = await partner.first(is_unreachable(silent.peer_id))
        assert isinstance(error, CallError) and error.message
        left = await partner.first(lambda e: isinstance(e, PeerLeft))
        assert left == PeerLeft(left.at, silent.peer_id, "failed")
        assert partner.events.index(error) < partner.events.index(left)
        assert engine.state is CallState.WAITING
        assert silent.peer_id in engine.peers  # still in the room, only its connection closed
        assert not call_ended(partner.events)

        # The call is still up: someone who joins now connects to the engine with media.
        await later.join()
        connected = await partner.first(lambda e: isinstance(e, PeerConnected))
        assert connected == PeerConnected(connected.at, later.peer_id or "")
        change = await partner.first(
            lambda e: isinstance(e, StateChanged) and e.new is CallState.CONNECTED
        )
        assert isinstance(change, StateChanged) and change.old is CallState.WAITING
        assert not call_ended(partner.events)
        assert not [m for m in silent.messages if m["type"] == "peer_left"]
    finally:
        await later.leave()
        await engine.leave()
    # The therapist's own connection to the silent one was still within its 15 s deadline.
    assert not any(is_unreachable(silent.peer_id)(e) for e in therapist.events)


async def test_an_offer_whose_sender_vanishes_is_unreachable_on_the_answering_side(
    server: EmbeddedServer,
) -> None:
    partner = Recorder()
    engine = engine_for(server, "partner", partner, negotiation_deadline=SHORT_DEADLINE_S)
    silent = SilentParticipant(server, "oncall")
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        await engine.join()
        await silent.join()
        # A real offer with real candidates, from a connection that is then closed: the engine
        # answers and its checks go nowhere (ICE finds no path).
        for kind in ("audio", "video"):  # as the engine offers: an m-line for each kind
            pc.addTransceiver(kind, direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        await silent.signaling.send(
            {"type": "offer", "to": engine.peer_id, "sdp": pc.localDescription.sdp}
        )
        answer = await silent.first("answer")
        assert answer["from"] == engine.peer_id

        await partner.first(is_unreachable(silent.peer_id))
        left = await partner.first(lambda e: isinstance(e, PeerLeft))
        assert left == PeerLeft(left.at, silent.peer_id, "failed")
        assert engine.state is CallState.WAITING
        assert not call_ended(partner.events)
    finally:
        await silent.close()
        await engine.leave()


# --- offers with one kind of media ----------------------------------------------------------------


def media_sections(sdp: str) -> list[tuple[str, str]]:
    """(kind, direction) for each m-line of `sdp`, in order."""
    sections: list[tuple[str, str]] = []
    for section in sdp.split("\r\nm=")[1:]:
        lines = section.split("\r\n")
        directions = {"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"}
        direction = next(line[2:] for line in lines if line in directions)
        sections.append((lines[0].split()[0], direction))
    return sections


class RawPeer:
    """A bare aiortc connection offering one kind of media, as a browser without a microphone
    (or a client that sends audio only) would; it takes part in the room as `silent`."""

    def __init__(self, silent: SilentParticipant, track: MediaStreamTrack) -> None:
        self.silent = silent
        self.pc = RTCPeerConnection(rtc_configuration([]))  # after an engine enabled loopback
        self.pc.addTrack(track)
        self.tracks: list[MediaStreamTrack] = []
        self.connected = asyncio.Event()
        self.pc.on("track", self.tracks.append)

        @self.pc.on("connectionstatechange")
        def changed() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

    async def offer_to(self, peer_id: str) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.silent.signaling.send(
            {"type": "offer", "to": peer_id, "sdp": self.pc.localDescription.sdp}
        )
        answer = await self.silent.first("answer")
        assert answer["from"] == peer_id
        sdp = str(answer["sdp"])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await asyncio.wait_for(self.connected.wait(), HANG_GUARD_S)
        return sdp


@pytest.mark.parametrize("with_audio", [False, True], ids=["no-microphone", "microphone"])
async def test_a_video_only_offer_is_answered_with_video_only(
    server: EmbeddedServer, with_audio: bool
) -> None:
    recorder = Recorder()
    engine = engine_for(
        server, "partner", recorder, audio_track=ToneAudioTrack() if with_audio else None
    )
    silent = SilentParticipant(server, "therapist")
    try:
        await engine.join()
        await silent.join()
        raw = RawPeer(silent, PatternVideoTrack((160, 90), 10))
        try:
            answer = await raw.offer_to(engine.peer_id or "")
            assert media_sections(answer) == [("video", "sendrecv")]
            first = await recorder.first(lambda e: isinstance(e, FirstFrame))
            assert isinstance(first, FirstFrame) and first.peer_id == silent.peer_id
            assert engine.state is CallState.CONNECTED
            # And the engine's own video reaches the browser-like side.
            assert [t.kind for t in raw.tracks] == ["video"]
            frame = await asyncio.wait_for(raw.tracks[0].recv(), HANG_GUARD_S)
            assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (160, 90)
            assert not any(isinstance(e, CallError) for e in recorder.events)
        finally:
            await raw.pc.close()
    finally:
        await silent.close()
        await engine.leave()


async def test_an_audio_only_offer_is_answered_receive_only_when_we_have_no_microphone(
    server: EmbeddedServer,
) -> None:
    recorder = Recorder()
    speaker = RecordingSpeaker(asyncio.get_running_loop())
    engine = engine_for(server, "partner", recorder, speaker=speaker)
    silent = SilentParticipant(server, "therapist")
    try:
        await engine.join()
        await silent.join()
        raw = RawPeer(silent, ToneAudioTrack())
        try:
            answer = await raw.offer_to(engine.peer_id or "")
            # Our video is not offered for: no video m-line, and nothing to send for audio.
            assert media_sections(answer) == [("audio", "recvonly")]
            connected = await recorder.first(lambda e: isinstance(e, PeerConnected))
            assert connected == PeerConnected(connected.at, silent.peer_id)
            await asyncio.wait_for(speaker.enough.wait(), HANG_GUARD_S)
            tail = np.concatenate(speaker.blocks)[-speaker.samplerate // 4 :]
            assert 0.1 < float(np.sqrt(np.mean(tail**2))) < 0.4  # the tone, not silence
            assert not any(isinstance(e, CallError) for e in recorder.events)
        finally:
            await raw.pc.close()
    finally:
        await silent.close()
        await engine.leave()
