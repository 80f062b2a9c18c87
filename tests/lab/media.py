"""Test video files written with cv2.VideoWriter: the honest stand-in for a webcam here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np

VideoKind = Literal["pattern", "black", "frozen"]


def write_video(
    path: Path,
    kind: VideoKind = "pattern",
    size: tuple[int, int] = (320, 240),
    fps: float = 20.0,
    seconds: float = 1.0,
) -> Path:
    """Write an MJPG .avi of a moving pattern, an all-black picture or one still picture."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter cannot write {path}")
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    try:
        for index in range(max(1, round(fps * seconds))):
            if kind == "black":
                frame = np.zeros((height, width, 3), np.uint8)
            else:
                step = 0 if kind == "frozen" else index
                band = ((x + y + 10 * step) % 80).astype(np.float32) / 79.0
                frame = np.stack(
                    [40 + 180 * band, 220 - 180 * band, np.full_like(band, 120.0)], axis=2
                ).astype(np.uint8)
                cv2.putText(
                    frame,
                    str(step),
                    (10, height // 2),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    1.5,
                    (255, 255, 255),
                    3,
                )
            writer.write(frame)
    finally:
        writer.release()
    return path
