"""CPU and memory of the desktop app in a three-party call, alone or beside headless Chromium.

The app (offscreen Qt): the main window on the call page, a camera and a speaker that cost what
real ones do (benchmarks/call_media.py: a generated talking-head clip through OpenCV's capture
path, and PortAudio on a PulseAudio null sink when there is PulseAudio), a fake microphone, both
remote videos decoded, scaled and drawn, plus the self view. The other participants (two, or one
with `--parties 2`) are `python -m app join --headless` subprocesses (test pattern and tone,
640x360 at 15 fps).

Alone (default): this process is the app, with the session server embedded as in practice mode;
CPU from getrusage (all threads) over the measured window, peak RSS from VmHWM, PSS at the end.

    .venv/bin/python benchmarks/desktop_call.py [--seconds 60] [--parties 2]

Side by side (`--compare-browser`): the server runs in this process, and each round either the
app (a child process: this script with --app-child) or Chromium on /console joins as the
therapist, app and browser alternating; each side is measured from outside through /proc (CPU
of its whole process tree, PSS summed over it) after a short warm-up, and what it sent each
peer is read from the app's stats or the browser's getStats().

    .venv/bin/python benchmarks/desktop_call.py --compare-browser [--rounds 3] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # its sibling modules, as the other benchmarks
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from browser_side import Sent  # noqa: E402
from call_media import ClockedSpeaker, talking_head_frames, write_y4m  # noqa: E402
from proc_usage import pss_kb  # noqa: E402

# Alone: the targets this benchmark has had since it was written.
TARGET_CPU_PCT = 60.0
TARGET_RSS_MB = 350.0
# Side by side (issue 12): the app cheaper than Chromium in the same call.
TARGET_CPU_VS_BROWSER = 0.9
TARGET_COMPARE_CPU_PCT = 50.0
TARGET_PSS_MB = 300.0
TARGET_BITRATE_VS_BROWSER = 1.5

ROOM = "bench-desktop"
TOKEN_ENV = "TANDEM_BENCH_TOKEN"
WARMUP_S = 5.0  # after both remote videos are drawn: ICE, the first keyframes, bitrate ramp
READY_TIMEOUT_S = 90.0
LINGER_S = 2.0
EXIT_TIMEOUT_S = 15.0


class BenchDevices:
    """The clip as the camera, a fake microphone, and the speaker chosen by `start_speaker`."""

    def __init__(self, clip: Path, speaker: str) -> None:
        self.clip = clip
        self.speaker_id = speaker

    def list_cameras(self) -> list[Any]:
        from app.devices.base import DeviceInfo

        return [DeviceInfo(str(self.clip), "Benchmark clip")]

    def list_microphones(self) -> list[Any]:
        from app.devices.base import DeviceInfo

        return [DeviceInfo("1", "Fake microphone")]

    def list_speakers(self) -> list[Any]:
        from app.devices.base import DeviceInfo

        return [DeviceInfo(self.speaker_id, f"Benchmark speaker ({self.speaker_id})")]

    def camera(self, device_id: str | None) -> Any:
        from app.devices.camera import OpenCVCamera

        return OpenCVCamera(str(self.clip))

    def microphone(self, device_id: str | None) -> Any:
        from app.devices.fakes import FakeMicrophone

        return FakeMicrophone()

    def speaker(self, device_id: str | None) -> Any:
        if device_id == "pulse":
            from app.devices.audio import SoundDeviceSpeaker

            return SoundDeviceSpeaker("pulse")
        return ClockedSpeaker()


@dataclass
class AppRun:
    """The app's own view of one measured window."""

    seconds: float
    cpu_pct: float
    peak_mb: float
    rss_mb: float
    pss_mb: float
    remote_fps: list[float]
    own_fps: float
    sent: list[Sent] = field(default_factory=list)
    alsa_messages: int = 0  # ALSA's lines the app hides, as `tandem gui` does: underruns


def proc_status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_events_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the Qt event loop until predicate() is true (checked every 50 ms) or timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

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


