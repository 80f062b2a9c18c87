"""What a VP8 encode costs per frame, and what it gives, for libvpx's speed and thread settings.

A moving picture (a textured scene panning under the camera, a head-sized shape that moves, a
little sensor noise) is encoded at 15 fps the way aiortc's encoder does (app.call.vp8_settings:
the same CBR rate control), once per setting, and the result decoded again:

    .venv/bin/python benchmarks/vp8_encoder.py [--seconds 10] [--part settings|pipeline|all]

`settings`: at 640x360 and the top rung's target, each cpu-used value with 1 and 2 threads:
CPU ms per frame (getrusage, all threads), wall ms per frame (mean and 95th percentile), the
bitrate against the rung's cap and the PSNR of the decoded luma; then the chosen setting at each
rung's size and target.

`pipeline`: two peers' senders reading one local track through aiortc's MediaRelay as the app
does (latest frame only), each encoding in aiortc's executor: separate encoders (aiortc's way)
against one shared encode (app.call.shared_encoder). Reported: CPU % of one core, frames each
sender sent, and how old a frame is when its encode is done (capture to payloads). Then the same
with a relay that queues every frame (`buffered=True`) under an overload (30 fps, a slow setting)
to show what a queue would do to latency.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiortc.contrib.media import MediaRelay  # noqa: E402
from aiortc.mediastreams import MediaStreamTrack  # noqa: E402

from app.call.bitrate_caps import CAP_HEADROOM, set_vp8_target  # noqa: E402
from app.call.media_mode import RUNG_CAPS_KBPS  # noqa: E402
from app.call.shared_encoder import SharedVideoEncoder, frame_time  # noqa: E402
from app.call.vp8_settings import CPU_USED, TunedVp8Encoder  # noqa: E402

FPS = 15
CLOCK = 90_000
# Fixed speeds (a positive value lets libvpx pick its speed); -6 is aiortc's.
SPEEDS = (-4, -6, -8, -10, -12, -16)
RUNGS = (
    ("640x360@15", 640, 360, 15),
    ("480x270@15", 480, 270, 15),
    ("320x180@15", 320, 180, 15),
    ("320x180@10", 320, 180, 10),
)


def scene(width: int, height: int, count: int, fps: int) -> list[np.ndarray]:
    """`count` BGR frames of a moving picture: a textured wall panning slowly (a hand-held
    laptop), a face-sized ellipse swaying in front, fine sensor noise on top."""
    rng = np.random.default_rng(7)
    big_w, big_h = width * 2, height * 2
    wall = np.zeros((big_h, big_w, 3), np.float32)
    for scale in (4, 16, 64):  # texture at three scales
        noise = rng.random((big_h // scale + 2, big_w // scale + 2, 3)).astype(np.float32)
        wall += cv2.resize(noise, (big_w, big_h), interpolation=cv2.INTER_CUBIC) * 70
    for i in range(0, big_w, 97):  # shelves and frames: hard edges
        cv2.rectangle(wall, (i, 40 + i % 130), (i + 60, 120 + i % 170), (30, 60, 200), 3)
    frames = []
    for n in range(count):
        t = n / fps
        x = int((big_w - width) * (0.5 + 0.5 * math.sin(t * 0.4)))
        y = int((big_h - height) * (0.5 + 0.5 * math.sin(t * 0.3)))
        image = wall[y : y + height, x : x + width].copy()
        cx = int(width * (0.5 + 0.1 * math.sin(t * 1.3)))
        cy = int(height * (0.55 + 0.05 * math.sin(t * 2.1)))
        axes = (width // 8, height // 4)
        cv2.ellipse(image, (cx, cy), axes, 0, 0, 360, (120, 150, 200), -1)
        cv2.circle(image, (cx - axes[0] // 3, cy - axes[1] // 4), 6, (20, 20, 20), -1)
        cv2.circle(image, (cx + axes[0] // 3, cy - axes[1] // 4), 6, (20, 20, 20), -1)
        image += rng.normal(0, 2.0, image.shape).astype(np.float32)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return frames


def video_frames(images: Sequence[np.ndarray], fps: int) -> list[av.VideoFrame]:
    out = []
    for n, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = n * CLOCK // fps
        frame.time_base = Fraction(1, CLOCK)
        out.append(frame)
    return out


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def run_setting(
    frames: Sequence[av.VideoFrame],
    fps: int,
    cap_kbps: float,
    cpu_used: int,
    threads: int | None,
) -> dict[str, float]:
    encoder = TunedVp8Encoder(cpu_used=cpu_used, threads=threads)
    set_vp8_target(encoder, int(cap_kbps * 1000 * CAP_HEADROOM))
    decoder = av.CodecContext.create("libvpx", "r")
    walls, sizes, scores = [], [], []
    cpu = 0.0
    for frame in frames:
        start_cpu, start = cpu_s(), time.perf_counter()
        payloads, _ = encoder.encode(frame)
        walls.append(time.perf_counter() - start)
        cpu += cpu_s() - start_cpu
        data = b"".join(p[4:] if p[0] & 0x80 else p[1:] for p in payloads)  # strip descriptor
        sizes.append(len(data) + 12 * len(payloads))  # RTP headers, as on the wire
        for decoded in decoder.decode(av.Packet(data)):
            luma = decoded.to_ndarray(format="gray")
            scores.append(psnr(luma, frame.to_ndarray(format="gray")))
    seconds = len(frames) / fps
    walls_ms = sorted(w * 1000 for w in walls[1:])  # the first opens the context
    return {
        "cpu_ms": cpu * 1000 / len(frames),
        "wall_ms": statistics.mean(walls_ms),
        "wall_p95_ms": walls_ms[int(len(walls_ms) * 0.95)],
        "kbps": sum(sizes) * 8 / seconds / 1000,
        "psnr": statistics.mean(scores),
    }


def part_settings(seconds: float) -> None:
    count = int(seconds * FPS)
    frames = video_frames(scene(640, 360, count, FPS), FPS)
    cap = RUNG_CAPS_KBPS["640x360@15"]
    print(f"640x360 @ {FPS} fps, {count} frames, target {cap * CAP_HEADROOM:.0f} kbit/s")
    print(f"(cap {cap:.0f}); CPU and wall per frame; PSNR of the decoded luma")
    header = f"{'cpu-used':>8} {'threads':>7} {'CPU ms':>7} {'wall ms':>8} {'p95 ms':>7}"
    print(header + f" {'kbit/s':>7} {'PSNR dB':>8}")
    print("-" * (len(header) + 17))
    for cpu_used in SPEEDS:
        for threads in (1, 2):
            r = run_setting(frames, FPS, cap, cpu_used, threads)
            print(
                f"{cpu_used:>8} {threads:>7} {r['cpu_ms']:>7.2f} {r['wall_ms']:>8.2f}"
                f" {r['wall_p95_ms']:>7.2f} {r['kbps']:>7.0f} {r['psnr']:>8.2f}"
            )
    print(f"\nchosen (cpu-used {CPU_USED}, aiortc's threads: 1 here) at each rung:")
    print(f"{'rung':>11} {'cap':>5} {'CPU ms':>7} {'wall ms':>8} {'kbit/s':>7} {'PSNR dB':>8}")
    for name, width, height, fps in RUNGS:
        rung_frames = video_frames(scene(width, height, int(seconds * fps), fps), fps)
        cap = RUNG_CAPS_KBPS[name]
        r = run_setting(rung_frames, fps, cap, CPU_USED, None)
        print(
            f"{name:>11} {cap:>5.0f} {r['cpu_ms']:>7.2f} {r['wall_ms']:>8.2f}"
            f" {r['kbps']:>7.0f} {r['psnr']:>8.2f}"
        )


def ms(frame: av.VideoFrame) -> int:
    return round(float(frame_time(frame)) * 1000)


class PacedTrack(MediaStreamTrack):
    """Prepared frames at `fps` on the wall clock, stamped with when each was made."""

    kind = "video"

    def __init__(self, frames: Sequence[av.VideoFrame], fps: int) -> None:
        super().__init__()
        self._frames = frames
        self._fps = fps
        self._n = 0
        self._start: float | None = None
        self.made: dict[int, float] = {}  # frame time (ms) -> when it left the track

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        source = self._frames[self._n % len(self._frames)]
        frame = av.VideoFrame.from_ndarray(source.to_ndarray(), format="yuv420p")
        frame.pts = self._n * CLOCK // self._fps
        frame.time_base = Fraction(1, CLOCK)
        self.made[ms(frame)] = time.monotonic()
        self._n += 1
        return frame


async def sender_loop(
    track: MediaStreamTrack, encode: Callable[..., Any], ages: list[float], made: dict[int, float]
) -> None:
    """aiortc's RTCRtpSender loop, the part that costs: recv, encode in the executor."""
    loop = asyncio.get_running_loop()
    while True:
        frame = await track.recv()
        assert isinstance(frame, av.VideoFrame)
        key = ms(frame)  # an encode rebases the pts in place, not the time
        payloads, _ = await loop.run_in_executor(None, encode, frame, False)
        if payloads:
            ages.append(time.monotonic() - made[key])


