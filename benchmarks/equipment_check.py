"""Benchmark: the whole equipment check (`tandem check`) on tbf-shaped lab links, vs speedtest-cli.

Needs root (network namespaces, tc, a private PulseAudio). For each shaped rate (both
directions), a fresh lab runs `tandem server` in one namespace and, in another, the real CLI:

    python -m app check --json --server URL --camera VIDEO --mic pulse --speaker pulse

Every check is real: the camera is OpenCV's capture path on a generated video file, the
microphone and speaker are PortAudio's "pulse" device on a private PulseAudio daemon (a null sink
and a virtual microphone on its monitor; a 440 Hz tone is played into the sink during the check
so the microphone hears something), and the bandwidth is measured against the server across the
shaped link. The wall time is the whole command's, from launch to exit (interpreter start and
imports included); `duration_s` is the report's own (the checks only). The check's stderr is a
pty so it prints its progress lines, which are timestamped to tell when each check finished.
speedtest-cli with speedtest.net's stock settings (10 s phases) is run against the same server
in the same lab for comparison.

    sudo .venv/bin/python -m benchmarks.equipment_check [--rates 3 5 20] [--no-stock]
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.checks.audio_analysis import sine  # noqa: E402
from tests.lab.media import write_video  # noqa: E402
from tests.lab.netns import Host, NetLab  # noqa: E402
from tests.lab.pulse import PulseLab, write_wav  # noqa: E402

PORT = 18090
CHECK_TIMEOUT_S = 60.0
TARGET_WALL_S = 8.0
TARGET_ERROR = 0.10
CHECKS = ("camera", "microphone", "speaker", "bandwidth")
STATUS_SHORT = {"pass": "ok", "warn": "WARN", "fail": "FAIL", "skipped": "skip"}

# speedtest.net's usual configuration (10 s phases, 8 download threads, 512 KiB-7 MiB uploads),
# as speedtest-cli's get_config() turns it into settings.
STOCK_CONFIG: dict[str, Any] = {
    "client": {},
    "ignore_servers": [],
    "sizes": {
        "upload": [524288, 1048576, 7340032],
        "download": [350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000],
    },
    "counts": {"upload": 17, "download": 4},
    "threads": {"upload": 2, "download": 8},
    "length": {"upload": 10, "download": 10},
    "upload_max": 51,
}

# Runs inside the client namespace: "wait" polls /health until the server answers; "stock" runs
# speedtest-cli with the stock settings against the server's mini layout and prints JSON.
CLIENT = """
import json, sys, time, urllib.request
url, mode = sys.argv[1], sys.argv[2]
if mode == "wait":
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # poll interval of a loop that waits for the answer
else:
    from app.net.bandwidth_probe import offline_speedtest, use_mini_server
    started = time.monotonic()
    st = offline_speedtest(json.loads(sys.argv[3]), 10)
    use_mini_server(st, url + "/speedtest/upload.php", "bench")
    st.get_best_server(st.servers)
    down = st.download()
    up = st.upload()
    print(json.dumps({"wall_s": time.monotonic() - started, "down": down / 1e6,
                      "up": up / 1e6}))
"""

# A progress line of `tandem check` on a terminal: "  camera      100%  Working".
PROGRESS = re.compile(r"^\s*(camera|microphone|speaker|bandwidth)\s+(\d+)%")


@dataclass
class CheckRun:
    """One run of the whole CLI check."""

    wall_s: float
    exit_code: int
    report: dict[str, Any]
    first_progress_s: float | None  # launch to the first progress line (start-up and imports)
    finished_s: dict[str, float] = field(default_factory=dict)  # launch to a check's 100 % line

    def metric(self, check: str, name: str) -> Any:
        return self.report["checks"][check]["metrics"].get(name)


class _StderrPty:
    """A pty for the child's stderr (so `tandem check` prints progress), read on a thread with
    the time each line arrived."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, name="check-stderr", daemon=True)

    def start(self) -> None:
        os.close(self.slave)  # the child holds it now; EOF (EIO) once the child exits
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                chunk = b""
            now = time.monotonic()
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            self.lines.extend(
                (now, line.decode(errors="replace").rstrip("\r")) for line in complete
            )
        if pending:
            self.lines.append((time.monotonic(), pending.decode(errors="replace")))

    def finish(self) -> None:
        self._thread.join(timeout=5)
        os.close(self.master)


def _env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in (base or os.environ).items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT)
    env["TANDEM_SECRET"] = secrets.token_urlsafe(32)
    return env


