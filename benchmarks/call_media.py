"""What the call benchmark's participant sees and hears: a camera clip and a speaker.

The camera is a clip generated once and played through the app's real capture path (OpenCV's
VideoCapture on a file, app.devices.camera), so a frame costs what a webcam's does (read and
convert) and not what drawing a test pattern in numpy costs (~7 ms a frame). The same clip, as
Y4M, is Chromium's fake camera (`--use-file-for-fake-video-capture`), so both sides of the
browser comparison encode the same picture. The picture is a talking head: a still, textured
room, a head and shoulders swaying slowly, a mouth that opens and shuts, a little sensor noise,
and a frame number; it moves like a person on a call, not like a scrolling test pattern.

The speaker is PortAudio on a private PulseAudio null sink when the machine has PulseAudio
(tests/lab/pulse.py), as a real call plays to a sound card; otherwise `ClockedSpeaker`, which
takes samples at real time behind the same streaming interface.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from app.devices.audio import SampleFifo
from app.devices.base import AudioBlock, Frame, SpeakerStream

CLIP_SIZE = (640, 360)
CLIP_FPS = 15
CLIP_SECONDS = 4.0  # the sway's period: the loop has no jump


def talking_head_frames(
    size: tuple[int, int] = CLIP_SIZE,
    fps: int = CLIP_FPS,
    seconds: float = CLIP_SECONDS,
    noise: float = 2.0,
) -> list[Frame]:
    """BGR frames of the clip; every frame differs from the one before. `noise` is the sensor
    noise's standard deviation in grey levels (0: none)."""
    width, height = size
    count = max(2, round(fps * seconds))
    rng = np.random.default_rng(12)
    # The room: a vertical gradient and a blurred texture (a bookshelf's worth of detail).
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    wall = np.array([150, 170, 190], np.float32) * (0.8 + 0.3 * y)
    texture = cv2.GaussianBlur(rng.normal(0, 40, (height, width, 3)).astype(np.float32), (0, 0), 3)
    room = np.clip(np.broadcast_to(wall, (height, width, 3)) + texture, 0, 255)
    scale = height / 360
    frames: list[Frame] = []
    for index in range(count):
        phase = 2 * math.pi * index / count
        frame = room.copy()
        cx = int(width / 2 + 24 * scale * math.sin(phase))
        cy = int(height * 0.45 + 6 * scale * math.sin(2 * phase))
        shoulders = np.array(
            [
                [cx - int(170 * scale), height],
                [cx - int(110 * scale), int(height * 0.78)],
                [cx + int(110 * scale), int(height * 0.78)],
                [cx + int(170 * scale), height],
            ],
            np.int32,
        )
        cv2.fillPoly(frame, [shoulders], (90, 60, 40))
        head = (int(62 * scale), int(80 * scale))
        cv2.ellipse(frame, (cx, cy), head, 0, 0, 360, (120, 150, 200), -1)
        cv2.ellipse(
            frame, (cx, cy - head[1] // 2), (head[0], head[1] // 2), 0, 180, 360, (40, 40, 60), -1
        )
        for side in (-1, 1):
            cv2.circle(
                frame,
                (cx + side * int(22 * scale), cy - int(8 * scale)),
                int(6 * scale),
                (40, 30, 30),
                -1,
            )
        mouth = max(1, int(12 * scale * abs(math.sin(4 * phase))))  # talking, twice a second
        cv2.ellipse(
            frame,
            (cx, cy + int(38 * scale)),
            (int(18 * scale), mouth),
            0,
            0,
            360,
            (60, 50, 120),
            -1,
        )
        frame += rng.normal(0, noise, frame.shape).astype(np.float32)  # a webcam's sensor noise
        picture = np.clip(frame, 0, 255).astype(np.uint8)
        cv2.putText(
            picture, f"{index:02d}", (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2
        )
        frames.append(picture)
    return frames


def write_y4m(path: Path, frames: list[Frame], fps: int = CLIP_FPS) -> Path:
    """Raw I420 video with a YUV4MPEG2 header: what Chromium's fake camera plays (looping), and
    what OpenCV reads back through FFmpeg exactly as it was written."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


class ClockedSpeaker:
    """A speaker with no device that still takes its samples at real time, 20 ms at a time,
    from the same bounded queue as PortAudio's callback (app.devices.audio.SampleFifo)."""

    def __init__(self, samplerate: int = 48000, block: int = 960) -> None:
        self.samplerate = samplerate
        self.block = block
        self.samples_played = 0

    def play(self, samples: AudioBlock) -> None:
        self.samples_played += int(samples.size)

    def start_stream(self, on_played: Callable[[AudioBlock], None] | None = None) -> SpeakerStream:
        fifo = SampleFifo(max_samples=int(0.3 * self.samplerate))
        stop = threading.Event()
        period = self.block / self.samplerate

        def run() -> None:
            while not stop.wait(period):
                played = fifo.read(self.block)
                self.samples_played += int(played.size)
                if on_played is not None:
                    on_played(played)

        thread = threading.Thread(target=run, name="clocked-speaker", daemon=True)
        thread.start()
        return _ClockedStream(fifo, stop, thread)


class _ClockedStream:
    def __init__(self, fifo: SampleFifo, stop: threading.Event, thread: threading.Thread) -> None:
        self._fifo, self._stop, self._thread = fifo, stop, thread

    def write(self, samples: AudioBlock) -> None:
        self._fifo.write(samples)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
