"""Benchmark: our bandwidth check vs speedtest-cli's stock settings, on tbf-shaped lab links.

Needs root (network namespaces, tc). For each shaped rate (both directions), a fresh lab runs
`tandem server` in one namespace and, in another, either our whole bandwidth check or
speedtest-cli with speedtest.net's stock settings against the same mini server. Prints a table:
wall time, measured download/upload and the error against the shaped rate.

    sudo .venv/bin/python -m benchmarks.bandwidth_check [--rates 3 5 20]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab.netns import NetLab  # noqa: E402

PORT = 18090

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

CLIENT = """
import json, sys, time, urllib.request
url, engine = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 20
while True:
    try:
        urllib.request.urlopen(url + "/health", timeout=1).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
if engine == "tandem":
    from app.checks.bandwidth import check_bandwidth
    from app.net.bandwidth_probe import SessionServerProbe
    started = time.monotonic()
    result = check_bandwidth(SessionServerProbe(url))
    wall = time.monotonic() - started
    m = result.metrics
    print(json.dumps({"wall_s": wall, "status": result.status.value,
                      "down": m.get("download_mbps"), "up": m.get("upload_mbps"),
                      "engine_down": m.get("engine_download_mbps"),
                      "engine_up": m.get("engine_upload_mbps"), "latency_ms": m.get("latency_ms")}))
else:
    from app.net.bandwidth_probe import offline_speedtest, use_mini_server
    started = time.monotonic()
    st = offline_speedtest(json.loads(sys.argv[3]), 10)
    use_mini_server(st, url + "/speedtest/upload.php", "bench")
    st.get_best_server(st.servers)
    down = st.download()
    up = st.upload()
    wall = time.monotonic() - started
    print(json.dumps({"wall_s": wall, "status": "", "down": down / 1e6, "up": up / 1e6,
                      "engine_down": None, "engine_up": None,
                      "latency_ms": st.results.ping}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT)
    env["TANDEM_SECRET"] = secrets.token_urlsafe(32)
    return env


def run_once(rate_mbit: float, engine: str) -> dict[str, Any]:
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
            NetLab.shape(server_end, rate_mbit)
            NetLab.shape(client_end, rate_mbit)
            url = f"http://{server_end.address}:{PORT}"
            done = client_host.run(
                [sys.executable, "-c", CLIENT, url, engine, json.dumps(STOCK_CONFIG)],
                cwd=str(ROOT), env=_env(),
            )  # fmt: skip
            result: dict[str, Any] = json.loads(done.stdout)
            return result
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        lab.close()


def _error(measured: float | None, rate: float) -> str:
    return f"{(measured - rate) / rate * 100:+.1f}%" if measured is not None else "-"


def _fmt(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[3.0, 5.0, 20.0])
    parser.add_argument("--no-stock", action="store_true", help="skip speedtest-cli's stock run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces and tc)", file=sys.stderr)
        return 2
    engines = ["tandem"] if args.no_stock else ["tandem", "stock"]
    header = (
        f"{'shaped':>7} {'engine':<17} {'wall s':>7} {'down':>7} {'err':>7} {'up':>7} "
        f"{'err':>7} {'cli up':>7} {'verdict':>7}"
    )
    print(header)
    print("-" * len(header))
    for rate in args.rates:
        for engine in engines:
            r = run_once(rate, engine)
            name = "tandem check" if engine == "tandem" else "speedtest-cli 10s"
            print(
                f"{rate:>7g} {name:<17} {r['wall_s']:>7.2f} {_fmt(r['down']):>7} "
                f"{_error(r['down'], rate):>7} {_fmt(r['up']):>7} {_error(r['up'], rate):>7} "
                f"{_fmt(r['engine_up']):>7} {r['status']:>7}",
                flush=True,
            )
    print("\nerr: against the shaped rate; 'cli up' is speedtest-cli's own upload figure inside "
          "our check (before the server-side correction).")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
