"""Pure numeric helpers for the microphone and speaker checks: levels, clipping, tone detection.

Levels are in dBFS relative to a full-scale square wave (20·log10 of the RMS), so a full-scale
sine reads -3.0 dBFS. Silence is floored at SILENCE_DBFS rather than minus infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.devices.base import AudioBlock

SILENCE_DBFS = -120.0
CLIP_LEVEL = 0.99  # a sample at or above this magnitude counts as clipped
NOISE_WINDOW_S = 0.05


def to_dbfs(amplitude: float) -> float:
    """20·log10 of a linear amplitude, floored at SILENCE_DBFS."""
    if not math.isfinite(amplitude) or amplitude <= 10 ** (SILENCE_DBFS / 20):
        return SILENCE_DBFS
    return 20.0 * math.log10(amplitude)


def as_mono(samples: npt.ArrayLike) -> tuple[AudioBlock, int]:
    """Return a float32 mono copy with non-finite samples set to 0, and how many there were.

    A 2-D block (frames x channels) is averaged over its channels. Raises ValueError for an
    empty block or a shape that is not audio.
    """
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim == 2:
        if array.shape[1] == 0:
            raise ValueError("audio block has no channels")
        array = array.mean(axis=1)
    if array.ndim != 1:
        raise ValueError(f"audio block must be 1-D or 2-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError("audio block is empty")
    finite = np.isfinite(array)
    invalid = int(array.size - np.count_nonzero(finite))
    mono = np.where(finite, array, 0.0).astype(np.float32)
    return mono, invalid


def rms(samples: AudioBlock) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@dataclass(frozen=True)
class LevelStats:
    level_dbfs: float  # RMS over the whole block
    peak_dbfs: float
    clipping_ratio: float  # share of samples at or above CLIP_LEVEL
    noise_floor_dbfs: float  # the quiet 10th percentile of 50 ms windows
    invalid_ratio: float  # share of samples that were NaN or infinite


def level_stats(samples: npt.ArrayLike, samplerate: int) -> LevelStats:
    """Measure a recorded block. Raises ValueError for an empty or malformed block."""
    mono, invalid = as_mono(samples)
    magnitude = np.abs(mono)
    window = max(1, int(samplerate * NOISE_WINDOW_S))
    usable = (mono.size // window) * window
    if usable:
        windows = mono[:usable].astype(np.float64).reshape(-1, window)
        window_rms = np.sqrt(np.mean(np.square(windows), axis=1))
        noise_floor = float(np.percentile(window_rms, 10))
    else:
        noise_floor = rms(mono)
    return LevelStats(
        level_dbfs=to_dbfs(rms(mono)),
        peak_dbfs=to_dbfs(float(magnitude.max())),
        clipping_ratio=float(np.count_nonzero(magnitude >= CLIP_LEVEL)) / mono.size,
        noise_floor_dbfs=to_dbfs(noise_floor),
        invalid_ratio=invalid / mono.size,
    )


def sine(
    frequency: float,
    seconds: float,
    samplerate: int,
    level_dbfs: float = -12.0,
    fade_s: float = 0.02,
) -> AudioBlock:
    """A sine whose RMS is `level_dbfs`, with short fades so it starts and ends without a click."""
    count = max(0, int(round(seconds * samplerate)))
    t = np.arange(count, dtype=np.float64) / samplerate
    amplitude = math.sqrt(2.0) * 10 ** (level_dbfs / 20)
    wave = amplitude * np.sin(2 * math.pi * frequency * t)
    fade = min(count // 2, int(fade_s * samplerate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[count - fade :] *= ramp[::-1]
    return wave.astype(np.float32)


def tone_level_dbfs(samples: AudioBlock, samplerate: int, frequency: float) -> float:
    """The RMS level (dBFS) of a sine at `frequency` in the block (Hann-windowed single bin)."""
    if samples.size == 0:
        return SILENCE_DBFS
    n = samples.size
    window = np.hanning(n) if n > 1 else np.ones(1)
    t = np.arange(n, dtype=np.float64) / samplerate
    component = np.dot(samples.astype(np.float64) * window, np.exp(-2j * math.pi * frequency * t))
    amplitude = 2.0 * abs(component) / max(float(window.sum()), 1e-12)
    return to_dbfs(amplitude / math.sqrt(2.0))


@dataclass(frozen=True)
class ToneDetection:
    heard: bool
    tone_level_dbfs: float  # median level at the tone frequency in the windows where it was heard
    margin_db: float  # how far the tone stood above its neighbouring frequencies (best window)


TONE_WINDOW_S = 0.1
TONE_MIN_LEVEL_DBFS = -70.0
TONE_MIN_MARGIN_DB = 15.0
TONE_MIN_WINDOWS = 3  # 0.3 s of tone: a click or a passing whistle does not count
NEIGHBOUR_OFFSETS_HZ = (-350.0, -250.0, -150.0, 150.0, 250.0, 350.0)


def detect_tone(samples: npt.ArrayLike, samplerate: int, frequency: float) -> ToneDetection:
    """Is a steady tone at `frequency` present? Compared with nearby frequencies, per 100 ms."""
    mono, _ = as_mono(samples)
    window = int(samplerate * TONE_WINDOW_S)
    levels: list[float] = []
    best_margin = -math.inf
    for start in range(0, mono.size - window + 1, window):
        chunk = mono[start : start + window]
        level = tone_level_dbfs(chunk, samplerate, frequency)
        neighbours = [
            tone_level_dbfs(chunk, samplerate, frequency + offset)
            for offset in NEIGHBOUR_OFFSETS_HZ
            if 0 < frequency + offset < samplerate / 2
        ]
        margin = level - float(np.median(neighbours)) if neighbours else 0.0
        best_margin = max(best_margin, margin)
        if level >= TONE_MIN_LEVEL_DBFS and margin >= TONE_MIN_MARGIN_DB:
            levels.append(level)
    heard = len(levels) >= TONE_MIN_WINDOWS
    return ToneDetection(
        heard=heard,
        tone_level_dbfs=float(np.median(levels)) if levels else SILENCE_DBFS,
        margin_db=best_margin if math.isfinite(best_margin) else 0.0,
    )
