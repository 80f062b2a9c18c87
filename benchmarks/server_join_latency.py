"""Join latency of the session server with many rooms of three (signaling only, no media).

    .venv/bin/python benchmarks/server_join_latency.py [--rooms 100 1000] [--workers 4]
        [--spread 1 10] [--profile-server PREFIX]

The server is the real command (`python -m app server` with TANDEM_SECRET, logging joins at INFO
to stderr, which this script drains) in its own process, pinned to CPU 0 when there is more than
one CPU. The 3N participants of N rooms are played by `--workers` client processes pinned to the
other CPUs; each room's three participants live in one worker. The clients are minimal
WebSocket clients on asyncio protocols (join frames built before the clock starts, server frames
parsed by hand), so that the client side costs a small fraction of what the server does.

Definitions (all times from one monotonic clock shared by the processes):
- connect: TCP connect + WebSocket upgrade, until the client has read `101 Switching Protocols`.
- join: from writing `join` on an already-open WebSocket to reading `welcome`.
- peer_joined: from the newcomer writing `join` to an already-present member reading the
  `peer_joined` for it (the fan-out).
Scenarios, each on a fresh server:
- burst: all 3N WebSockets are opened first (server CPU for that phase is shown separately),
  then every participant writes `join` at the same instant.
- spread S: the 3N participants arrive at uniformly random moments over S seconds; each one
  connects and joins straight away (connect and join are reported separately).
Joined participants ping every `heartbeat_s` as the real client does. `server CPU` is the
server's user+system time from the first join to the last participant knowing its room.
Stops by itself; exits non-zero if anything is refused or a room does not complete in time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import random
import resource
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.server.tokens import mint_token  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef"
ROLES = ("partner", "partner", "therapist")
# Connects in flight (all workers together) while opening the burst's sockets: below the
# server's listen backlog (aiohttp's default, 128), else dropped SYNs are retried after 1-3 s.
CONNECTS_IN_FLIGHT = 96
HANG_GUARD_S = 120.0
START_MARGIN_S = 0.3  # the parent picks the common start this far ahead


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One masked client-to-server frame (RFC 6455, section 5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return header + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


PING_FRAME_JSON = json.dumps({"type": "ping"}).encode()


@dataclass(eq=False)
class Participant(asyncio.Protocol):
    """One simulated participant: a bare WebSocket client that joins one room."""

    worker: Worker
    name: str
    join_frame: bytes
    transport: asyncio.Transport | None = None
    buffer: bytearray = field(default_factory=bytearray)
    upgraded: bool = False
    connect_started: float = 0.0
    connected_at: float = 0.0
    join_sent: float = 0.0
    welcome_at: float = 0.0
    known: int = 0
    complete: bool = False
    next_ping: float = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /ws HTTP/1.1\r\nHost: {self.worker.host}:{self.worker.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.complete:
            self.worker.fail(f"{self.name}: connection lost")

    def send_join(self) -> None:
        assert self.transport is not None
        self.join_sent = time.monotonic()
        self.transport.write(self.join_frame)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.worker.fail(f"{self.name}: upgrade refused: {bytes(buf[:40])!r}")
                return
            del buf[: end + 4]
            self.upgraded = True
            self.connected_at = now
            self.worker.connected(self)
        while len(buf) >= 2:  # server frames are never masked nor fragmented
            opcode, size, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                return
            payload = bytes(buf[start : start + size])
            del buf[: start + size]
            if opcode == 0x1:
                self.worker.message(self, json.loads(payload), now)
            elif opcode == 0x8:
                self.worker.fail(f"{self.name}: closed by the server")


class Worker:
    """The participants of some rooms, in one client process."""

    def __init__(self, host: str, port: int, rooms: range) -> None:
        self.host = host
        self.port = port
        self.people = [
            Participant(
                self,
                name=f"p{room}-{i}",
                join_frame=client_frame(
                    json.dumps(
                        {
                            "type": "join",
                            "v": 1,
                            "token": mint_token(SECRET, f"room-{room}", role, f"p{room}-{i}", 3600),
                        }
                    ).encode()
                ),
            )
            for room in rooms
            for i, role in enumerate(ROLES)
        ]
        self.by_name = {p.name: p for p in self.people}
        self.fanout: list[float] = []
        self.errors: list[str] = []
        self.heartbeat_s = 2.0
        self.join_on_connect = False
        self.waiting_connect = len(self.people)
        self.waiting_complete = len(self.people)
        self.all_connected = asyncio.Event()
        self.all_complete = asyncio.Event()
        self.stop = asyncio.Event()
        self.opening: list[asyncio.Task[None]] = []

    def fail(self, reason: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(reason)
        self.all_connected.set()
        self.all_complete.set()

    def connected(self, person: Participant) -> None:
        self.waiting_connect -= 1
        if self.waiting_connect == 0:
            self.all_connected.set()
        if self.join_on_connect:
            person.send_join()

    def message(self, person: Participant, msg: dict[str, Any], now: float) -> None:
        kind = msg["type"]
        if kind == "welcome":
            person.welcome_at = now
            person.known += len(msg["peers"])
            person.next_ping = now + msg["heartbeat_s"]
            self.heartbeat_s = msg["heartbeat_s"]
        elif kind == "peer_joined":
            newcomer = self.by_name.get(msg["peer"]["name"])
            if newcomer is not None and newcomer.join_sent:
                self.fanout.append(now - newcomer.join_sent)
            person.known += 1
        elif kind == "error":
            self.fail(f"{person.name}: {msg['code']}")
        elif kind == "peer_left":
            self.fail(f"{person.name}: unexpected peer_left ({msg['reason']})")
        if person.welcome_at and person.known >= len(ROLES) - 1 and not person.complete:
            person.complete = True
            self.waiting_complete -= 1
            if self.waiting_complete == 0:
                self.all_complete.set()

    async def open(self, person: Participant) -> None:
        person.connect_started = time.monotonic()
        try:
            await asyncio.get_running_loop().create_connection(lambda: person, self.host, self.port)
        except OSError as exc:
            self.fail(f"{person.name}: connect failed: {exc}")

    def arrive(self, person: Participant) -> None:
        self.opening.append(asyncio.create_task(self.open(person)))

    async def open_all(self, share: int) -> None:
        gate = asyncio.Semaphore(share)

        async def one(person: Participant) -> None:
            async with gate:
                await self.open(person)

        await asyncio.gather(*(one(p) for p in self.people))
        await asyncio.wait_for(self.all_connected.wait(), HANG_GUARD_S)

    async def keep_pinging(self) -> None:
        """Ping like the real client: every heartbeat_s after `welcome`."""
        frame = client_frame(PING_FRAME_JSON)
        while not self.stop.is_set():
            now = time.monotonic()
            for person in self.people:
                if person.next_ping and person.next_ping <= now and person.transport is not None:
                    person.transport.write(frame)
                    person.next_ping = now + self.heartbeat_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 0.1)

    def results(self) -> dict[str, Any]:
        joined = [p for p in self.people if p.welcome_at]
        return {
            "connect": [p.connected_at - p.connect_started for p in self.people if p.upgraded],
            "join": [p.welcome_at - p.join_sent for p in joined],
            "fanout": self.fanout,
            "errors": self.errors,
            "incomplete": self.waiting_complete,
        }


async def _worker_async(
    conn: Connection, port: int, rooms: range, spread_s: float, in_flight: int
) -> None:
    loop = asyncio.get_running_loop()
    worker = Worker("127.0.0.1", port, rooms)
    if spread_s == 0:
        await worker.open_all(in_flight)
    conn.send(("ready", worker.results()["connect"], worker.errors))
    command, start_at = await loop.run_in_executor(None, conn.recv)
    assert command == "go"
    pinger = asyncio.create_task(worker.keep_pinging())
    await asyncio.sleep(max(start_at - time.monotonic(), 0))
    if spread_s == 0:
        for person in worker.people:
            person.send_join()
    else:
        worker.join_on_connect = True
        arrivals = random.Random(rooms.start)
        for person in worker.people:
            at = start_at + arrivals.uniform(0, spread_s)
            loop.call_at(at, worker.arrive, person)
    try:
        await asyncio.wait_for(worker.all_complete.wait(), HANG_GUARD_S + spread_s)
    except TimeoutError:
        worker.fail(f"{worker.waiting_complete} participants did not complete in time")
    conn.send(("result", worker.results()))
    await loop.run_in_executor(None, conn.recv)  # "exit": the parent has read the server's CPU
    worker.stop.set()
    await pinger
    for person in worker.people:
        if person.transport is not None:
            person.complete = True
            person.transport.abort()


def worker_main(
    conn: Connection, port: int, rooms: range, spread_s: float, cpus: set[int], in_flight: int
) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)
    asyncio.run(_worker_async(conn, port, rooms, spread_s, in_flight))


# The parent: starts the server and the workers, gathers figures.


class Server:
    """`python -m app server` on 127.0.0.1, its stderr (the join log) drained by a thread."""

    def __init__(self, cpus: set[int], profile: str | None) -> None:
        env = {**os.environ, "TANDEM_SECRET": SECRET}
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        # Every client comes from 127.0.0.1, thousands at once: lift the caps meant for hostile
        # traffic (app/server/connection_limits.py).
        caps = [
            "--max-connections",
            "100000",
            "--max-connections-per-address",
            "0",
            "--max-pending-joins",
            "100000",
        ]
        self.process = subprocess.Popen(
            [sys.executable, *prefix, "-m", "app", "server", "--host", "127.0.0.1", "--port", "0",
             *caps],
            cwd=ROOT, env=env, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stderr is not None
        ready, _, _ = select.select([self.process.stderr], [], [], 30)
        line = self.process.stderr.readline().decode() if ready else ""
        if "listening on" not in line:
            self.process.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        self.log_lines = 0
        if cpus:
            os.sched_setaffinity(self.process.pid, cpus)
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            self.log_lines += 1

    def cpu_s(self) -> float:
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain.join(5)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def receive(conn: Connection, what: str, timeout: float) -> tuple[Any, ...]:
    if not conn.poll(timeout):
        raise SystemExit(f"a client worker sent no {what} within {timeout:.0f} s")
    message: tuple[Any, ...] = conn.recv()
    return message


@dataclass
class Figures:
    connect: list[float]
    join: list[float]
    fanout: list[float]
    cpu_connect_s: float
    cpu_join_s: float
    log_lines: int


def run_scenario(
    rooms: int, spread_s: float, workers: int, cpus: list[int], profile: str | None
) -> Figures:
    server_cpus = {cpus[0]} if len(cpus) > 1 else set()
    client_cpus = set(cpus[1:]) if len(cpus) > 1 else set()
    server = Server(server_cpus, profile)
    context = multiprocessing.get_context("spawn")
    procs: list[multiprocessing.process.BaseProcess] = []
    conns: list[Connection] = []
    try:
        cpu_start = server.cpu_s()
        bounds = [rooms * w // workers for w in range(workers + 1)]
        for w in range(workers):
            ours, theirs = context.Pipe()
            share = range(bounds[w], bounds[w + 1])
            process = context.Process(
                target=worker_main,
                args=(
                    theirs, server.port, share, spread_s, client_cpus,
                    max(CONNECTS_IN_FLIGHT // workers, 1),
                ),
            )  # fmt: skip
            process.start()
            procs.append(process)
            conns.append(ours)
        connect: list[float] = []
        for conn in conns:
            _, times, errors = receive(conn, "ready", HANG_GUARD_S)
            if errors:
                raise SystemExit(f"connecting failed: {errors[:3]}")
            connect += times
        cpu_joins_from = server.cpu_s()
        start_at = time.monotonic() + START_MARGIN_S
        for conn in conns:
            conn.send(("go", start_at))
        results = [receive(conn, "result", HANG_GUARD_S + spread_s + 30)[1] for conn in conns]
        cpu_end = server.cpu_s()
        for conn in conns:
            conn.send(("exit", 0))
        for proc in procs:
            proc.join(30)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        server.stop()
    errors = [e for r in results for e in r["errors"]]
    if errors:
        raise SystemExit(f"{len(errors)}+ failures, e.g. {errors[:3]}")
    if spread_s:
        connect = [t for r in results for t in r["connect"]]
    return Figures(
        connect=connect,
        join=[t for r in results for t in r["join"]],
        fanout=[t for r in results for t in r["fanout"]],
        cpu_connect_s=cpu_joins_from - cpu_start,
        cpu_join_s=cpu_end - cpu_joins_from,
        log_lines=server.log_lines,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rooms", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--spread", type=float, nargs="*", default=[1.0, 10.0], metavar="S")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument(
        "--profile-server",
        metavar="PREFIX",
        help="run the server under cProfile, writing PREFIX-<rooms>-<scenario>.prof",
    )
    args = parser.parse_args()
    needed = max(args.rooms) * 3 + 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:  # inherited by the server and the workers
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise SystemExit(f"need {needed} file descriptors; raise RLIMIT_NOFILE (ulimit -n)")
    cpus = sorted(os.sched_getaffinity(0))
    print(
        f"server: `python -m app server` on CPU {cpus[0] if len(cpus) > 1 else 'any'}; "
        f"{args.workers} client processes on CPU {cpus[1:] or 'any'}; times in ms, p50/p99"
    )
    print(
        f"{'rooms':>5} {'clients':>7} {'scenario':<9} | {'connect':>15} | {'join':>15} |"
        f" {'peer_joined':>15} | server CPU s (µs per join) | log lines"
    )
    for rooms in args.rooms:
        for spread_s in [0.0, *args.spread]:
            scenario = "burst" if spread_s == 0 else f"spread {spread_s:g}s"
            profile = None
            if args.profile_server:
                profile = f"{args.profile_server}-{rooms}-{scenario.replace(' ', '')}.prof"
            f = run_scenario(rooms, spread_s, args.workers, cpus, profile)
            cpu = f.cpu_join_s
            print(
                f"{rooms:>5} {rooms * 3:>7} {scenario:<9} |"
                f" {pct(f.connect, 0.5):6.1f} / {pct(f.connect, 0.99):6.1f} |"
                f" {pct(f.join, 0.5):6.1f} / {pct(f.join, 0.99):6.1f} |"
                f" {pct(f.fanout, 0.5):6.1f} / {pct(f.fanout, 0.99):6.1f} |"
                f" {cpu:6.2f} ({cpu / (rooms * 3) * 1e6:5.0f})"
                + (f" + connect {f.cpu_connect_s:.2f}" if spread_s == 0 else "")
                + f" | {f.log_lines}",
                flush=True,
            )


if __name__ == "__main__":
    main()
