"""Frames to the pixels Qt paints, scaled to a tile, in as few passes as measured cheapest.

Qt-free (numpy, PyAV, OpenCV), so it is unit-tested without a QApplication; video_frames wraps
the result in a QImage. The target is 32-bit BGRA in memory, which is QImage.Format_RGB32 on a
little-endian machine: the raster paint engine blits that format as it is, where RGB888 (what
this replaced) is converted pixel by pixel on the GUI thread at every paint (~3x the paint cost,
benchmarks/frame_pipeline.py).

Remote video: the decoder's YUV 4:2:0 frame goes through one libswscale pass that scales to the
tile's size and converts to BGRA at once. This replaced to BGR (full size), then cv2.resize, then
a BGR->RGB swap: three passes and two full-size intermediates (~1.06 ms -> ~0.34 ms a frame for a
480x270 tile). One reformatter per source keeps its swscale context between frames (PyAV's
`frame.reformat()` makes a new one per frame object, and every decoded frame is a new object).
threads=1: PyAV's default (0) lets swscale start slice threads for a job of a tenth of a
millisecond, which cost more CPU than it saved on two cores. AREA: a box filter when shrinking
(no aliasing), bilinear when growing, and 10-15 % cheaper than swscale's BILINEAR when
shrinking 640x360 to 320x180, 480x270 or 560x315 (BICUBIC cost 40-50 % more; POINT aliases).

Camera frames (the self view) arrive as BGR arrays from OpenCV's capture. libswscale reads packed
BGR slowly (~0.6 ms for 640x360 to 224x126), and so does cv2.INTER_AREA at a non-integer ratio;
halving with INTER_AREA (its fast integer path) while the frame is at least twice the tile, then
one INTER_LINEAR step to the tile (a ratio under 2, where linear does not alias), then BGR->BGRA
on the small picture costs ~0.12 ms, a fifth of the old path (measured: frame_pipeline.py).

Not done, because measured dearer: deriving the self view from the I420 frame the encoder needs
(BGR->I420, then swscale I420->BGRA at 224x126: ~0.34 ms against ~0.12 ms above; and in the
waiting room there is no encoder to share with). Converting at paint time on the GUI thread
instead of at arrival: in a three-party call only ~1 % of converted images were superseded
before the GUI took them (FrameStore.replaced, benchmarks/README.md), and STYLE.md rule 5 keeps
the work off the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from app.devices.base import Frame

Box = tuple[int, int]  # a tile's size in device pixels (width, height)


@dataclass(frozen=True)
class Pixels:
    """BGRA rows ready for a QImage: `rows` is C-contiguous, shape (height, stride) in bytes,
    each row `width` pixels and maybe some padding (swscale aligns its rows); no copy made."""

    rows: Frame
    width: int

    @property
    def height(self) -> int:
        return int(self.rows.shape[0])

    @property
    def stride(self) -> int:
        return int(self.rows.shape[1])

    def array(self) -> Frame:
        """The picture as a (height, width, 4) view, for checks and tests."""
        return self.rows.reshape(self.height, self.stride // 4, 4)[:, : self.width]


def fit(width: int, height: int, box: Box) -> tuple[int, int]:
    """The largest size with width:height's aspect ratio that fits in `box` (at least 2x2)."""
    box_w, box_h = box
    scale = min(box_w / width, box_h / height)
    # Rounded, not truncated: 360 * (224 / 640) is 125.99999..., and a 224x126 tile must get
    # 126 rows, not a picture a row short with a stripe of background under it.
    return (
        max(2, min(box_w, round(width * scale))),
        max(2, min(box_h, round(height * scale))),
    )


def target_size(width: int, height: int, box: Box | None) -> tuple[int, int]:
    """The size a `width`x`height` frame is painted at in `box`; its own size without a box
    (the tile has not been laid out yet) or with a degenerate one. The width is even: swscale
    takes a path ~2.5x slower to an odd-width BGRA picture (519x292: 0.82 ms, 518x292: 0.30 ms,
    frame_pipeline.py's machine), and half a pixel of aspect ratio is invisible."""
    if box is not None and box[0] > 1 and box[1] > 1:
        width, height = fit(width, height, box)
    return max(2, width - width % 2), height


def halvings(width: int, height: int, size: tuple[int, int]) -> int:
    """How many 2:1 INTER_AREA steps take `width`x`height` down to under twice `size` (each
    step must keep at least `size`, so the last step to `size` only ever shrinks by < 2)."""
    steps = 0
    while width >= 2 * size[0] and height >= 2 * size[1]:
        width, height = width // 2, height // 2
        steps += 1
    return steps


def bgr_to_bgra(image: Frame, size: tuple[int, int]) -> Frame:
    """A BGR camera frame -> contiguous BGRA at `size` (width, height); see the module doc."""
    for _ in range(halvings(image.shape[1], image.shape[0], size)):
        half = (image.shape[1] // 2, image.shape[0] // 2)
        image = np.asarray(cv2.resize(image, half, interpolation=cv2.INTER_AREA), np.uint8)
    if (image.shape[1], image.shape[0]) != size:
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), np.uint8)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA), np.uint8)


class Scaler:
    """One source's frames -> BGRA at the tile's size. Keeps that source's swscale context, so
    each source has its own: one context shared between threads crashed a call (video_tracks).
    The lock makes a put from an unexpected thread safe rather than a crash."""

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        self._lock = threading.Lock()

    def bgra(self, frame: av.VideoFrame | Frame, box: Box | None) -> Pixels:
        """`frame` (decoded video or a BGR array) as BGRA pixels fitted to `box`."""
        if not isinstance(frame, av.VideoFrame):
            size = target_size(frame.shape[1], frame.shape[0], box)
            image = bgr_to_bgra(frame, size)
            return Pixels(image.reshape(size[1], size[0] * 4), size[0])
        width, height = target_size(frame.width, frame.height, box)
        with self._lock:
            out = self._reformatter.reformat(
                frame, width, height, "bgra", threads=1, interpolation="AREA"
            )
        plane = out.planes[0]  # line_size * height bytes, padding included: viewed, not copied
        rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.line_size * height]
        return Pixels(rows.reshape(height, plane.line_size), width)
