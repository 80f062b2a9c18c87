"""Per-frame cost of showing video: a decoded frame (or a camera frame) to a painted tile.

Encodes a moving 640x360 picture with libvpx (as aiortc does), decodes it with libvpx, and then
times, per frame and in CPU time of this process:

- remote video, decoded frame -> the finished QImage for a tile (FrameStore.put): the pipeline
  before issue 12 (to BGR at full size, cv2.resize, BGR->RGB, an RGB888 QImage; reproduced here
  as it was) against today's (one swscale pass to BGRA at the tile's size, an RGB32 QImage);
- painting that image 1:1 on a surface in the backing store's format (GUI thread);
- the self view, a BGR camera frame -> the 224x126 self-view tile, before and after.

Each figure is the best of 5 rounds (the machine is shared; the best round is the one least
disturbed). Offscreen Qt; no network, no root.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/frame_pipeline.py [--frames 60]
"""

from __future__ import annotations

import argparse
import fractions
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.frame_pixels import fit  # noqa: E402
from app.ui.video_frames import FrameStore  # noqa: E402

ROUNDS = 5
# 520x292: the picture in desktop_call.py's tiles (520x515 in its 1100x860 window), a ratio
# that is not 1:2 as most real tiles' are not.
REMOTE_BOXES = ((320, 180), (520, 292), (640, 360))
SELF_BOX = (224, 126)  # call_page.SELF_VIEW_SIZE


def picture(index: int, size: tuple[int, int]) -> np.ndarray:
    """A moving picture with edges and texture (a flat gradient would flatter the scaler)."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.dstack(
        [np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
         np.broadcast_to(255 - x, (height, width))]
    ).astype(np.uint8)  # fmt: skip
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 40, (height, width, 1), np.uint8)
    image = np.roll(base, index * 4, axis=1) + texture
    cv2.circle(image, (width // 2 + index * 3 % 100, height // 2), height // 4, (40, 200, 90), -1)
    cv2.putText(image, str(index), (10, height // 4), cv2.FONT_HERSHEY_SIMPLEX, 2, (255,) * 3, 3)
    return np.asarray(image, np.uint8)


def decoded_stream(count: int, size: tuple[int, int]) -> list[av.VideoFrame]:
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height = size
    encoder.pix_fmt = "yuv420p"
    encoder.bit_rate = 900_000
    encoder.time_base = fractions.Fraction(1, 15)
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    for index in range(count):
        source = av.VideoFrame.from_ndarray(picture(index, size), format="bgr24")
        source = source.reformat(format="yuv420p")
        source.pts = index
        for packet in encoder.encode(source):
            frames.extend(f for f in decoder.decode(packet) if isinstance(f, av.VideoFrame))
    return frames


# --- before: the pipeline as it was (peer.to_bgr, then video_frames.to_image) --------------------
def old_to_bgr(frame: av.VideoFrame) -> np.ndarray:
    return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)


def old_to_image(frame: np.ndarray, box: tuple[int, int] | None) -> QImage:
    height, width = frame.shape[:2]
    if box is not None and box[0] > 1 and box[1] > 1:
        size = fit(width, height, box)
        if size != (width, height):
            shrinking = size[0] < width
            frame = np.asarray(
                cv2.resize(
                    frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
                ),
                np.uint8,
            )
            height, width = frame.shape[:2]
    rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


# --- timing -------------------------------------------------------------------------------------
def per_frame_ms(
    items: Sequence[object], work: Callable[[object], object], per_round: int
) -> float:
    """CPU ms per call, the best of ROUNDS rounds of `per_round` calls."""
    work(items[0])  # warm up (swscale contexts, caches)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for index in range(per_round):
            work(items[index % len(items)])
        best = min(best, (time.process_time() - start) / per_round * 1000.0)
    return best


def paint_ms(image: QImage, per_round: int) -> float:
    surface = QImage(1100, 860, QImage.Format.Format_ARGB32_Premultiplied)  # the backing store's
    surface.fill(0)
    best = float("inf")
    for _ in range(ROUNDS):
        painter = QPainter(surface)
        start = time.process_time()
        for _ in range(per_round):
            painter.drawImage(0, 0, image)
        best = min(best, (time.process_time() - start) / per_round * 1000.0)
        painter.end()
    return best


def row(label: str, before: float, after: float) -> str:
    return f"{label:<42}{before:>9.3f}{after:>9.3f}{before / after:>8.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames encoded and decoded")
    parser.add_argument("--per-round", type=int, default=200, help="calls timed per round")
    args = parser.parse_args()
    if args.frames < 2 or args.per_round < 1:
        parser.error("--frames must be at least 2 and --per-round at least 1")

    app = QApplication.instance() or QApplication([])
    frames = decoded_stream(args.frames, (640, 360))
    camera = [picture(index, (640, 360)) for index in range(min(args.frames, 30))]
    camera_hd = [picture(index, (1280, 720)) for index in range(min(args.frames, 10))]
    n = args.per_round
    print(f"{len(frames)} decoded VP8 frames, 640x360 yuv420p; CPU ms per frame, best of {ROUNDS}")
    print(f"{'':<42}{'before':>9}{'after':>9}{'gain':>9}")
    total_before = total_after = 0.0
    for box in REMOTE_BOXES:
        new_store = FrameStore(lambda source: None)
        new_store.set_box("peer", *box)

        def old_put(frame: object, box: tuple[int, int] = box) -> object:
            assert isinstance(frame, av.VideoFrame)
            return old_to_image(old_to_bgr(frame), box)

        def new_put(frame: object, store: FrameStore = new_store) -> object:
            assert isinstance(frame, av.VideoFrame)
            store.put("peer", frame)
            return store.take("peer")

        before = per_frame_ms(frames, old_put, n)
        after = per_frame_ms(frames, new_put, n)
        label = f"decoded frame -> {box[0]}x{box[1]} tile image"
        print(row(label, before, after))
        old_image = old_put(frames[0])
        new_image = new_put(frames[0])
        assert isinstance(old_image, QImage) and isinstance(new_image, QImage)
        paint_before, paint_after = paint_ms(old_image, n * 5), paint_ms(new_image, n * 5)
        print(row("  paint it 1:1 (GUI thread)", paint_before, paint_after))
        if box == (520, 292):
            total_before, total_after = before + paint_before, after + paint_after

    for source, size in ((camera, "640x360"), (camera_hd, "1280x720")):
        self_store = FrameStore(lambda source: None)
        self_store.set_box("self", *SELF_BOX)

        def old_self(image: object) -> object:
            assert isinstance(image, np.ndarray)
            return old_to_image(image, SELF_BOX)

        def new_self(image: object, store: FrameStore = self_store) -> object:
            assert isinstance(image, np.ndarray)
            store.put("self", image)
            return store.take("self")

        label = f"self view: {size} camera -> 224x126"
        print(row(label, per_frame_ms(source, old_self, n), per_frame_ms(source, new_self, n)))

    calls = 2 * 15  # a three-party call: two remote streams at 15 fps
    print(
        f"\nthree-party call, two 520x292 pictures at 15 fps: {total_before * calls / 10:.2f} % -> "
        f"{total_after * calls / 10:.2f} % of one core for remote frames (convert + paint)"
    )
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
