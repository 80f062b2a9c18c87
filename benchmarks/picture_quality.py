"""Picture quality of each video rung at a range of bitrate caps: what a cap costs the picture.

Issue 12 asks that a quiet talking-head picture not be sent at 1.4 Mbit/s: each rung's cap
(app.call.media_mode.RUNG_CAPS_KBPS) should be what the picture needs, chosen from measured
quality. This encodes a talking-head scene with the app's encoder (app.call.vp8_settings: aiortc's
rate control, realtime, cpu-used -6, denoiser, quantizer floor 12) at each target, written past
aiortc's 250 kbit/s floor exactly as app.call.bitrate_caps does, depacketizes and decodes it
with aiortc's Vp8Decoder, and compares each decoded picture with the one that was encoded:
PSNR and SSIM of luma, and the bitrate the encoder really produced.

The scene is synthetic (this machine has no camera and no video of a person): a still room with
a bookshelf, a head and shoulders that sway by a few pixels, eyes that blink, a mouth that moves
with speech rhythm, and fresh sensor noise on every frame as a webcam in a living room has (the
noise is what costs a still picture its bits). It is rendered at 640x360 and scaled to each
rung's size, as the app scales the camera.

    .venv/bin/python benchmarks/picture_quality.py [--seconds 10] [--noise 2.5]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from av import VideoFrame

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiortc.codecs.vpx import Vp8Decoder, vp8_depayload  # noqa: E402
from aiortc.jitterbuffer import JitterFrame  # noqa: E402

from app.call.bitrate_caps import set_vp8_target  # noqa: E402
from app.call.media_mode import RUNG_CAPS_KBPS  # noqa: E402
from app.call.video_profile import LADDER, VideoProfile  # noqa: E402
from app.call.vp8_settings import MIN_QUANTIZER, TunedVp8Encoder  # noqa: E402

TARGETS_KBPS = (80, 120, 160, 200, 250, 300, 400, 500, 600, 800, 1000)
QMINS = (2, 8, 10, 12, 16)
SETTLE_S = 1.0  # the first keyframe and the rate control settling are left out
Array = np.ndarray


@dataclass(frozen=True)
class Quality:
    target_kbps: int
    sent_kbps: float
    psnr_db: float
    ssim: float


def _room(width: int, height: int, rng: np.random.Generator) -> Array:
    """The still background: a lit wall, a bookshelf with books of many colours, a lamp."""
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    wall = 150 + 50 * (1 - x) - 25 * y
    room = np.repeat(wall[:, :, None], 3, axis=2) * np.array([0.92, 0.98, 1.0])
    room = room + rng.normal(0, 3, room.shape)  # plaster texture, fixed
    shelf_x0, shelf_y0 = int(0.68 * width), int(0.12 * height)
    for row in range(4):
        top = shelf_y0 + row * int(0.2 * height)
        cv2.rectangle(room, (shelf_x0, top), (width - 4, top + 4), (60, 80, 110), -1)
        left = shelf_x0 + 4
        while left < width - 12:
            book = int(rng.integers(6, 14))
            tall = int(rng.integers(int(0.1 * height), int(0.17 * height)))
            colour = tuple(int(c) for c in rng.integers(30, 220, 3))
            cv2.rectangle(room, (left, top - tall), (left + book, top), colour, -1)
            left += book + 1
    cv2.circle(
        room, (int(0.12 * width), int(0.2 * height)), int(0.06 * height), (200, 235, 250), -1
    )
    clipped: Array = np.clip(room, 0, 255).astype(np.float32)
    return clipped


def _person(rng: np.random.Generator) -> tuple[Array, Array]:
    """Head and shoulders as a sprite (BGR, mask), with the fine texture of skin, hair and a
    knitted jumper: texture that moves is what a talking head's bits are spent on."""
    height, width = 300, 320
    sprite = np.zeros((height, width, 3), np.float32)
    mask = np.zeros((height, width), np.uint8)
    cx, cy = width // 2, 110
    cv2.ellipse(mask, (cx, cy + 200), (155, 95), 0, 180, 360, 1, -1)  # shoulders
    jumper = np.indices((height, width)).sum(axis=0) % 6 < 3  # a knit's diagonal ribs
    sprite[:] = np.where(jumper[:, :, None], (70, 55, 120), (85, 70, 140))
    face = np.zeros_like(mask)
    cv2.ellipse(face, (cx, cy), (62, 80), 0, 0, 360, 1, -1)
    skin = np.array([120, 150, 200], np.float32) + rng.normal(0, 6, (height, width, 1))
    sprite[face == 1] = skin[face == 1]
    hair = np.zeros_like(mask)
    cv2.ellipse(hair, (cx, cy - 45), (70, 48), 0, 180, 360, 1, -1)
    strands = 40 + 25 * np.sin(np.arange(width) / 1.7)[None, :] + rng.normal(0, 8, (height, 1))
    sprite[hair == 1] = np.repeat(strands[:, :, None], 3, axis=2)[hair == 1] * (0.8, 0.9, 1.2)
    mask |= face | hair
    return sprite, mask