def run_app_call(
    server_url: str,
    token: str,
    devices: BenchDevices,
    seconds: float,
    warmup_s: float = 0.0,
    on_ready: Callable[[], None] | None = None,
    remote: int = 2,
) -> AppRun | None:
    """The window joins, waits for the `remote` videos, warms up, measures. None: no call."""
    from app.call.events import StatsReport
    from app.checks.result import VerdictSummary
    from app.devices import alsa_quiet
    from app.profile import ClinicProfile
    from app.ui.bridge import Bridge
    from app.ui.main_window import MainWindow

    def no_check(*_: object) -> VerdictSummary:
        raise RuntimeError("the benchmark runs no equipment check")

    alsa_quiet.quiet_alsa()  # as `tandem gui` does
    bridge = Bridge()
    profile = replace(ClinicProfile(clinic_name="Benchmark"), server_url=server_url)
    window = MainWindow(profile, bridge, devices, no_check)  # type: ignore[arg-type]
    window.resize(1100, 860)
    window.show()
    page = window.call_page
    reports: dict[str, list[Any]] = {}
    measuring = False

    def on_event(event: object) -> None:
        if measuring and isinstance(event, StatsReport):
            reports.setdefault(event.stats.peer_id, []).append(event.stats)

    bridge.call_event.connect(on_event)
    try:
        preflight = window.preflight
        pickers = (preflight.camera_picker, preflight.mic_picker, preflight.speaker_picker)
        run_events_until(lambda: all(p.has_device for p in pickers), 10.0)
        window.join_session(token=token)
        tiles_drawing = run_events_until(
            lambda: (
                len(page.tiles) == remote and all(t.frames_drawn > 0 for t in page.tiles.values())
            ),
            60.0,
        )
        if not tiles_drawing:
            return None
        if on_ready is not None:
            on_ready()
        start = time.monotonic()
        run_events_until(lambda: time.monotonic() - start >= warmup_s, warmup_s + 5)
        measuring = True
        drawn_before = {pid: t.frames_drawn for pid, t in page.tiles.items()}
        own_before = page.self_view.frames_drawn
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        run_events_until(lambda: time.monotonic() - wall0 >= seconds, seconds + 5)
        cpu1, wall1 = cpu_seconds(), time.monotonic()
        measuring = False
        wall = wall1 - wall0
        if on_ready is not None:
            # Measured from outside too (--compare-browser): stay in the call a little longer,
            # so leaving and shutting down fall after that window, whatever the pipe's delay.
            run_events_until(lambda: time.monotonic() - wall1 >= LINGER_S, LINGER_S + 5)
        return AppRun(
            seconds=wall,
            cpu_pct=100.0 * (cpu1 - cpu0) / wall,
            peak_mb=proc_status_kb("VmHWM") / 1024,
            rss_mb=proc_status_kb("VmRSS") / 1024,
            pss_mb=pss_kb(os.getpid()) / 1024,
            remote_fps=[
                (t.frames_drawn - drawn_before.get(pid, 0)) / wall for pid, t in page.tiles.items()
            ],
            own_fps=(page.self_view.frames_drawn - own_before) / wall,
            sent=[app_sent(stats) for stats in reports.values() if stats],
            alsa_messages=alsa_quiet.messages_hidden,
        )
    finally:
        window.shutdown()
        bridge.close()


def app_sent(reports: list[Any]) -> Sent:
    """What the app sent one peer: the rung it sent at last, the median of its per-second
    outgoing bitrate (the transport's bytes, as Chromium's transport figure)."""
    last = reports[-1]
    return Sent(
        width=last.sent_width or 0,
        height=last.sent_height or 0,
        fps=float(last.sent_fps or 0),
        video_kbps=None,
        total_kbps=statistics.median(r.bitrate_out_kbps for r in reports),
    )


def start_speaker(base: Path) -> tuple[str, Any, dict[str, str]]:
    """("pulse", lab, env) with a private PulseAudio null sink (root and PulseAudio needed), or
    ("clocked", None, {}) for a speaker that takes samples at real time without a device."""
    if os.geteuid() == 0 and shutil.which("pulseaudio") and shutil.which("pactl"):
        from tests.lab.pulse import PulseLab

        try:
            lab = PulseLab(base / "pulse")
        except (OSError, RuntimeError) as error:
            print(f"PulseAudio did not start ({error}); the speaker is clocked, not a device")
        else:
            return "pulse", lab, {"PULSE_SERVER": lab.env["PULSE_SERVER"]}
    return "clocked", None, {}


def write_clip(base: Path) -> Path:
    return write_y4m(base / "talking-head-640x360-15.y4m", talking_head_frames())


