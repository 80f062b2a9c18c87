"""Synthetic speech-like signals and a simulated room, for measuring echo cancellation.

Voiced speech is a harmonic series on a wandering pitch, in syllables of a few per second with
pauses between them; two different voices (pitch, rhythm) stand for the far end (the therapist
on the speakers) and the near end (the couple at the microphone). Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

from app.call.echo_canceller import EchoCanceller

RATE = 48_000
BLOCK = 960  # the call's 20 ms blocks


def speech_like(seconds: float, pitch_hz: float, seed: int, rate: int = RATE) -> np.ndarray:
    """A voice-like signal peaking near -6 dBFS: harmonics of a slowly gliding pitch, gated
    into syllables (about 4 a second) with short pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = pitch_hz * (1 + 0.08 * np.sin(2 * np.pi * 0.9 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 24))
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3.5, 4.5) * t) + 0.3, 0, 1)
    shaped = np.asarray(voice * syllables, np.float64)
    peak = float(np.abs(shaped).max())
    return np.asarray(0.5 * shaped / peak, np.float32)


def room_echo(far: np.ndarray, delay_s: float, gain: float, rate: int = RATE) -> np.ndarray:
    """What a laptop's microphone hears of its speakers: a delayed, quieter, coloured copy
    with a few reflections (a direct path and a short decaying tail)."""
    delay = int(delay_s * rate)
    rng = np.random.default_rng(7)
    tail = rng.normal(0, 1, 2400) * np.exp(-np.arange(2400) / 400)
    response = np.zeros(delay + tail.size)
    response[delay] = 1.0
    response[delay:] += 0.15 * tail
    response *= gain / np.sqrt(np.sum(response**2))
    return np.convolve(far, response)[: far.size].astype(np.float32)


def cancel(canceller: EchoCanceller, far: np.ndarray, mic: np.ndarray) -> np.ndarray:
    """Run 20 ms blocks as the call does: the far end goes to the speakers (render), then the
    microphone block is processed."""
    out = np.zeros_like(mic)
    for start in range(0, mic.size - BLOCK + 1, BLOCK):
        canceller.process_render(far[start : start + BLOCK], RATE)
        out[start : start + BLOCK] = canceller.process_capture(mic[start : start + BLOCK], RATE)
    return out


def level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))