def talking_head(seconds: float, fps: int, noise: float) -> Iterator[Array]:
    """BGR frames at 640x360: the room, a person talking in it, sensor noise on top."""
    width, height = 640, 360
    rng = np.random.default_rng(12)
    room = _room(width, height, rng)
    sprite, mask = _person(rng)
    for index in range(int(seconds * fps)):
        t = index / fps
        frame = room.copy()
        sway_x = 4 * math.sin(2 * math.pi * 0.23 * t) + 2 * math.sin(2 * math.pi * 0.71 * t)
        sway_y = 2 * math.sin(2 * math.pi * 0.31 * t)
        left, top = int(0.42 * width - 160 + sway_x), int(0.45 * height - 110 + sway_y)
        rows = slice(top, min(top + sprite.shape[0], height))
        cols = slice(left, left + sprite.shape[1])
        fit = (rows.stop - rows.start, sprite.shape[1])
        region = frame[rows, cols]
        region[mask[: fit[0]] == 1] = sprite[: fit[0]][mask[: fit[0]] == 1]
        cx, cy = left + 160, top + 110
        blink = (t % 3.7) < 0.15
        for side in (-1, 1):
            eye = (cx + side * 24, cy - 10)
            cv2.ellipse(frame, eye, (10, 1 if blink else 5), 0, 0, 360, (40, 30, 30), -1)
        speech = max(0.0, math.sin(2 * math.pi * 3.1 * t) * math.sin(2 * math.pi * 0.4 * t))
        cv2.ellipse(frame, (cx, cy + 40), (18, 2 + int(9 * speech)), 0, 0, 360, (60, 60, 140), -1)
        frame += rng.normal(0, noise, frame.shape).astype(np.float32)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def _ssim(a: Array, b: Array) -> float:
    """Mean SSIM of two luma planes (Wang et al. 2004: 11x11 Gaussian, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(image: Array) -> Array:
        return cv2.GaussianBlur(image, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(index.mean())


def _psnr(a: Array, b: Array) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def measure(
    rung: VideoProfile, target_kbps: int, frames: Sequence[Array], qmin: int = MIN_QUANTIZER
) -> Quality:
    """Encode `frames` (already at the rung's size) at the target, decode, compare."""
    encoder, decoder = TunedVp8Encoder(min_quantizer=qmin), Vp8Decoder()
    set_vp8_target(encoder, target_kbps * 1000)
    settle = int(SETTLE_S * rung.fps)
    sent_bytes, psnrs, ssims = 0, [], []
    for index, bgr in enumerate(frames):
        frame = VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts, frame.time_base = index, Fraction(1, rung.fps)
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(vp8_depayload(p) for p in payloads)
        decoded = decoder.decode(JitterFrame(data, timestamp))
        if index < settle or not decoded:
            continue
        sent_bytes += sum(len(p) + 12 for p in payloads)  # RTP header: what the wire carries
        source = frame.reformat(format="yuv420p").to_ndarray()[: rung.height]
        last = decoded[-1]
        assert isinstance(last, VideoFrame)
        picture = last.reformat(format="yuv420p").to_ndarray()[: rung.height]
        psnrs.append(_psnr(source, picture))
        ssims.append(_ssim(source, picture))
    seconds = (len(frames) - settle) / rung.fps
    return Quality(
        target_kbps=target_kbps,
        sent_kbps=8 * sent_bytes / seconds / 1000,
        psnr_db=float(np.mean(psnrs)),
        ssim=float(np.mean(ssims)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="scene length per figure")
    parser.add_argument("--noise", type=float, default=2.5, help="sensor noise, grey levels (sd)")
    args = parser.parse_args(argv)
    print(f"talking head, {args.seconds:.0f} s per figure, sensor noise sd {args.noise}")
    for rung in LADDER:
        source = list(talking_head(args.seconds, rung.fps, args.noise))
        frames = [cv2.resize(f, rung.size, interpolation=cv2.INTER_AREA) for f in source]
        cap = RUNG_CAPS_KBPS[str(rung)]
        print(f"\n{rung} (cap now {cap:.0f} kbit/s), quantizer floor {MIN_QUANTIZER}")
        print(f"{'target':>8} {'sent':>8} {'PSNR dB':>8} {'SSIM':>7}")
        for target in TARGETS_KBPS:
            q = measure(rung, target, frames)
            print(f"{q.target_kbps:>8} {q.sent_kbps:>8.0f} {q.psnr_db:>8.2f} {q.ssim:>7.4f}")
    scenes = {"talking head": args.noise, "the same, no sensor noise": 0.0}
    for scene, noise in scenes.items():
        print(f"\n{scene}, each rung at its cap: quantizer floor (aiortc: 2)")
        print(f"{'rung':>11} {'cap':>5} {'qmin':>5} {'sent':>6} {'PSNR dB':>8} {'SSIM':>7}")
        source = list(talking_head(args.seconds, LADDER[0].fps, noise))
        for rung in LADDER:
            frames = [
                cv2.resize(f, rung.size, interpolation=cv2.INTER_AREA)
                for f in source[:: LADDER[0].fps // rung.fps]
            ]
            cap = int(RUNG_CAPS_KBPS[str(rung)])
            for qmin in QMINS:
                q = measure(rung, cap, frames, qmin)
                print(
                    f"{rung!s:>11} {cap:>5} {qmin:>5} {q.sent_kbps:>6.0f} "
                    f"{q.psnr_db:>8.2f} {q.ssim:>7.4f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
