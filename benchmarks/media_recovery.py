"""Picture recovery, retransmissions and bitrate caps of aiortc video, stock vs tuned.

Two real aiortc connections on loopback in one process (tests/lab/rtp_pair.py); the fault sits on
the sending side's DTLS transport (plaintext RTP, so bytes are counted per stream). Not the
namespace lab: no kernel queue, no delay; what is measured is aiortc's own behaviour.

- blackout: everything dropped both ways for N s. "first" is restore -> first decoded frame;
  "current" is restore -> first frame less than 0.3 s behind live (staleness measured against
  the frames before the fault); "fps" is frames decoded in the 2 s after the first one.
- policer: the sender's link policed to 300 kbit/s for 10 s (a 0.2 s bucket, excess dropped):
  kbit/s offered per stream (video, rtx) during it, then restore -> current frame after it.
- loss: 15 % of the sender's packets dropped at random for 10 s (noise picture, 640x360@15, the
  tuned side capped at 600 kbit/s): frames decoded per second and rtx kbit/s during it, then
  restore -> current frame after it.
- caps: a noise picture at each rung's size and rate, encoder capped; kbit/s of video payload
  measured over 6 s after a 2 s settle (RTP headers included, not SRTP's 10-byte tag).
- gate: VideoGate paused for 3 s: video bytes while paused, resume -> first decoded frame.
(--only takes any of blackout, policer, loss, caps, gate; all by default.)

    .venv/bin/python -m benchmarks.media_recovery [--runs 3] [--only blackout,loss,caps]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.call.bitrate_caps import BitrateCap  # noqa: E402
from app.call.media_mode import AUDIO_ONLY_RUNG, RUNG_CAPS_KBPS  # noqa: E402
from app.call.send_tuning import VideoGate  # noqa: E402
from app.call.video_tracks import PatternVideoTrack  # noqa: E402
from tests.lab.rtp_pair import NoiseVideoTrack, VideoPair  # noqa: E402

LIVE_S = 0.3
RUNG_SIZES = {"640x360@15": ((640, 360), 15), "480x270@15": ((480, 270), 15)}
RUNG_SIZES |= {"320x180@15": ((320, 180), 15), "320x180@10": ((320, 180), 10)}


def staleness(pair: VideoPair, index: int, base: float) -> float:
    t, pts = pair.frames[index]
    return (t - pts / 90_000) - base


def live_base(pair: VideoPair, upto: int) -> float:
    return statistics.median(t - pts / 90_000 for t, pts in pair.frames[max(0, upto - 10) : upto])


async def recovery(pair: VideoPair, restored_at: float, n: int, base: float) -> tuple[float, float]:
    await pair.frames_after(1, n)
    first = pair.frames[n][0] - restored_at
    deadline = time.monotonic() + 15
    index = n
    while time.monotonic() < deadline:
        while index < len(pair.frames):
            if staleness(pair, index, base) < LIVE_S:
                return first, pair.frames[index][0] - restored_at
            index += 1
        await asyncio.sleep(0.05)
    return first, float("nan")


async def blackout(tuned: bool, seconds: float) -> tuple[float, float, int]:
    pair = VideoPair(PatternVideoTrack((640, 360), 15), tuned=tuned)
    await pair.start()
    try:
        await pair.frames_after(30, 0)
        base = live_base(pair, len(pair.frames))
        pair.blackout(True)
        await asyncio.sleep(seconds)
        n = len(pair.frames)
        restored = time.monotonic()
        pair.blackout(False)
        first, current = await recovery(pair, restored, n, base)
        t1 = pair.frames[n][0]
        await asyncio.sleep(max(0.0, t1 + 2 - time.monotonic()))
        fps = sum(1 for t, _ in pair.frames[n:] if t - t1 < 2) // 2
        return first, current, fps
    finally:
        await pair.close()


async def policer(tuned: bool) -> tuple[float, float, float]:
    pair = VideoPair(PatternVideoTrack((640, 360), 15), tuned=tuned)
    await pair.start()
    try:
        await pair.frames_after(30, 0)
        assert pair.sender_fault is not None
        base = live_base(pair, len(pair.frames))
        before = dict(pair.sender_fault.offered)
        pair.sender_fault.rate_bps = 300_000
        await asyncio.sleep(10)
        offered = {
            k: (v - before.get(k, 0)) * 8 / 10 / 1000 for k, v in pair.sender_fault.offered.items()
        }
        n = len(pair.frames)
        restored = time.monotonic()
        pair.sender_fault.rate_bps = None
        _, current = await recovery(pair, restored, n, base)
        return offered.get("video", 0.0), offered.get("rtx", 0.0), current
    finally:
        await pair.close()


async def loss(tuned: bool) -> tuple[float, float, float]:
    pair = VideoPair(NoiseVideoTrack((640, 360), 15), tuned=tuned, cap=BitrateCap(600))
    await pair.start()
    try:
        await pair.frames_after(30, 0)
        assert pair.sender_fault is not None
        base = live_base(pair, len(pair.frames))
        before, shown = dict(pair.sender_fault.offered), len(pair.frames)
        pair.sender_fault.loss = 0.15
        await asyncio.sleep(10)
        rtx = (pair.sender_fault.offered["rtx"] - before.get("rtx", 0)) * 8 / 10 / 1000
        fps = (len(pair.frames) - shown) / 10
        n = len(pair.frames)
        restored = time.monotonic()
        pair.sender_fault.loss = 0.0
        _, current = await recovery(pair, restored, n, base)
        return fps, rtx, current
    finally:
        await pair.close()


async def capped(rung: str) -> float:
    size, fps = RUNG_SIZES[rung]
    pair = VideoPair(NoiseVideoTrack(size, fps), cap=BitrateCap(RUNG_CAPS_KBPS[rung]))
    await pair.start()
    try:
        await pair.frames_after(fps * 2, 0)
        assert pair.sender_fault is not None
        start = pair.sender_fault.offered["video"]
        await asyncio.sleep(6)
        return (pair.sender_fault.offered["video"] - start) * 8 / 6 / 1000
    finally:
        await pair.close()


async def gate() -> tuple[float, float]:
    pair = VideoPair(PatternVideoTrack((640, 360), 15))
    await pair.start()
    try:
        await pair.frames_after(30, 0)
        assert pair.sender_fault is not None and pair.video_sender is not None
        video_gate = VideoGate(pair.video_sender)
        video_gate.pause()
        await asyncio.sleep(0.5)  # the frame being encoded when paused still leaves
        start = pair.sender_fault.offered["video"]
        await asyncio.sleep(3)
        paused_kbps = (pair.sender_fault.offered["video"] - start) * 8 / 3 / 1000
        n = len(pair.frames)
        resumed = time.monotonic()
        video_gate.resume()
        await pair.frames_after(1, n)
        return paused_kbps, pair.frames[n][0] - resumed
    finally:
        await pair.close()


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return "/".join(fmt.format(v) for v in values)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="blackout,policer,loss,caps,gate")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "blackout" in parts:
        print("blackout   mode   first s (runs)     current s          fps after")
        for seconds in (2.0, 5.0):
            for tuned in (False, True):
                outs = [await blackout(tuned, seconds) for _ in range(args.runs)]
                print(
                    f"{seconds:.0f} s        {'tuned' if tuned else 'stock'}  "
                    f"{spread([r[0] for r in outs]):18} {spread([r[1] for r in outs]):18} "
                    f"{spread([r[2] for r in outs], '{:.0f}')}"
                )
    if "policer" in parts:
        print("policer 300 kbit/s  mode   video kbit/s  rtx kbit/s   current s after")
        for tuned in (False, True):
            policed = [await policer(tuned) for _ in range(args.runs)]
            print(
                f"                   {'tuned' if tuned else 'stock'}  "
                f"{spread([r[0] for r in policed], '{:.0f}'):13} "
                f"{spread([r[1] for r in policed], '{:.0f}'):12} "
                f"{spread([r[2] for r in policed])}"
            )
    if "loss" in parts:
        print("loss 15 % one way   mode   fps during    rtx kbit/s   current s after")
        for tuned in (False, True):
            lossy = [await loss(tuned) for _ in range(args.runs)]
            print(
                f"                   {'tuned' if tuned else 'stock'}  "
                f"{spread([r[0] for r in lossy], '{:.0f}'):13} "
                f"{spread([r[1] for r in lossy], '{:.0f}'):12} "
                f"{spread([r[2] for r in lossy])}"
            )
    if "caps" in parts:
        print("rung         cap kbit/s  sent kbit/s (runs)  worst/cap")
        for rung, cap in ((r, c) for r, c in RUNG_CAPS_KBPS.items() if r != AUDIO_ONLY_RUNG):
            sent = [await capped(rung) for _ in range(args.runs)]
            print(f"{rung:12} {cap:10.0f}  {spread(sent, '{:.0f}'):19} {max(sent) / cap:.2f}")
    if "gate" in parts:
        gated = [await gate() for _ in range(args.runs)]
        print(
            f"gate: video kbit/s while paused {spread([r[0] for r in gated], '{:.1f}')}, "
            f"resume -> first frame s {spread([r[1] for r in gated])}"
        )


if __name__ == "__main__":
    asyncio.run(main())
