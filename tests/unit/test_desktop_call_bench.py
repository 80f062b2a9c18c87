"""The desktop-call benchmark's pieces: its camera clip through the real capture path, its
clocked speaker, the browser side's getStats arithmetic, and the /proc readings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from browser_side import Sent, median_sent, received_fps, sent_per_peer  # noqa: E402
from call_media import ClockedSpeaker, talking_head_frames, write_y4m  # noqa: E402
from proc_usage import TreeUsage, cpu_seconds, find_process, pss_kb, tree  # noqa: E402

from app.devices.camera import OpenCVCamera  # noqa: E402


def test_clip_frames_move_and_have_the_size_asked() -> None:
    frames = talking_head_frames(size=(160, 90), fps=10, seconds=1.0)
    assert len(frames) == 10
    assert all(f.shape == (90, 160, 3) and f.dtype == np.uint8 for f in frames)
    for a, b in zip(frames, frames[1:], strict=False):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0  # moving, not one picture


def test_clip_plays_through_opencv_capture_path_and_loops(tmp_path: Path) -> None:
    frames = talking_head_frames(size=(160, 90), fps=30, seconds=0.1)  # 3 frames
    clip = write_y4m(tmp_path / "clip.y4m", frames, fps=30)
    camera = OpenCVCamera(str(clip))
    camera.open(timeout=5.0)
    try:
        assert camera.size == (160, 90) and camera.fps == 30
        read = [camera.read(timeout=2.0) for _ in range(5)]
    finally:
        camera.close()
    # I420 keeps colour at quarter resolution: near, not equal, to what was written.
    for index, frame in enumerate(read):
        assert np.abs(frame.astype(int) - frames[index % 3].astype(int)).mean() < 6.0
    assert np.abs(read[0].astype(int) - read[1].astype(int)).mean() > 1.0


def test_clocked_speaker_plays_what_it_is_given() -> None:
    speaker = ClockedSpeaker()
    heard = threading.Event()

    def on_played(block: np.ndarray) -> None:
        if float(np.abs(block).max()) > 0.4:
            heard.set()

    stream = speaker.start_stream(on_played)
    try:
        stream.write(np.full(960, 0.5, np.float32))
        assert heard.wait(timeout=5.0)
    finally:
        stream.stop()
    assert speaker.samples_played >= 960


def _conn(index: int, transport: int, video: int, frames: int, decoded: int) -> dict[str, object]:
    entry = {"frameWidth": 0, "frameHeight": 0, "framesSent": 0, "framesDecoded": 0}
    return {
        "index": index,
        "entries": [
            {**entry, "type": "transport", "kind": None, "bytesSent": transport},
            {**entry, "type": "outbound-rtp", "kind": "audio", "bytesSent": 1000},
            {
                **entry,
                "type": "outbound-rtp",
                "kind": "video",
                "bytesSent": video,
                "frameWidth": 640,
                "frameHeight": 360,
                "framesSent": frames,
            },
            {
                **entry,
                "type": "inbound-rtp",
                "kind": "video",
                "bytesSent": 0,
                "framesDecoded": decoded,
            },
        ],
    }


def test_browser_sent_figures_are_rates_between_two_samples() -> None:
    before = [_conn(0, 10_000, 5_000, 100, 90)]
    # Connection 1 appeared in between: it has no window, so it is left out.
    after = [_conn(0, 260_000, 205_000, 250, 240), _conn(1, 1, 1, 1, 1)]
    (sent,) = sent_per_peer(before, after, seconds=10.0)
    assert (sent.width, sent.height) == (640, 360)
    assert sent.fps == 15.0
    assert sent.video_kbps == 160.0  # 200 kB in 10 s
    assert sent.total_kbps == 200.0
    assert received_fps(before, after, 10.0) == [15.0]


def test_median_sent_takes_the_common_size_and_median_rates() -> None:
    figures = [
        Sent(640, 360, 15.0, None, 300.0),
        Sent(640, 360, 14.0, None, 500.0),
        Sent(480, 270, 15.0, None, 100.0),
    ]
    assert median_sent(figures) == Sent(640, 360, 15.0, None, 300.0)
    assert median_sent([]) is None


def test_proc_readings_of_a_process_tree() -> None:
    marker = f"bench-marker-{os.getpid()}"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()", marker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Once it has printed, the child runs the new program: until its exec, a freshly
        # forked child still shows this process's command line, which CI once caught.
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        assert find_process(marker) == child.pid
        assert child.pid in tree(os.getpid())
        assert pss_kb(child.pid) > 0
        usage = TreeUsage(os.getpid())
        usage.start(now=0.0)
        sum(range(200_000))  # some CPU for this process
        cpu_pct, pss = usage.stop(now=1.0)
        assert cpu_pct >= 0 and pss > pss_kb(child.pid)
        assert usage.processes >= 2
    finally:
        child.kill()
        child.wait(timeout=5)
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        child.stdout.close()
    assert cpu_seconds(child.pid) is None and pss_kb(child.pid) == 0
