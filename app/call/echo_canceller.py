"""Acoustic echo cancellation and noise suppression for the microphone (WebRTC's APM).

Two partners on one laptop play the therapist's voice on its speakers, and the microphone hears
it: without cancellation the therapist hears themself a moment later. WebRTC's audio
processing module (AEC3, as bundled by the `livekit` package) removes what the speakers played
from what the microphone hears, given the speaker signal as its reference: every block the call
plays goes to `process_render`, every microphone block goes through `process_capture`. AEC3
finds the delay between the two by itself, so the caller need not know the sound system's
latency.

The module works on 10 ms frames; blocks of any whole number of 10 ms frames are accepted here
(the call's blocks are 20 ms). When `livekit` is missing, or the rate is one the module cannot
take, audio passes through unchanged and the log says so once, at INFO.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Protocol

import numpy as np

from app.devices.base import AudioBlock

log = logging.getLogger(__name__)

# The rates WebRTC's APM processes natively (44.1 kHz is not among them).
SUPPORTED_RATES = frozenset({8_000, 16_000, 32_000, 48_000})
FRAME_S = 0.010


class AudioProcessor(Protocol):
    """The part of livekit.rtc.AudioProcessingModule used here (frames modified in place)."""

    def process_stream(self, data: Any) -> None: ...
    def process_reverse_stream(self, data: Any) -> None: ...
    def set_stream_delay_ms(self, delay_ms: int) -> None: ...


def _load_apm() -> tuple[AudioProcessor, type[Any]] | str:
    """The module and its frame type, or why it cannot run here (never raises: a call goes on
    without echo cancellation rather than not at all)."""
    try:
        from livekit.rtc import AudioFrame, AudioProcessingModule
    except ImportError:
        return "the livekit package is not installed"
    try:
        apm = AudioProcessingModule(
            echo_cancellation=True, noise_suppression=True, high_pass_filter=True
        )
        apm.set_stream_delay_ms(0)  # AEC3 estimates the real delay itself
    except Exception as exc:  # e.g. its native library is missing from a bundle
        return f"the livekit module could not start: {type(exc).__name__}"
    return apm, AudioFrame


class EchoCanceller:
    """Removes the speakers' sound from the microphone; a pass-through when it cannot.

    Both methods may be called from any thread (a lock keeps the module's calls in order).
    """

    def __init__(self, *, enabled: bool = True) -> None:
        """`enabled=False` makes a pass-through (measurements of the raw path)."""
        self._lock = threading.Lock()
        self._apm: AudioProcessor | None = None
        self._frame_type: type[Any] | None = None
        self._said_why = False
        self._render_rest: AudioBlock = np.zeros(0, np.float32)  # less than 10 ms, kept
        if not enabled:
            return
        loaded = _load_apm()
        if isinstance(loaded, str):
            self._pass_through(loaded)
            return
        self._apm, self._frame_type = loaded

    @property
    def active(self) -> bool:
        """Whether echo is being cancelled (False: audio passes unchanged)."""
        return self._apm is not None

    def _pass_through(self, why: str) -> None:
        if not self._said_why:
            self._said_why = True
            log.info("echo cancellation off (%s): microphone audio passes unchanged", why)

    def _frames(self, block: AudioBlock, samplerate: int) -> int | None:
        """How many samples make 10 ms, or None when this block cannot be processed."""
        if samplerate not in SUPPORTED_RATES:
            self._pass_through(f"{samplerate} Hz is not a rate the module processes")
            return None
        step = round(samplerate * FRAME_S)
        if block.size == 0 or block.size % step:
            return None  # a partial frame (end of a stream): too rare to matter, left as is
        return step

    def _run(self, block: AudioBlock, samplerate: int, *, render: bool) -> AudioBlock:
        apm, frame_type = self._apm, self._frame_type
        if apm is None or frame_type is None:
            return block
        step = self._frames(block, samplerate)
        if step is None:
            return block
        pcm = (np.clip(block.reshape(-1), -1.0, 1.0) * 32767).astype(np.int16)
        out = np.empty(pcm.size, np.float32)
        with self._lock:
            for start in range(0, pcm.size, step):
                frame = frame_type(pcm[start : start + step].tobytes(), samplerate, 1, step)
                if render:
                    apm.process_reverse_stream(frame)
                else:
                    apm.process_stream(frame)
                    processed = np.frombuffer(bytes(frame.data), dtype=np.int16)
                    out[start : start + step] = processed / 32767.0
        return block if render else out

    def process_render(self, block: AudioBlock, samplerate: int) -> None:
        """Tell the canceller what the speakers are about to play (mono float, -1..1). Blocks
        may be any length (a resampler's output): whole 10 ms frames go on, the rest waits."""
        if self._apm is None or samplerate not in SUPPORTED_RATES:
            self._frames(block, samplerate)  # says why once
            return
        step = round(samplerate * FRAME_S)
        joined = np.concatenate((self._render_rest, block.reshape(-1)))
        whole = joined.size - joined.size % step
        self._render_rest = joined[whole:]
        if whole:
            self._run(joined[:whole], samplerate, render=True)

    def process_capture(self, block: AudioBlock, samplerate: int) -> AudioBlock:
        """The microphone block with the speakers' echo (and steady noise) removed."""
        return self._run(block, samplerate, render=False)


@functools.cache
def echo_cancellation_available() -> bool:
    """Whether calls on this computer cancel echo (the speaker check tells the couple)."""
    return EchoCanceller().active
