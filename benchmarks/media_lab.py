"""Media through a faulted link in the namespace lab: two headless participants (`tandem join
--headless`, 640x360@15 test pattern and tone), participant A's link shaped to 0.3 Mbit/s both
ways for 20 s, or blacked out both ways for N s; then B's per-second stats around the restore
and the "failed to decode" count in each participant's log. Root only.

    .venv/bin/python -m benchmarks.media_lab slow
    .venv/bin/python -m benchmarks.media_lab blackout --seconds 2.5
    .venv/bin/python -m benchmarks.media_lab slow --checkout /tmp/stock   # another tree's code

`--checkout` runs the participants (and the server) from another source tree, e.g. the commit
before the media tuning (`git archive <commit> | tar -x -C /tmp/stock`). Keep blackouts under
the signaling deadline (3 x the lab's 1 s heartbeat): ending the call is not what is measured.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["slow", "blackout"])
    parser.add_argument("--seconds", type=float, default=2.5, help="blackout length")
    parser.add_argument("--checkout", type=Path, default=ROOT)
    args = parser.parse_args()
    sys.path.insert(0, str(args.checkout))
    netns = importlib.import_module("tests.lab.netns")
    call_lab = importlib.import_module("tests.lab.call_lab")

    tmp = Path(tempfile.mkdtemp())
    netlab = netns.NetLab()
    lab = call_lab.CallLab(netlab, tmp)
    stats: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    try:
        lab.start_server("a")
        participants = {"a": lab.join("a", lab.token("A")), "b": lab.join("b", lab.token("B"))}

        def collect(name: str) -> None:
            while (line := participants[name].lines.get()) is not None:
                stats[name].append(line)

        for name in participants:
            threading.Thread(target=collect, args=(name,), daemon=True).start()
        deadline = time.time() + 30
        while not any(s.get("fps_in", 0) > 5 for s in stats["b"]):
            if time.time() > deadline:
                raise SystemExit("no video within 30 s")
            time.sleep(0.2)
        time.sleep(3)
        host_end = lab.ends["a"]
        # The router's end of A's link: the same veth pair, its "a" device ("v<i>a…").
        cut = host_end.device.index("b")
        router_device = host_end.device[:cut] + "a" + host_end.device[cut + 1 :]
        router_end = netns.LinkEnd(lab.router, router_device, "")
        ends = (host_end, router_end)
        if args.scenario == "slow":
            for end in ends:
                netns.NetLab.shape(end, 0.3)
            time.sleep(20)
            restored = time.time()
            for end in ends:
                netns.NetLab.unshape(end)
        else:
            for end in ends:
                netns.NetLab.blackhole(end)
            time.sleep(args.seconds)
            restored = time.time()
            for end in ends:
                netns.NetLab.restore(end)
        time.sleep(12)
        print("B's stats, s from restore:  out kbit/s  in kbit/s  fps_in  B sends")
        for line in stats["b"]:
            if line["type"] == "stats" and line["t"] >= restored - 8:
                print(
                    f"  {line['t'] - restored:6.1f} {line['bitrate_out_kbps']:11.0f} "
                    f"{line['bitrate_in_kbps']:10.0f} {line['fps_in']:7.1f}  "
                    f"{line.get('sent_width')}@{line.get('sent_fps')}"
                )
        for name in participants:
            events = [s["type"] for s in stats[name] if s["type"] not in ("stats",)]
            print(f"{name} events: {events}")
        for err in sorted(tmp.glob("*.err")):
            text = err.read_text()
            print(f"{err.name}: failed to decode {text.count('failed to decode')}, "
                  f"tracebacks {text.count('Traceback')}")  # fmt: skip
    finally:
        lab.close()
        netlab.close()


if __name__ == "__main__":
    main()
