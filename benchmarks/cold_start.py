"""Start to first painted window: the frozen app (installer/) beside the app from source.

    .venv/bin/python -m benchmarks.cold_start [--bundle DIR] [--runs 5] [--drop-caches]

Each run starts a fresh process on a private X server (Xvfb, Qt's xcb platform) in practice mode
(no clinic profile) with TANDEM_SMOKE=paint (app/smoke.py), and times launch to the line it
prints once the equipment-check page has been painted; then the app closes itself. Frozen and
source runs alternate. The files are in the page cache after the first run (a person's second
start); --drop-caches (root) empties it before every run, for the first start after a reboot.
Target: the frozen app's window in <= 2 s. Exits 1 if the frozen median misses it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.smoke import PAINTED_LINE, SMOKE_ENV

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0
DEADLINE_S = 60.0


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private X server; its display name."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 15)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if not number:
            raise SystemExit("cold_start: Xvfb did not start (apt-get install xvfb)")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=10)


def drop_caches() -> None:
    subprocess.run(["sync"], check=True, timeout=60)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def time_to_paint(command: list[str], env: dict[str, str]) -> float:
    """Seconds from launch to the painted line; the process is then left to close itself."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    painted = None
    for line in process.stdout:
        if line.rstrip("\n") == PAINTED_LINE:
            painted = time.monotonic() - started
            break
    try:
        process.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if painted is None:
        raise SystemExit(f"cold_start: {command[0]} exited {process.returncode} before painting")
    return painted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    default_bundle = Path(os.environ.get("TANDEM_BUNDLE", ROOT / "installer" / "dist"))
    parser.add_argument("--bundle", type=Path, default=default_bundle, help="folder with tandem/")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache (root)")
    args = parser.parse_args()
    frozen = args.bundle / "tandem" / "tandem"
    if not frozen.is_file():
        raise SystemExit(f"cold_start: no frozen app at {frozen} (./dev.sh bundle)")
    commands = {"frozen": [str(frozen)], "source": [sys.executable, "-m", "app"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    with xvfb() as display, tempfile.TemporaryDirectory() as config:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env.update(
            {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": config,
             SMOKE_ENV: "paint"}
        )  # fmt: skip
        for _ in range(args.runs):
            for name, command in commands.items():
                if args.drop_caches:
                    drop_caches()
                times[name].append(time_to_paint(command, env))
    cache = "page cache dropped before each run" if args.drop_caches else "files in page cache"
    print(f"Launch to first painted window, {args.runs} runs each, Xvfb + xcb, {cache}:")
    print(f"{'app':8} {'first s':>8} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in times.items():
        print(
            f"{name:8} {values[0]:8.2f} {statistics.median(values):9.2f} "
            f"{min(values):7.2f} {max(values):7.2f}"
        )
    met = statistics.median(times["frozen"]) <= TARGET_S
    print(f"Target: frozen <= {TARGET_S:g} s: {'met' if met else 'MISSED'}.")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
