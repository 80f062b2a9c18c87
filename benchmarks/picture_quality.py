"""Picture quality of each video rung at a range of bitrate caps: what a cap costs the picture.

Issue 12 asks that a quiet talking-head picture not be sent at 1.4 Mbit/s: each rung's cap
(app.call.media_mode.RUNG_CAPS_KBPS) should be what the picture needs, chosen from measured
quality. This encodes a talking-head scene with the app's encoder (app.call.vp8_settings: aiortc's
rate control, realtime, cpu-used -6, denoiser, quantizer floor 12) at each target, written past
aiortc's 250 kbit/s floor exactly as app.call.bitrate_caps does, depacketizes and decodes it
with aiortc's Vp8Decoder, and compares each decoded picture with the one that was encoded:
PSNR and SSIM of luma, and the bitrate the encoder really produced.

The scene is the talking-head clip `desktop_call.py` sends, Chromium's camera included
(benchmarks/call_media.py; this machine has no camera and no video of a person): a textured room,
a head and shoulders swaying, a mouth opening and shutting, and fresh sensor noise on every frame
as a webcam in a living room has (the noise is what costs a still picture its bits), and the
same without noise. It is made at 640x360 and scaled to each rung's size, as the app scales the
camera.

    .venv/bin/python benchmarks/picture_quality.py [--seconds 8] [--noise 2.0]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
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
from call_media import talking_head_frames  # noqa: E402
from vp8_encoder import psnr  # noqa: E402

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
        psnrs.append(psnr(source, picture))
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
    parser.add_argument("--seconds", type=float, default=8.0, help="scene length per figure")
    parser.add_argument("--noise", type=float, default=2.0, help="sensor noise, grey levels (sd)")
    args = parser.parse_args(argv)
    print(f"talking head, {args.seconds:.0f} s per figure, sensor noise sd {args.noise}")
    for rung in LADDER:
        source = talking_head_frames(fps=rung.fps, seconds=args.seconds, noise=args.noise)
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
        source = talking_head_frames(fps=LADDER[0].fps, seconds=args.seconds, noise=noise)
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