def start_peers(server_url: str, secret: str, who: tuple[tuple[str, str], ...]) -> list[Any]:
    from app.practice import headless_command
    from app.server.tokens import mint_token

    return [
        subprocess.Popen(
            [*headless_command(server_url), "--token", mint_token(secret, ROOM, role, name, 3600)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, name in who
    ]


def stop_process(proc: subprocess.Popen[Any], timeout: float = EXIT_TIMEOUT_S) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=None, help="measured per run (60; 30 side by side)"
    )
    parser.add_argument(
        "--compare-browser", action="store_true", help="alternate the app and headless Chromium"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each side with --compare-browser (3)"
    )
    parser.add_argument(
        "--warmup", type=float, default=WARMUP_S, help="seconds before measuring, side by side (5)"
    )
    parser.add_argument(
        "--parties",
        type=int,
        choices=(2, 3),
        default=3,
        help="people in the call, the app included (3; side by side always 3)",
    )
    parser.add_argument("--app-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--speaker", default="clocked", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seconds is not None and not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be between 0 and 60")
    if args.app_child:
        return app_child(args)
    if args.compare_browser:
        from compare_browser import compare

        return compare(args.rounds, args.seconds or 30.0, args.warmup)
    return alone(args.seconds or 60.0, args.parties)


def alone(seconds: float, parties: int = 3) -> int:
    from app.server.config import ServerConfig
    from app.server.embedded import EmbeddedServer
    from app.server.tokens import mint_token
    from app.ui.main import make_application

    with tempfile.TemporaryDirectory(prefix="bench-desktop-") as folder:
        base = Path(folder)
        clip = write_clip(base)
        speaker, lab, speaker_env = start_speaker(base)
        os.environ.update(speaker_env)  # before PortAudio starts: it reads the server once
        app = make_application()
        server = EmbeddedServer(ServerConfig.for_practice())
        server.start()
        secret = server.config.secret
        others = (("therapist", "Dr. Rivera"), ("partner", "Alex"))[: parties - 1]
        peers = start_peers(server.url, secret, others)
        try:
            token = mint_token(secret, ROOM, "partner", "Sam", 600)
            devices = BenchDevices(clip, speaker)
            run = run_app_call(server.url, token, devices, seconds, remote=len(others))
            if run is None:
                print(f"the call did not start: {len(others)} remote tile(s) drawing expected")
                return 1
        finally:
            for peer in peers:
                stop_process(peer)
            server.stop()
            if lab is not None:
                lab.close()
            del app
    print(
        f"desktop app, {parties}-party call, 640x360 @ 15 fps, "
        f"{run.seconds:.1f} s measured (offscreen)"
    )
    print(f"camera: a talking-head clip through OpenCV's capture path; speaker: {speaker}")
    print(f"{'measure':<34}{'value':>10}{'target':>10}")
    print("-" * 54)
    print(f"{'CPU, % of one core':<34}{run.cpu_pct:>10.1f}{TARGET_CPU_PCT:>10.0f}")
    print(f"{'peak RSS (VmHWM), MB':<34}{run.peak_mb:>10.1f}{TARGET_RSS_MB:>10.0f}")
    print(f"{'RSS at the end, MB':<34}{run.rss_mb:>10.1f}{'':>10}")
    print(f"{'PSS at the end, MB':<34}{run.pss_mb:>10.1f}{'':>10}")
    for index, value in enumerate(run.remote_fps, 1):
        print(f"{f'remote video {index}, frames drawn/s':<34}{value:>10.1f}{'':>10}")
    print(f"{'self view, frames drawn/s':<34}{run.own_fps:>10.1f}{'':>10}")
    print(f"{'ALSA messages (underruns), run':<34}{run.alsa_messages:>10d}{'':>10}")
    for index, sent in enumerate(run.sent, 1):
        rung = f"{sent.width}x{sent.height}@{sent.fps:.0f}"
        print(f"{f'sent to peer {index}, kbit/s ({rung})':<34}{sent.total_kbps:>10.0f}{'':>10}")
    ok = run.cpu_pct <= TARGET_CPU_PCT and run.peak_mb <= TARGET_RSS_MB
    print("within targets" if ok else "OVER TARGET")
    return 0 if ok else 2


def app_child(args: argparse.Namespace) -> int:
    """One side-by-side round's app: prints {"ready": true} once both remote videos are drawn,
    then {"result": ...} after the warm-up and the measured window."""
    from app.ui.main import make_application

    app = make_application()
    token = os.environ.get(TOKEN_ENV, "")

    def ready() -> None:
        print(json.dumps({"ready": True}), flush=True)

    try:
        devices = BenchDevices(args.clip, args.speaker)
        run = run_app_call(args.server, token, devices, args.seconds, args.warmup, ready)
    finally:
        del app
    if run is None:
        print(json.dumps({"error": "no call"}), flush=True)
        return 1
    result = {**run.__dict__, "sent": [s.__dict__ for s in run.sent]}
    print(json.dumps({"result": result}), flush=True)
    return 0


class JsonLines:
    """A child's JSON lines, read on a thread so every wait has a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                self._lines.put(message)
        self._lines.put(None)

    def wait_for(self, key: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self._lines.get(timeout=left)
            except queue.Empty:
                return None
            if message is None:
                self._lines.put(None)
                return None
            if key in message:
                return message
        return None


if __name__ == "__main__":
    sys.exit(main())
