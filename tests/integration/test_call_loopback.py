"""Practice mode's shape: the embedded server on 127.0.0.1 and two engines in one process.

Needs the opt-in loopback ICE patch (aioice never offers 127.0.0.1 by itself). Also checks that
remote video arrives as BGR numpy frames of the sent size, that remote audio reaches a speaker
at its own sample rate, and that the patch is undone after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aioice.ice
import numpy as np
import pytest

from app.call.engine import CallEngine
from app.call.events import CallEvent, CallState, FirstFrame, RemoteFrame
from app.call.media import PatternVideoTrack, ToneAudioTrack
from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(ServerConfig.for_practice())
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


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
