"""MicrophoneAudioTrack against a fake microphone: the stream always ends closed, off the loop.

The fake's start() and its stream's stop() wait on gates the test opens, so "stop while the
stream is opening" and "the loop does not wait for the close" are arranged, not raced.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from app.call.audio_tracks import MicrophoneAudioTrack
from app.devices.base import AudioBlock, AudioStream, DeviceProblem
from app.devices.fakes import FakeMicrophone

HANG_GUARD_S = 10.0  # turns a hang into a failure; nothing waits for it to pass


class WatchedStream:
    """A fake microphone's stream that says whether, and on which thread, it was closed."""

    def __init__(self, inner: AudioStream, gate: threading.Event) -> None:
        self._inner = inner
        self._gate = gate
        self.closed = False
        self.closed_on: threading.Thread | None = None

    def stop(self) -> None:
        self.closed_on = threading.current_thread()
        assert self._gate.wait(HANG_GUARD_S)
        self._inner.stop()
        self.closed = True


class GatedMicrophone(FakeMicrophone):
    """A FakeMicrophone whose start() waits for `open_gate`, and whose streams are watched."""

    def __init__(self, level_dbfs: float = -20.0, fail: DeviceProblem | None = None) -> None:
        super().__init__(level_dbfs=level_dbfs, fail=fail, realtime=False)
        self.open_gate = threading.Event()
        self.close_gate = threading.Event()
        self.opening = threading.Event()
        self.streams: list[WatchedStream] = []

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        self.opening.set()
        assert self.open_gate.wait(HANG_GUARD_S)
        stream = WatchedStream(super().start(on_block, blocksize), self.close_gate)
        self.streams.append(stream)
        return stream


async def wait_until_opening(microphone: GatedMicrophone) -> None:
    assert await asyncio.to_thread(microphone.opening.wait, HANG_GUARD_S)


async def test_a_running_stream_is_closed_off_the_loop_without_blocking_it() -> None:
    microphone = GatedMicrophone()
    microphone.open_gate.set()
    track = MicrophoneAudioTrack(microphone)
    frame = await asyncio.wait_for(track.recv(), HANG_GUARD_S)
    assert frame.samples == 960
    (stream,) = microphone.streams

    track.stop()  # the close is stuck on its gate, yet stop() has returned on the loop
    assert track.readyState == "ended" and not stream.closed
    microphone.close_gate.set()
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    assert stream.closed
    assert stream.closed_on is not None and stream.closed_on is not threading.current_thread()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_stop_while_the_stream_opens_closes_it_as_soon_as_it_exists() -> None:
    microphone = GatedMicrophone()
    microphone.close_gate.set()
    track = MicrophoneAudioTrack(microphone)
    receiving = asyncio.ensure_future(track.recv())
    await wait_until_opening(microphone)

    track.stop()  # start() is still inside the device
    assert microphone.streams == []
    microphone.open_gate.set()
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    (stream,) = microphone.streams
    assert stream.closed
    with pytest.raises(MediaStreamError):  # the recv that opened it gets no frame
        await asyncio.wait_for(receiving, HANG_GUARD_S)


async def test_stop_before_the_first_frame_never_opens_the_device() -> None:
    microphone = GatedMicrophone()
    microphone.open_gate.set()
    track = MicrophoneAudioTrack(microphone)
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
    with pytest.raises(MediaStreamError):  # a recv already past its own check stops here
        await track.next_block(0)
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    assert microphone.streams == [] and not microphone.opening.is_set()


async def test_release_twice_and_after_stop_is_harmless() -> None:
    microphone = GatedMicrophone()
    microphone.open_gate.set()
    microphone.close_gate.set()
    track = MicrophoneAudioTrack(microphone)
    await asyncio.wait_for(track.recv(), HANG_GUARD_S)
    track.stop()
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    (stream,) = microphone.streams
    assert stream.closed


async def test_the_tone_arrives_in_the_frames() -> None:
    microphone = GatedMicrophone(level_dbfs=-6.0)
    microphone.open_gate.set()
    microphone.close_gate.set()
    track = MicrophoneAudioTrack(microphone)
    try:
        loudest = 0.0
        for _ in range(200):  # the fake's thread fills the buffer; stop once sound arrived
            frame = await asyncio.wait_for(track.recv(), HANG_GUARD_S)
            loudest = max(loudest, float(np.abs(frame.to_ndarray()).max()) / 32767)
            if loudest > 0.5:
                break
        assert loudest == pytest.approx(10 ** (-6 / 20) * np.sqrt(2), rel=0.05)
    finally:
        await track.release()


@pytest.mark.allow_log_warnings("app.call.audio_tracks")
async def test_a_microphone_that_fails_to_start_sends_silence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    microphone = GatedMicrophone(fail=DeviceProblem.BUSY)
    microphone.open_gate.set()
    track = MicrophoneAudioTrack(microphone)
    frame = await asyncio.wait_for(track.recv(), HANG_GUARD_S)
    assert not frame.to_ndarray().any()
    assert "microphone failed to start (busy)" in caplog.text
    await asyncio.wait_for(track.release(), HANG_GUARD_S)
    assert microphone.streams == []