def run_check(client: Host, url: str, video: Path, pulse: PulseLab) -> CheckRun:
    """`python -m app check …` in the client namespace, timed from launch to exit."""
    argv = [
        sys.executable, "-m", "app", "check", "--json", "--server", url,
        "--camera", str(video), "--mic", "pulse", "--speaker", "pulse",
    ]  # fmt: skip
    stderr = _StderrPty()
    started = time.monotonic()
    process = client.popen(
        argv, cwd=str(ROOT), env=_env(pulse.env), stdout=subprocess.PIPE, stderr=stderr.slave
    )
    stderr.start()
    try:
        stdout, _ = process.communicate(timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    wall = time.monotonic() - started
    stderr.finish()
    try:
        report: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError as exc:
        tail = "\n".join(line for _, line in stderr.lines[-40:])
        raise RuntimeError(
            f"tandem check printed no report (exit {process.returncode}):\n{tail}"
        ) from exc
    run = CheckRun(wall, process.returncode, report, None)
    for at, line in stderr.lines:
        match = PROGRESS.match(line)
        if not match:
            continue
        if run.first_progress_s is None:
            run.first_progress_s = at - started
        if match.group(2) == "100":
            run.finished_s.setdefault(match.group(1), at - started)
    return run


def run_stock(client: Host, url: str) -> dict[str, Any]:
    done = client.run(
        [sys.executable, "-c", CLIENT, url, "stock", json.dumps(STOCK_CONFIG)],
        cwd=str(ROOT), env=_env(),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_rate(
    rate_mbit: float, video: Path, pulse: PulseLab, tone: Path, stock: bool
) -> tuple[CheckRun, dict[str, Any] | None]:
    """A fresh lab at `rate_mbit` each way: the whole check, then speedtest-cli's stock run."""
    lab = NetLab()
    try:
        server_host, client_host = lab.add_host("srv"), lab.add_host("cli")
        server_end, client_end = lab.link(server_host, client_host)
        server = server_host.popen(
            [sys.executable, "-m", "app", "server", "--host", server_end.address,
             "--port", str(PORT)],
            cwd=str(ROOT), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            NetLab.shape(server_end, rate_mbit)  # download
            NetLab.shape(client_end, rate_mbit)  # upload
            url = f"http://{server_end.address}:{PORT}"
            client_host.run([sys.executable, "-c", CLIENT, url, "wait"], cwd=str(ROOT), env=_env())
            player = pulse.play(tone)  # someone talking into the microphone during the check
            try:
                check = run_check(client_host, url, video, pulse)
            finally:
                player.kill()
                player.wait(timeout=5)
            return check, (run_stock(client_host, url) if stock else None)
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        lab.close()


def _error(measured: float | None, rate: float) -> float | None:
    return (measured - rate) / rate if measured is not None else None


def _pct(error: float | None) -> str:
    return f"{error * 100:+.1f}%" if error is not None else "-"


def _fmt(value: float | None, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[3.0, 5.0, 20.0])
    parser.add_argument("--no-stock", action="store_true", help="skip speedtest-cli's stock run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces, tc, PulseAudio)", file=sys.stderr)
        return 2
    missing = [p for p in ("ip", "tc", "pulseaudio", "pactl", "paplay") if not shutil.which(p)]
    if missing:
        print(f"missing programs: {', '.join(missing)}", file=sys.stderr)
        return 2

    header = (
        f"{'shaped':>6}  {'run':<17} {'wall s':>6} {'dur s':>6} {'down':>6} {'err':>6} "
        f"{'up':>6} {'err':>6}  {'verdict':<19} {'cam':<4} {'mic':<4} {'spk':<4} {'bw'}"
    )
    timing_header = (
        f"{'shaped':>6}  {'start-up':>8} {'camera':>7} {'mic':>7} {'speaker':>7} "
        f"{'bandw.':>7} {'exit':>7}   {'bw probe s':>10} {'latency ms':>10}"
    )
    runs: list[tuple[float, CheckRun]] = []
    met = True
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp_name:
        tmp = Path(tmp_name)
        video = write_video(tmp / "camera.avi", "pattern", size=(640, 480), fps=30.0, seconds=2.0)
        tone = write_wav(tmp / "voice.wav", sine(440.0, 40.0, 48000, -20.0))
        pulse = PulseLab(tmp / "pulse")
        try:
            print(header)
            print("-" * len(header))
            for rate in args.rates:
                check, stock = run_rate(rate, video, pulse, tone, not args.no_stock)
                runs.append((rate, check))
                down, up = (
                    check.metric("bandwidth", "download_mbps"),
                    check.metric("bandwidth", "upload_mbps"),
                )
                errors = [_error(down, rate), _error(up, rate)]
                met &= check.wall_s <= TARGET_WALL_S
                met &= all(e is not None and abs(e) <= TARGET_ERROR for e in errors)
                statuses = " ".join(
                    f"{STATUS_SHORT.get(check.report['checks'][c]['status'], '?'):<4}"
                    for c in CHECKS
                )
                print(
                    f"{rate:>6g}  {'tandem check':<17} {check.wall_s:>6.2f} "
                    f"{check.report['duration_s']:>6.2f} {_fmt(down):>6} {_pct(errors[0]):>6} "
                    f"{_fmt(up):>6} {_pct(errors[1]):>6}  {check.report['verdict']:<19} "
                    f"{statuses}".rstrip(),
                    flush=True,
                )
                if stock is not None:
                    print(
                        f"{rate:>6g}  {'speedtest-cli 10s':<17} {stock['wall_s']:>6.2f} "
                        f"{'-':>6} {_fmt(stock['down']):>6} {_pct(_error(stock['down'], rate)):>6} "
                        f"{_fmt(stock['up']):>6} {_pct(_error(stock['up'], rate)):>6}",
                        flush=True,
                    )
        finally:
            pulse.close()

    print("\nWhen each check finished, seconds from launching `tandem check` (from its progress):")
    print(timing_header)
    print("-" * len(timing_header))
    for rate, check in runs:
        done = [_fmt(check.finished_s.get(c)) for c in CHECKS]
        print(
            f"{rate:>6g}  {_fmt(check.first_progress_s):>8} {done[0]:>7} {done[1]:>7} "
            f"{done[2]:>7} {done[3]:>7} {check.wall_s:>7.2f}   "
            f"{_fmt(check.metric('bandwidth', 'duration_s')):>10} "
            f"{_fmt(check.metric('bandwidth', 'latency_ms'), 1):>10}"
        )
    print(
        f"\nTargets: whole check (wall) <= {TARGET_WALL_S:g} s; bandwidth error <= "
        f"{TARGET_ERROR:.0%} each way: {'met' if met else 'NOT met'}."
    )
    print(
        "err: against the shaped rate. start-up: launch to the first progress line (interpreter, "
        "imports,\nprofile); 'bw probe s' is the bandwidth measurement's own duration."
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
