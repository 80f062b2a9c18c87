"""Valid joins while hostile connections are held open: the session server's attack-load figure.

    .venv/bin/python benchmarks/attack_load.py [--joins 300] [--idle 500] [--slow 50]
        [--addresses 10] [--nofile N] [--checkout PATH] [--scenarios NAME ...]

The server is the real `python -m app server` (defaults, TANDEM_SECRET set) in its own process.
Each scenario starts a fresh server, then (except the baseline) an attacker process that holds
`--idle` sockets that never send anything and `--slow` slowloris sockets (a request line, then a
header line every 0.2 s, never the end), from `--addresses` loopback addresses (127.0.0.2 on),
opening a new socket 0.5 s after the server closes one. Once the attacker holds them all (or the
caps stop it from holding more), `--joins` valid joins run one after another from 127.0.0.1,
each a fresh WebSocket with a minted token in a room of its own; a join is timed from the TCP
connect to reading `welcome`. The client runs in this process, the attacker in another, so the
valid client never waits behind the attacker's tasks.

Scenarios (names for `--scenarios`): baseline (no attack); held (the attack spread over
`--addresses`: every socket fits under the default caps, so each is held for the 10 s header
timeout, then reopened); one-addr (the same attack from 127.0.0.2 alone: the per-address cap of
100 applies); flood (three times as many idle sockets from 30 addresses: over the total cap of
1000, so each new socket closes the oldest that has sent nothing). `--nofile N` starts the server
with RLIMIT_NOFILE N (soft and hard); `--checkout PATH` runs another checkout's server (before and
after a change).

Prints per scenario: join p50 / p99 / max in ms, failed joins (a join not done in 5 s fails;
after 10 failures the scenario stops: "10+"), sockets the attacker held when the joins started,
the server's CPU time during the joins, its RSS after them and the size of its log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from app.server import fd_limit  # noqa: E402
from app.server.tokens import mint_token  # noqa: E402
from tests.integration.attackers import SocketHolder, idle, slow_headers, sources  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef"
HANG_GUARD_S = 60.0
JOIN_TIMEOUT_S = 5.0  # a join not done by then counts as failed
GIVE_UP_AFTER = 10  # failed joins before a scenario stops (a server that no longer answers)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# The attacker (its own process: python benchmarks/attack_load.py --attacker ...)


async def attack(port: int, idle_count: int, slow_count: int, addresses: int) -> None:
    """Hold the sockets until stdin closes; say how many are held, twice a second."""
    fd_limit.raise_soft_limit()
    where = sources(addresses)
    holders = [SocketHolder(port, idle_count, idle, where, max_connects=10**9)]
    if slow_count:
        holders.append(SocketHolder(port, slow_count, slow_headers, where, max_connects=10**9))
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    for holder in holders:
        await holder.__aenter__()
    try:
        while not stdin_closed.done():
            tallies = [h.tally for h in holders]
            status = {
                "held": sum(t.held for t in tallies),
                "connects": sum(t.connects for t in tallies),
                "answers": {
                    k.decode(errors="replace"): v for t in tallies for k, v in t.answers.items()
                },
            }
            print(json.dumps(status), flush=True)
            await asyncio.sleep(0.5)
    finally:
        for holder in holders:
            await holder.__aexit__(None, None, None)


# The server


class Server:
    def __init__(self, checkout: Path, nofile: int | None) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="attack-load-server-", suffix=".log")
        limit = None
        if nofile is not None:

            def limit() -> None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "server", "--host", "127.0.0.1", "--port", "0"],
            cwd=checkout,
            env={**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(checkout)},
            stderr=self.log,
            preexec_fn=limit,
        )
        deadline = time.monotonic() + 30
        while (found := re.search(r"listening on (\S+)", Path(self.log.name).read_text())) is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the server did not start:\n" + Path(self.log.name).read_text())
            time.sleep(0.05)
        self.base = found.group(1)
        self.port = int(self.base.rsplit(":", 1)[1])

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def stop(self) -> int:
        """Stop the server; the size of its log."""
        self.process.terminate()
        self.process.wait(timeout=30)
        size = os.path.getsize(self.log.name)
        self.log.close()
        return size


class Attacker:
    def __init__(self, port: int, idle_count: int, slow_count: int, addresses: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--attacker", str(port), str(idle_count),
             str(slow_count), str(addresses)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.status: dict[str, Any] = {}

    def wait_settled(self, target: int) -> None:
        """Until the attacker holds `target` sockets, or its count stops growing for 2 s."""
        assert self.process.stdout is not None
        best, since = -1, time.monotonic()
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit("the attacker stopped")
            self.status = json.loads(line)
            held = self.status["held"]
            if held >= target:
                return
            if held > best:
                best, since = held, time.monotonic()
            elif time.monotonic() - since > 2:
                return

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# The valid client


async def timed_joins(base: str, count: int, label: str) -> tuple[list[float], int]:
    latencies: list[float] = []
    failed = 0
    for i in range(count):
        token = mint_token(SECRET, f"{label}-{i}", "partner", "Sam", 600)
        start = time.perf_counter()
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.wait_for(_join(session, base, token), JOIN_TIMEOUT_S)
            latencies.append((time.perf_counter() - start) * 1000)
        except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError, ValueError):
            failed += 1
            if failed >= GIVE_UP_AFTER:
                break
    return latencies, failed


async def _join(session: aiohttp.ClientSession, base: str, token: str) -> None:
    async with session.ws_connect(f"{base}/ws") as ws:
        await ws.send_json({"type": "join", "v": 2, "token": token})
        welcome = json.loads((await ws.receive()).data)
        if welcome.get("type") != "welcome":
            raise RuntimeError(welcome)
        await ws.send_json({"type": "leave"})


def run_scenario(
    name: str, args: argparse.Namespace, idle_count: int, slow_count: int, addresses: int
) -> str:
    server = Server(args.checkout, args.nofile)
    attacker = None
    held = 0
    try:
        if idle_count or slow_count:
            attacker = Attacker(server.port, idle_count, slow_count, addresses)
            attacker.wait_settled(idle_count + slow_count)
            held = attacker.status["held"]
        asyncio.run(timed_joins(server.base, 20, f"warm-up-{name}"))  # imports, first rooms
        cpu_before = server.cpu_s()
        latencies, failed = asyncio.run(timed_joins(server.base, args.joins, name))
        cpu = server.cpu_s() - cpu_before
        rss = server.rss_mb()
    finally:
        if attacker is not None:
            attacker.stop()
        log_bytes = server.stop()
    if latencies:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99, worst = cuts[49], cuts[98], max(latencies)
    else:
        p50 = p99 = worst = float("nan")
    failures = f"{failed}{'+' if failed >= GIVE_UP_AFTER else ''}"
    return (
        f"{name:<11} {idle_count:>5} {slow_count:>5} {addresses:>5} {held:>6} | "
        f"{p50:7.1f} {p99:7.1f} {worst:7.1f} {failures:>6} | {cpu:6.2f} {rss:7.1f} {log_bytes:>9}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--addresses", type=int, default=10)
    parser.add_argument("--nofile", type=int, default=None)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--scenarios", nargs="+", default=["baseline", "held", "one-addr", "flood"])
    parser.add_argument("--attacker", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attacker:
        asyncio.run(attack(*args.attacker))
        return
    print(
        "scenario     idle  slow addrs   held |  join ms: p50     p99     max failed"
        " | server: CPU s  RSS MB  log bytes"
    )
    scenarios = {
        "baseline": (0, 0, 0),
        "held": (args.idle, args.slow, args.addresses),
        "one-addr": (args.idle, args.slow, 1),
        "flood": (args.idle * 3, args.slow, 30),
    }
    for name in args.scenarios:
        print(run_scenario(name, args, *scenarios[name]), flush=True)


if __name__ == "__main__":
    main()
