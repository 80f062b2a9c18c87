"""Progress reports from a running step (a check, a measurement): progress bars, live figures.

A layer of its own, below app/checks and app/net, so both can report progress without importing
each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    check: str  # "camera" | "microphone" | "speaker" | "bandwidth"
    fraction: float  # 0.0 .. 1.0 of this check
    message: str  # plain words, e.g. "Measuring upload…"
    figure: str = ""  # a live figure for the user, e.g. "12.3 Mbps"


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """The default callback when nobody is watching."""
