"""Acoustic echo cancellation and noise suppression for the microphone (WebRTC's APM).

Two partners on one laptop play the therapist's voice on its speakers, and the microphone hears
it: without cancellation the therapist hears themself a moment later. WebRTC's audio
processing module (AEC3, as bundled by the `livekit` package) removes what the speakers played
from what the microphone hears, given the speaker signal as its reference: every block the call
plays goes to `process_render`, every microphone block goes through `process_capture`. AEC3
finds the delay between the two by itself, so the caller need not know the sound system's
latency.

The module works on 10 ms frames; microphone blocks of any whole number of 10 ms frames are
accepted here (the call's are 20 ms); the speaker reference goes to the module as it is played,
every remote voice summed (RenderMix). When `livekit` is missing, or
the rate is one the module cannot take, audio passes through unchanged and the log says so
once, at INFO.
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
# How far one sink's reference may run ahead of a silent one before the silent one is padded.
MAX_LAG_S = 0.06


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


class RenderMix:
    """Every remote voice the speakers play, summed into one reference, 10 ms at a time.

    Each remote audio sink (one per person in the call) adds its blocks under its own key. A
    frame is summed once every sink has 10 ms queued, so voices stay aligned as they were
    played; a sink that falls `max_lag_s` behind the one furthest ahead is padded with silence
    rather than holding the reference back (the canceller cannot remove an echo that reaches
    it before its reference does), so nothing queued grows past that.
    """

    def __init__(self, max_lag_s: float = MAX_LAG_S) -> None:
        self._max_lag_s = max_lag_s
        self._pending: dict[object, tuple[int, AudioBlock]] = {}

    def add(self, source: object, block: AudioBlock, samplerate: int) -> list[AudioBlock]:
        """Queue `block` from `source`; returns the 10 ms frames now complete, summed. Sinks
        at another rate than this one's are left out (their echo is not cancelled)."""
        rate, queued = self._pending.get(source, (samplerate, np.zeros(0, np.float32)))
        if rate != samplerate:
            queued = np.zeros(0, np.float32)
        self._pending[source] = (
            samplerate,
            np.concatenate((queued, block.reshape(-1).astype(np.float32))),
        )
        step = round(samplerate * FRAME_S)
        lag = max(step, int(self._max_lag_s * samplerate))
        keys = [key for key, (other, _) in self._pending.items() if other == samplerate]
        frames: list[AudioBlock] = []
        while True:
            sizes = [self._pending[key][1].size for key in keys]
            if min(sizes) < step and max(sizes) < lag:
                return frames
            mix = np.zeros(step, np.float32)
            for key in keys:
                queued = self._pending[key][1]
                used = min(step, queued.size)
                mix[:used] += queued[:used]
                self._pending[key] = (samplerate, queued[used:])
            frames.append(mix)

    def end(self, source: object) -> None:
        self._pending.pop(source, None)


class EchoCanceller:
    """Removes the speakers' sound from the microphone; a pass-through when it cannot.

    All methods may be called from any thread (a lock keeps the module's calls in order).
    """

    def __init__(self, *, enabled: bool = True) -> None:
        """`enabled=False` makes a pass-through (measurements of the raw path)."""
        self._lock = threading.Lock()
        self._apm: AudioProcessor | None = None
        self._frame_type: type[Any] | None = None
        self._said_why = False
        self._mix = RenderMix()
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

    def process_render(self, block: AudioBlock, samplerate: int, source: object = None) -> None:
        """Tell the canceller what the speakers are about to play (mono float, -1..1), any
        length; `source` tells one remote sink from another (their sound is summed)."""
        apm, frame_type = self._apm, self._frame_type
        if apm is None or frame_type is None:
            return
        if samplerate not in SUPPORTED_RATES:
            self._pass_through(f"{samplerate} Hz is not a rate the module processes")
            return
        with self._lock:
            for frame in self._mix.add(source, block, samplerate):
                pcm = _pcm(frame)
                apm.process_reverse_stream(frame_type(pcm.tobytes(), samplerate, 1, pcm.size))

    def end_render(self, source: object = None) -> None:
        """A sink stopped playing: forget what it had queued."""
        with self._lock:
            self._mix.end(source)

    def process_capture(self, block: AudioBlock, samplerate: int) -> AudioBlock:
        """The microphone block with the speakers' echo (and steady noise) removed. Blocks must
        be whole 10 ms frames (the call's are 20 ms); others pass unchanged."""
        apm, frame_type = self._apm, self._frame_type
        if apm is None or frame_type is None:
            return block
        if samplerate not in SUPPORTED_RATES:
            self._pass_through(f"{samplerate} Hz is not a rate the module processes")
            return block
        step = round(samplerate * FRAME_S)
        if block.size == 0 or block.size % step:
            return block  # a partial frame (end of a stream): too rare to matter, left as is
        near = _pcm(block)
        out = np.empty(near.size, np.float32)
        with self._lock:
            for start in range(0, near.size, step):
                part = slice(start, start + step)
                frame = frame_type(near[part].tobytes(), samplerate, 1, step)
                apm.process_stream(frame)
                out[part] = np.frombuffer(bytes(frame.data), dtype=np.int16) / 32767.0
        return out


def _pcm(block: AudioBlock) -> np.ndarray:
    return (np.clip(block.reshape(-1), -1.0, 1.0) * 32767).astype(np.int16)


@functools.cache
def echo_cancellation_available() -> bool:
    """Whether calls on this computer cancel echo (the speaker check tells the couple)."""
    return EchoCanceller().active
