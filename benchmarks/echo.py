"""Benchmark: echo cancellation (app.call.echo_canceller, WebRTC AEC3 via livekit's APM).

Far-end speech-like audio (tests/echo_signals.py) plays through a simulated laptop room (a
delayed, attenuated, coloured copy with a short reverberant tail) into the microphone; the
call's 20 ms blocks go through the canceller as in a call. Printed per room: ERLE (echo return
loss enhancement: how much quieter the echo is after cancellation) in the first second, in
seconds 1-3 and once converged (seconds 3-10); the near-end voice's level drop when it talks
over the echo (double talk); and the CPU time the canceller takes per second of audio (both
directions: render + capture). With `--pulse` (root, PulseAudio), the real sound path of
tests/integration/test_echo_cancellation.py is measured too (ERLE in seconds 6-9 and
second by second).

    .venv/bin/python -m benchmarks.echo [--pulse]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.call.echo_canceller import EchoCanceller
from tests.echo_signals import RATE, cancel, level_db, room_echo, speech_like

SECONDS = 10
TALK_FROM_S = 7
ROOMS = [(0.02, 0.3), (0.06, 0.5), (0.15, 0.8), (0.30, 0.5)]  # (delay s, gain)


def measure_room(delay_s: float, gain: float) -> dict[str, float]:
    far = speech_like(SECONDS, 130, seed=1)
    echo = room_echo(far, delay_s=delay_s, gain=gain)
    canceller = EchoCanceller()
    started = time.process_time()
    out = cancel(canceller, far, echo)
    cpu_per_s = (time.process_time() - started) / SECONDS

    def erle(first_s: float, last_s: float) -> float:
        window = slice(int(first_s * RATE), int(last_s * RATE))
        return level_db(echo[window]) - level_db(out[window])

    near = np.zeros_like(far)
    near[TALK_FROM_S * RATE :] = speech_like(SECONDS - TALK_FROM_S, 210, seed=2)
    talking = cancel(EchoCanceller(), far, echo + near)
    talk = slice(TALK_FROM_S * RATE + RATE // 2, None)
    return {
        "erle_0_1s_db": erle(0, 1),
        "erle_1_3s_db": erle(1, 3),
        "erle_converged_db": erle(3, SECONDS),
        "near_drop_db": level_db(near[talk]) - level_db(talking[talk]),
        "cpu_ms_per_s": 1000 * cpu_per_s,
    }


def measure_pulse() -> dict[str, Any]:
    from tests.lab.echo_room import make_room
    from tests.lab.pulse import REPO_ROOT, PulseLab

    lab = PulseLab(Path(tempfile.mkdtemp(prefix="tandem-echo-")))
    try:
        make_room(lab, latency_ms=60, volume_percent=70)
        done = subprocess.run(
            [sys.executable, "-m", "tests.lab.echo_room", "12", "9"],
            env=lab.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        lab.close()
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "erle_converged_db": figures["echo_dbfs"] - figures["residual_dbfs"],
        "near_drop_db": figures["near_dbfs"] - figures["near_out_dbfs"],
        "erle_by_second": figures["erle_by_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulse", action="store_true", help="also the real PulseAudio path")
    args = parser.parse_args()
    if not EchoCanceller().active:
        sys.exit("echo cancellation is not available (is livekit installed?)")
    print("delay_ms gain  ERLE_0-1s ERLE_1-3s ERLE_conv  near_drop  cpu_ms/s")
    for delay_s, gain in ROOMS:
        m = measure_room(delay_s, gain)
        print(
            f"{delay_s * 1000:8.0f} {gain:4.1f} {m['erle_0_1s_db']:9.1f} {m['erle_1_3s_db']:9.1f}"
            f" {m['erle_converged_db']:9.1f} {m['near_drop_db']:10.1f} {m['cpu_ms_per_s']:9.1f}"
        )
    if args.pulse:
        m = measure_pulse()
        print(
            f"pulse (60 ms loopback, 70% volume): ERLE {m['erle_converged_db']:.1f} dB,"
            f" near-end drop {m['near_drop_db']:.1f} dB;"
            f" ERLE by second {m['erle_by_second']}"
        )


if __name__ == "__main__":
    main()