async def run_pipeline(
    frames: Sequence[av.VideoFrame],
    fps: int,
    seconds: float,
    shared: bool,
    buffered: bool,
    cpu_used: int,
) -> dict[str, float]:
    source = PacedTrack(frames, fps)
    relay = MediaRelay()
    if shared:
        common = SharedVideoEncoder(lambda: TunedVp8Encoder(cpu_used=cpu_used))
        encoders: list[Any] = [common.port(), common.port()]
    else:
        encoders = [TunedVp8Encoder(cpu_used=cpu_used), TunedVp8Encoder(cpu_used=cpu_used)]
    for encoder in encoders:
        set_vp8_target(encoder, 540_000)
    ages: list[list[float]] = [[], []]
    tracks = [relay.subscribe(source, buffered=buffered) for _ in encoders]
    start_cpu, start = cpu_s(), time.monotonic()
    tasks = [
        asyncio.ensure_future(sender_loop(t, e.encode, a, source.made))
        for t, e, a in zip(tracks, encoders, ages, strict=True)
    ]
    await asyncio.sleep(seconds)
    used = cpu_s() - start_cpu
    elapsed = time.monotonic() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for track in tracks:
        track.stop()
    source.stop()
    every = sorted(a * 1000 for sender in ages for a in sender)
    return {
        "cpu_pct": 100 * used / elapsed,
        "offered": source._n,
        "sent_a": len(ages[0]),
        "sent_b": len(ages[1]),
        "age_ms": statistics.median(every),
        "age_p95_ms": every[int(len(every) * 0.95)],
        "age_max_ms": every[-1],
    }


