"""Local audio tracks (a microphone, a test tone) and the sink that plays remote audio.

A muted track sends silence. Device calls block, so they run on a worker thread, never on the
loop.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
import queue
import threading
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.call.device_worker import DeviceWorker
from app.call.echo_canceller import EchoCanceller
from app.call.pacing import Pacer
from app.devices.base import (
    AudioBlock,
    AudioStream,
    DeviceError,
    Microphone,
    Speaker,
    SpeakerStream,
    StreamingSpeaker,
)

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020


class LocalAudioTrack(MediaStreamTrack):
    """Paced 20 ms mono s16 frames; `muted = True` sends silence instead."""

    kind = "audio"

    def __init__(self, samplerate: int = AUDIO_RATE) -> None:
        super().__init__()
        self.samplerate = samplerate
        self.samples = int(samplerate * AUDIO_PTIME)
        self.muted = False
        self._pacer = Pacer(1 / AUDIO_PTIME)
        self._time_base = fractions.Fraction(1, samplerate)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.wait()
        block = await self.next_block(index)
        if self.muted:
            block = np.zeros(self.samples, np.float32)
        pcm = (np.clip(block, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.samplerate
        frame.pts = index * self.samples
        frame.time_base = self._time_base
        return frame

    async def next_block(self, index: int) -> AudioBlock:
        raise NotImplementedError


class ToneAudioTrack(LocalAudioTrack):
    """A continuous sine (440 Hz by default): a microphone for tests and headless runs."""

    def __init__(self, frequency: float = 440.0, level: float = 0.3) -> None:
        super().__init__(AUDIO_RATE)
        self._step = 2 * np.pi * frequency / self.samplerate
        self._level = level

    async def next_block(self, index: int) -> AudioBlock:
        n = np.arange(index * self.samples, (index + 1) * self.samples, dtype=np.float64)
        return (self._level * np.sin(self._step * n)).astype(np.float32)


class MicrophoneAudioTrack(LocalAudioTrack):
    """Blocks from a `Microphone` stream, buffered by its audio thread, sent 20 ms at a time.

    Opening and closing the stream run on one worker thread, in order: a stop() that comes
    while the stream is still opening queues its close behind the open, so the stream is closed
    as soon as it exists, and the loop never waits on the sound system.

    Each block goes through `echo` (the call's EchoCanceller, which hears what the speakers
    play) before it is sent, so the far end does not hear itself come back.
    """

    def __init__(self, microphone: Microphone, echo: EchoCanceller | None = None) -> None:
        super().__init__(microphone.samplerate)
        self._microphone = microphone
        self._echo = echo
        self._buffer: collections.deque[AudioBlock] = collections.deque()
        self._buffered = 0
        self._lock = threading.Lock()
        self._stream: AudioStream | None = None  # only touched on the worker thread
        self._starting = False
        self._worker = DeviceWorker("microphone")

    def _on_block(self, block: AudioBlock) -> None:  # audio thread: only buffers
        with self._lock:
            self._buffer.append(block.reshape(-1))
            self._buffered += block.size
            while self._buffered > self.samplerate:  # keep at most one second
                self._buffered -= self._buffer.popleft().size

    def _open(self) -> None:  # worker thread
        if self._worker.released:  # stop() came while this job waited: never open the device
            return
        self._stream = self._microphone.start(self._on_block, self.samples)

    def _close(self) -> None:  # worker thread, always after any _open
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()

    async def _start(self) -> None:
        self._starting = True
        if self._worker.released:
            raise MediaStreamError
        try:
            await self._worker.run(self._open)
        except DeviceError as exc:
            log.warning("microphone failed to start (%s); sending silence", exc.problem.value)
        if self._worker.released:  # stopped while opening: the queued close ends the stream
            raise MediaStreamError

    async def next_block(self, index: int) -> AudioBlock:
        if not self._starting:
            await self._start()
        out = np.zeros(self.samples, np.float32)
        filled = 0
        with self._lock:
            while filled < self.samples and self._buffer:
                block = self._buffer.popleft()
                take = min(block.size, self.samples - filled)
                out[filled : filled + take] = block[:take]
                filled += take
                self._buffered -= take
                if take < block.size:
                    self._buffer.appendleft(block[take:])
        if self._echo is not None:
            return self._echo.process_capture(out, self.samplerate)
        return out

    def stop(self) -> None:
        """End the track at once; the stream closes on the worker thread (see release())."""
        super().stop()
        self._worker.release(self._close)

    async def release(self) -> None:
        """Stop, and return once the microphone stream is closed (leave() lets the device go)."""
        self.stop()
        await self._worker.closed()


class RemoteAudioSink:
    """Drains a remote audio track; plays it on `speaker` from a worker thread (None: discard).

    Draining matters even without a speaker: aiortc queues decoded frames without limit.
    Every block handed to the speaker also goes to `echo` as the echo canceller's reference.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        speaker: Speaker | None,
        echo: EchoCanceller | None = None,
    ) -> None:
        self._track = track
        self._speaker = speaker
        self._echo = echo
        self._blocks: queue.Queue[AudioBlock | None] = queue.Queue(maxsize=25)
        self._thread: threading.Thread | None = None
        self.frames = 0

    async def run(self) -> None:
        if isinstance(self._speaker, StreamingSpeaker):
            await self._run_streaming(self._speaker)
            return
        if self._speaker is None:
            await self._pump(None, 0)
            return
        self._thread = threading.Thread(target=self._play, name="tandem-speaker", daemon=True)
        self._thread.start()
        try:
            await self._pump(self._queue_block, self._speaker.samplerate, feed_echo=True)
        finally:
            self.stop()

    def _queue_block(self, block: AudioBlock) -> None:
        try:
            self._blocks.put_nowait(block)
        except queue.Full:  # the speaker fell behind: drop rather than lag
            pass

    def _played(self, block: AudioBlock) -> None:  # audio thread: the reference, as played
        if self._echo is not None and self._speaker is not None:
            self._echo.process_render(block, self._speaker.samplerate, source=self)

    async def _run_streaming(self, speaker: StreamingSpeaker) -> None:
        """One continuous output stream: blocks play back to back, without a gap each. The
        echo canceller hears each block when the device takes it (its timing is the room's)."""
        stream: SpeakerStream | None = None
        try:
            stream = await asyncio.to_thread(speaker.start_stream, self._played)
        except DeviceError as exc:
            log.warning("speaker failed (%s); remote audio is discarded", exc.problem.value)
        try:
            await self._pump(None if stream is None else stream.write, speaker.samplerate)
        finally:
            if stream is not None:
                await asyncio.to_thread(stream.stop)

    async def _pump(
        self,
        on_block: Callable[[AudioBlock], None] | None,
        samplerate: int,
        *,
        feed_echo: bool = False,
    ) -> None:
        """Receive until the track ends; mono float blocks at `samplerate` go to `on_block`
        (None: count and discard, which still keeps aiortc's queue from growing), and to the
        echo canceller too when `feed_echo` (a speaker without a stream of its own)."""
        resampler = None
        if on_block is not None:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=samplerate)
        try:
            while True:
                frame = await self._track.recv()
                self.frames += 1
                if resampler is None or on_block is None:
                    continue
                assert isinstance(frame, av.AudioFrame)
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1).astype(np.float32)
                    if feed_echo and self._echo is not None:
                        self._echo.process_render(block, samplerate, source=self)
                    on_block(block)
        except MediaStreamError:
            pass
        finally:
            if self._echo is not None:
                self._echo.end_render(self)

    def _play(self) -> None:
        assert self._speaker is not None
        while (block := self._blocks.get()) is not None:
            parts = [block]
            while not self._blocks.empty() and len(parts) < 5:
                extra = self._blocks.get_nowait()
                if extra is None:
                    self._blocks.put(None)
                    break
                parts.append(extra)
            try:
                self._speaker.play(np.concatenate(parts))
            except DeviceError as exc:
                log.warning("speaker failed (%s); remote audio is discarded", exc.problem.value)
                return

    def stop(self) -> None:
        if self._thread is not None:
            try:
                self._blocks.put_nowait(None)
            except queue.Full:
                self._blocks.get_nowait()
                self._blocks.put_nowait(None)
            self._thread = None
