"""CPU and peak memory of the desktop app in a three-party call (offscreen Qt).

This process is the app: the main window on the call page, a fake camera (640x360, 15 fps) and
a fake microphone, remote video decoded, scaled and drawn. The two other participants are
`python -m app join --headless` subprocesses (test pattern and tone, 640x360 at 15 fps). The
session server is the embedded one, in this process as in practice mode. Only this process is
measured: CPU from getrusage (all threads) over the measured window, peak RSS from VmHWM.

    .venv/bin/python benchmarks/desktop_call.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from app.checks.result import VerdictSummary  # noqa: E402
from app.devices.base import DeviceInfo  # noqa: E402
from app.devices.fakes import FakeCamera, FakeMicrophone  # noqa: E402
from app.practice import headless_command  # noqa: E402
from app.profile import ClinicProfile  # noqa: E402
from app.server.config import ServerConfig  # noqa: E402
from app.server.embedded import EmbeddedServer  # noqa: E402
from app.server.tokens import mint_token  # noqa: E402
from app.ui.bridge import Bridge  # noqa: E402
from app.ui.main import make_application  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402

TARGET_CPU_PCT = 60.0
TARGET_RSS_MB = 350.0
ROOM = "bench-desktop"


class BenchDevices:
    """Fake devices: this machine has no camera or sound card."""

    def list_cameras(self) -> list[DeviceInfo]:
        return [DeviceInfo("0", "Fake camera")]

    def list_microphones(self) -> list[DeviceInfo]:
        return [DeviceInfo("1", "Fake microphone")]

    def list_speakers(self) -> list[DeviceInfo]:
        return []

    def camera(self, device_id: str | None) -> FakeCamera:
        return FakeCamera(size=(640, 360), fps=15)

    def microphone(self, device_id: str | None) -> FakeMicrophone:
        return FakeMicrophone()


def no_check(*_: object) -> VerdictSummary:
    raise RuntimeError("the benchmark runs no equipment check")


def proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_events_until(predicate: object, timeout_s: float) -> bool:
    """Run the Qt event loop until predicate() is true (checked every 50 ms) or timeout."""
    assert callable(predicate)
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.setInterval(50)

    def check() -> None:
        if predicate() or time.monotonic() >= deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    return bool(predicate())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    app = make_application()
    server = EmbeddedServer(ServerConfig.for_practice())
    server.start()
    secret = server.config.secret
    peers = [
        subprocess.Popen(
            [*headless_command(server.url), "--token", mint_token(secret, ROOM, role, name, 600)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, name in (("therapist", "Dr. Rivera"), ("partner", "Alex"))
    ]
    bridge = Bridge()
    profile = replace(ClinicProfile(clinic_name="Benchmark"), server_url=server.url)
    window = MainWindow(profile, bridge, BenchDevices(), no_check)  # type: ignore[arg-type]
    window.resize(1100, 860)
    window.show()
    page = window.call_page
    try:
        pickers = (window.preflight.camera_picker, window.preflight.mic_picker)
        run_events_until(lambda: all(p.has_device for p in pickers), 10.0)
        window.join_session(token=mint_token(secret, ROOM, "partner", "Sam", 600))
        tiles_drawing = run_events_until(
            lambda: len(page.tiles) == 2 and all(t.frames_drawn > 0 for t in page.tiles.values()),
            60.0,
        )
        if not tiles_drawing:
            print("the call did not start: two remote tiles drawing video expected")
            return 1
        drawn_before = {pid: t.frames_drawn for pid, t in page.tiles.items()}
        own_before = page.self_view.frames_drawn
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        run_events_until(lambda: time.monotonic() - wall0 >= args.seconds, args.seconds + 5)
        cpu1, wall1 = cpu_seconds(), time.monotonic()
        wall = wall1 - wall0
        cpu_pct = 100.0 * (cpu1 - cpu0) / wall
        peak_mb = proc_status_kb("VmHWM") / 1024
        rss_mb = proc_status_kb("VmRSS") / 1024
        fps = [(t.frames_drawn - drawn_before.get(pid, 0)) / wall for pid, t in page.tiles.items()]
        own_fps = (page.self_view.frames_drawn - own_before) / wall
        print(f"desktop app, 3-party call, 640x360 @ 15 fps, {wall:.1f} s measured (offscreen)")
        print(f"{'measure':<34}{'value':>10}{'target':>10}")
        print("-" * 54)
        print(f"{'CPU, % of one core':<34}{cpu_pct:>10.1f}{TARGET_CPU_PCT:>10.0f}")
        print(f"{'peak RSS (VmHWM), MB':<34}{peak_mb:>10.1f}{TARGET_RSS_MB:>10.0f}")
        print(f"{'RSS at the end, MB':<34}{rss_mb:>10.1f}{'':>10}")
        for index, value in enumerate(fps, 1):
            print(f"{f'remote video {index}, frames drawn/s':<34}{value:>10.1f}{'':>10}")
        print(f"{'self view, frames drawn/s':<34}{own_fps:>10.1f}{'':>10}")
        ok = cpu_pct <= TARGET_CPU_PCT and peak_mb <= TARGET_RSS_MB
        print("within targets" if ok else "OVER TARGET")
        return 0 if ok else 2
    finally:
        window.shutdown()
        bridge.close()
        for peer in peers:
            peer.terminate()
        for peer in peers:
            try:
                peer.wait(10)
            except subprocess.TimeoutExpired:
                peer.kill()
        server.stop()
        del app


if __name__ == "__main__":
    sys.exit(main())
