"""Suite-wide settings: offscreen Qt, and the lab fixtures shared by integration tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.media import VideoKind, write_video
from tests.lab.netns import NetLab
from tests.lab.pulse import PulseLab
from tests.lab.requirements import need_program, need_root

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(
    os.environ.get("TANDEM_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and reports written by tests for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    """A fresh network lab (root only); every namespace it made is removed afterwards."""
    need_root()
    need_program("ip")
    need_program("tc")
    need_program("nft")
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseLab]:
    """A private PulseAudio daemon (root only): virtual sink and microphone (tests/lab/pulse.py)."""
    need_root()
    need_program("pulseaudio")
    need_program("pactl")
    need_program("paplay")
    lab = PulseLab(tmp_path / "pulse")
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def video_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a test video into tmp_path: video_file("pattern" | "black" | "frozen", fps=…)."""

    def make(kind: VideoKind = "pattern", **options: Any) -> Path:
        return write_video(tmp_path / f"{kind}.avi", kind, **options)

    return make
