"""Pure analysis of camera frames: brightness, over-exposure and frozen (repeated) pictures."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

ANALYSIS_WIDTH = 160  # frames are shrunk before analysis: fast, and sensor noise averages out
BRIGHT_PIXEL = 250  # a luma at or above this is blown out
# A stuck camera repeats the very same picture (a difference of 0); a still room still has sensor
# noise, so only a near-zero mean absolute luma change counts as "the same picture".
FROZEN_DIFFERENCE = 0.05


def to_luma(frame: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """A small grey (luma) image from a BGR or grey uint8 frame. Raises ValueError on bad input."""
    array = np.asarray(frame)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"a frame must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError("the frame is empty")
    if array.dtype != np.uint8:
        raise ValueError(f"a frame must be uint8, got {array.dtype}")
    if array.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if array.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        array = cv2.cvtColor(np.ascontiguousarray(array), code)
    height, width = array.shape[:2]
    if width > ANALYSIS_WIDTH:
        small_height = max(1, round(height * ANALYSIS_WIDTH / width))
        array = cv2.resize(array, (ANALYSIS_WIDTH, small_height), interpolation=cv2.INTER_AREA)
    return array.astype(np.float32)


@dataclass(frozen=True)
class FrameStats:
    frames: int
    width: int
    height: int
    mean_luma: float  # 0..255 over all frames
    bright_ratio: float  # share of blown-out pixels over all frames
    frozen_ratio: float  # share of consecutive frame pairs that were the same picture


class FrameAnalyser:
    """Accumulates statistics frame by frame, so a capture never keeps all frames in memory."""

    def __init__(self) -> None:
        self._frames = 0
        self._width = 0
        self._height = 0
        self._luma_sum = 0.0
        self._bright_sum = 0.0
        self._pairs = 0
        self._frozen_pairs = 0
        self._previous: npt.NDArray[np.float32] | None = None

    def add(self, frame: npt.ArrayLike) -> None:
        array = np.asarray(frame)
        luma = to_luma(array)
        self._frames += 1
        self._height, self._width = int(array.shape[0]), int(array.shape[1])
        self._luma_sum += float(luma.mean())
        self._bright_sum += float(np.count_nonzero(luma >= BRIGHT_PIXEL)) / luma.size
        previous = self._previous
        if previous is not None:
            self._pairs += 1
            same_size = previous.shape == luma.shape
            if same_size and float(np.abs(luma - previous).mean()) < FROZEN_DIFFERENCE:
                self._frozen_pairs += 1
        self._previous = luma

    def stats(self) -> FrameStats:
        count = max(self._frames, 1)
        return FrameStats(
            frames=self._frames,
            width=self._width,
            height=self._height,
            mean_luma=self._luma_sum / count,
            bright_ratio=self._bright_sum / count,
            frozen_ratio=self._frozen_pairs / self._pairs if self._pairs else 0.0,
        )
