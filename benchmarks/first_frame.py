"""Join to first remote frame: two headless participants in network namespaces, unshaped link.

Each repetition starts a fresh newcomer against a participant already in the room and reads the
newcomer's `first_frame.ms_since_join` (join() called -> welcome -> offer/answer -> ICE -> DTLS ->
first decoded frame). Process start-up is not counted. Root only (network namespaces).

    .venv/bin/python benchmarks/first_frame.py [--runs 10] [--size 640x360] [--fps 15]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.server.tokens import mint_token  # noqa: E402
from tests.lab.netns import NetLab  # noqa: E402

# Random per run: `tandem server` refuses a secret that is short or not random.
SECRET = secrets.token_urlsafe(32)
PORT = 18444


def first_line(
    proc: subprocess.Popen[str], kind: str, deadline_s: float = 30.0
) -> dict[str, object]:
    assert proc.stdout is not None
    end = time.monotonic() + deadline_s
    for text in proc.stdout:
        line = json.loads(text)
        if line["type"] == kind:
            return dict(line)
        if line["type"] == "error" or time.monotonic() > end:
            break
    raise RuntimeError(f"no {kind} line")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", default="15")
    args = parser.parse_args()
    env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    lab = NetLab()
    procs: list[subprocess.Popen[str]] = []
    try:
        router = lab.add_host("srv")
        router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        hosts = []
        for name in ("a", "b"):
            host = lab.add_host(name)
            router_end, _ = lab.link(router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            hosts.append((host, router_end.address))
        server_addr = hosts[0][1]
        procs.append(
            router.popen(
                [sys.executable, "-m", "app", "server", "--host", server_addr, "--port", str(PORT)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        router.run(
            [
                sys.executable,
                "-c",
                (
                    "import time, urllib.request\n"
                    "for _ in range(400):\n"
                    "    try:\n"
                    f"        urllib.request.urlopen('http://{server_addr}:{PORT}/health'); break\n"
                    "    except OSError: time.sleep(0.05)\n"
                ),
            ]
        )

        def join(host_index: int, name: str) -> subprocess.Popen[str]:
            token = mint_token(SECRET, "bench", "partner", name, 600)
            proc = hosts[host_index][0].popen(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "join",
                    "--headless",
                    "--server",
                    f"http://{server_addr}:{PORT}",
                    "--token",
                    token,
                    "--size",
                    args.size,
                    "--fps",
                    args.fps,
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=1,
            )
            procs.append(proc)
            return proc

        resident = join(0, "Resident")
        first_line(resident, "joined")
        results = []
        for run in range(args.runs):
            newcomer = join(1, "Newcomer")
            ms = float(first_line(newcomer, "first_frame")["ms_since_join"])  # type: ignore[arg-type]
            results.append(ms)
            print(f"run {run + 1}: {ms:.0f} ms", flush=True)
            newcomer.send_signal(signal.SIGTERM)
            first_line(newcomer, "left")
            newcomer.wait()
        print(
            f"join -> first remote frame over {len(results)} runs ({args.size} @ {args.fps} fps):"
            f" median {statistics.median(results):.0f} ms, p90 {percentile(results, 0.9):.0f} ms,"
            f" min {min(results):.0f} ms, max {max(results):.0f} ms"
        )
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        lab.close()


if __name__ == "__main__":
    raise SystemExit(main())
