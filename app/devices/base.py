"""The device interfaces every part of Tandem uses: the equipment check, the preview, the call.

Frames are numpy arrays HxWx3 uint8 in BGR order (OpenCV's). Audio is float32 mono in [-1, 1].
Every call that touches hardware takes or has a deadline and raises DeviceError, never hangs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
AudioBlock = npt.NDArray[np.float32]


class DeviceProblem(enum.Enum):
    """Why a device could not be used; each maps to plain words in the checks."""

    NOT_FOUND = "not_found"
    BUSY = "busy"
    PERMISSION = "permission"
    NO_AUDIO_SYSTEM = "no_audio_system"  # PortAudio or a sound server missing
    TIMEOUT = "timeout"
    FAILED = "failed"


class DeviceError(Exception):
    def __init__(self, problem: DeviceProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class DeviceInfo:
    """A device a user can pick: `id` is what the implementation opens, `name` is shown."""

    id: str
    name: str


class Camera(Protocol):
    def open(self, timeout: float = 3.0) -> None: ...
    def read(self, timeout: float = 1.0) -> Frame: ...
    def close(self) -> None: ...


class AudioStream(Protocol):
    def stop(self) -> None: ...


class Microphone(Protocol):
    samplerate: int

    def record(self, seconds: float) -> AudioBlock:
        """Record `seconds` of mono audio; raises DeviceError within seconds + a small margin."""
        ...

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        """Stream blocks to `on_block` (called on an audio thread: it must only buffer)."""
        ...


class Speaker(Protocol):
    samplerate: int

    def play(self, samples: AudioBlock) -> None:
        """Play and return when done; raises DeviceError rather than blocking forever."""
        ...


class SpeakerStream(Protocol):
    def write(self, samples: AudioBlock) -> None:
        """Queue samples for playback; never blocks (too much queued: the oldest is dropped)."""
        ...

    def stop(self) -> None: ...


@runtime_checkable
class StreamingSpeaker(Protocol):
    """A speaker that can also play a continuous stream (a call's remote audio) without gaps."""

    samplerate: int

    def start_stream(self, on_played: Callable[[AudioBlock], None] | None = None) -> SpeakerStream:
        """Open the output; raises DeviceError within seconds, never hangs. `on_played` hears
        each block as the device takes it to play (on the audio thread, so it must be quick):
        the echo canceller's reference, timed by the device rather than by the network."""
        ...
