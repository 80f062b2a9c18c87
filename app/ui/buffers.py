"""Hand-over points between device threads and GUI timers (STYLE.md rule 5).

A device callback or a frame worker only writes here; a QTimer on the GUI thread drains. Nothing
in this module touches Qt, so the audio thread never waits on the GUI.
"""

from __future__ import annotations

import math
import threading
from typing import Generic, TypeVar

import numpy as np

from app.devices.base import AudioBlock

T = TypeVar("T")

SILENCE_DBFS = -60.0


class LatestSlot(Generic[T]):
    """Keeps only the newest value: a slow reader skips values instead of queueing them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: T | None = None

    def put(self, value: T) -> None:
        with self._lock:
            self._value = value

    def take(self) -> T | None:
        with self._lock:
            value, self._value = self._value, None
        return value


class LevelBuffer:
    """The loudest block level (dBFS) since the last drain; written from an audio callback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._peak: float | None = None

    def push(self, block: AudioBlock) -> None:
        if block.size == 0:
            return
        rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64))))
        level = 20.0 * math.log10(rms) if rms > 0 else SILENCE_DBFS
        level = max(SILENCE_DBFS, min(0.0, level))
        with self._lock:
            if self._peak is None or level > self._peak:
                self._peak = level

    def drain(self) -> float | None:
        """The loudest level since the last call, or None if no audio arrived."""
        with self._lock:
            peak, self._peak = self._peak, None
        return peak