def part_pipeline(seconds: float) -> None:
    frames = video_frames(scene(640, 360, 60, FPS), FPS)
    big = video_frames(scene(1280, 720, 30, 30), 30)
    cases = [
        ("separate encoders", frames, FPS, False, False, CPU_USED),
        ("one shared encode", frames, FPS, True, False, CPU_USED),
        ("overload, latest frame", big, 30, True, False, -2),
        ("overload, queue", big, 30, True, True, -2),
    ]
    print(f"two senders, one track, {seconds:.0f} s each; age = capture to payloads")
    print(
        f"{'case':<24} {'CPU %':>6} {'offered':>7} {'sent':>9} {'age ms':>7} {'p95':>6} {'max':>7}"
    )
    print("-" * 72)
    for name, case_frames, fps, shared, buffered, speed in cases:
        r = asyncio.run(run_pipeline(case_frames, fps, seconds, shared, buffered, speed))
        sent = f"{r['sent_a']:.0f}/{r['sent_b']:.0f}"
        print(
            f"{name:<24} {r['cpu_pct']:>6.1f} {r['offered']:>7.0f} {sent:>9}"
            f" {r['age_ms']:>7.1f} {r['age_p95_ms']:>6.1f} {r['age_max_ms']:>7.1f}"
        )
    print("(overload: 1280x720 at 30 fps, cpu-used -2: more than this machine encodes live)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="picture length per run")
    parser.add_argument("--part", choices=("settings", "pipeline", "all"), default="all")
    args = parser.parse_args()
    if args.seconds < 2:
        parser.error("--seconds must be at least 2")
    if args.part in ("settings", "all"):
        part_settings(args.seconds)
    if args.part in ("pipeline", "all"):
        print()
        part_pipeline(args.seconds)


if __name__ == "__main__":
    main()
