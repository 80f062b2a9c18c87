"""Join latency of the session server with many rooms of three (signaling only, no media).

    .venv/bin/python benchmarks/server_join_latency.py [--rooms 100 1000] [--steady 200]

For each room count N a fresh server runs as a subprocess on 127.0.0.1 (its own core), and this
process plays 3N participants:
- burst: all 3N WebSockets are open, then every participant sends `join` at once. `join` is the
  time from sending `join` to receiving `welcome`; `room` is the time from a participant's `join`
  until it knows both others (from `welcome` peers and `peer_joined` fan-out).
- steady: with the N rooms still full, `--steady` more participants join one after another
  (each in a new room with one member already waiting): join latency with N busy rooms, without
  the queueing of a 3N-at-once burst. Participants ping as clients do (heartbeat 2 s).
Stops by itself; exits non-zero if anything is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.server.tokens import mint_token  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef"
HEARTBEAT_S = 2.0
SERVER_CODE = f"""
import asyncio
from app.commands.server import serve
from app.server.config import ServerConfig
config = ServerConfig(host="127.0.0.1", port=0, secret={SECRET!r}, heartbeat_s={HEARTBEAT_S},
                      join_timeout_s=120.0)
asyncio.run(serve(config, None))
"""


@dataclass
class Participant:
    token: str
    ws: aiohttp.ClientWebSocketResponse | None = None
    sent_at: float = 0.0
    welcome_at: float = 0.0
    complete_at: float = 0.0
    known: int = 0
    expect: int = 2
    error: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            kind = data["type"]
            now = time.perf_counter()
            if kind == "welcome":
                self.welcome_at = now
                self.known += len(data["peers"])
                self.welcomed.set()
            elif kind == "peer_joined":
                self.known += 1
            elif kind == "error":
                self.error = data["code"]
                self.welcomed.set()
                self.done.set()
            if self.welcome_at and self.known >= self.expect and not self.done.is_set():
                self.complete_at = now
                self.done.set()


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise SystemExit(f"need {needed} file descriptors, the limit is {soft}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def start_server() -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER_CODE, stderr=asyncio.subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parent.parent),
    )  # fmt: skip
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
    if "listening on" not in line:
        raise SystemExit(f"server did not start: {line}")
    return process, line.split()[-1].replace("http", "ws") + "/ws"


async def connect_all(
    session: aiohttp.ClientSession, url: str, people: list[Participant]
) -> list[asyncio.Task[None]]:
    gate = asyncio.Semaphore(100)

    async def one(person: Participant) -> None:
        async with gate:
            person.ws = await session.ws_connect(url, autoping=True)

    await asyncio.gather(*(one(p) for p in people))
    return [asyncio.create_task(p.read()) for p in people]


async def pinger(people: list[Participant]) -> None:
    ping = json.dumps({"type": "ping"})
    while True:
        await asyncio.sleep(HEARTBEAT_S * 0.75)
        for person in people:
            if person.ws is not None and not person.ws.closed and person.welcome_at:
                await person.ws.send_str(ping)


async def run(rooms: int, steady: int) -> dict[str, float]:
    process, url = await start_server()
    connector = aiohttp.TCPConnector(limit=0)
    people: list[Participant] = []
    readers: list[asyncio.Task[None]] = []
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            roles = ("partner", "partner", "therapist")
            people = [
                Participant(mint_token(SECRET, f"room-{r}", role, f"p{r}-{i}", 3600))
                for r in range(rooms)
                for i, role in enumerate(roles)
            ]
            readers = await connect_all(session, url, people)
            ping_task = asyncio.create_task(pinger(people))
            # Burst: everyone joins at once.
            for person in people:
                assert person.ws is not None
                person.sent_at = time.perf_counter()
                await person.ws.send_str(
                    json.dumps({"type": "join", "v": 1, "token": person.token})
                )
            await asyncio.wait_for(asyncio.gather(*(p.done.wait() for p in people)), 120)
            errors = [p.error for p in people if p.error]
            if errors:
                raise SystemExit(f"{len(errors)} joins refused: {sorted(set(errors))}")
            burst_join = [p.welcome_at - p.sent_at for p in people]
            burst_room = [p.complete_at - p.sent_at for p in people]
            # Steady: one join at a time while the N rooms stay full.
            hosts = [
                Participant(mint_token(SECRET, f"steady-{i}", "therapist", "t", 3600), expect=1)
                for i in range(steady)
            ]
            guests = [
                Participant(mint_token(SECRET, f"steady-{i}", "partner", "g", 3600), expect=1)
                for i in range(steady)
            ]
            readers += await connect_all(session, url, hosts + guests)
            people += hosts + guests
            steady_join: list[float] = []
            steady_fanout: list[float] = []
            for host, guest in zip(hosts, guests, strict=True):
                for person in (host, guest):
                    assert person.ws is not None
                    person.sent_at = time.perf_counter()
                    await person.ws.send_str(
                        json.dumps({"type": "join", "v": 1, "token": person.token})
                    )
                    await asyncio.wait_for(person.welcomed.wait(), 30)
                await asyncio.wait_for(host.done.wait(), 30)
                steady_join.append(guest.welcome_at - guest.sent_at)
                steady_fanout.append(host.complete_at - guest.sent_at)
            ping_task.cancel()
            await asyncio.gather(*(p.ws.close() for p in people if p.ws is not None))
    finally:
        for task in readers:
            task.cancel()
        process.terminate()
        await process.wait()
    return {
        "burst_join_p50": pct(burst_join, 0.5),
        "burst_join_p99": pct(burst_join, 0.99),
        "burst_room_p50": pct(burst_room, 0.5),
        "burst_room_p99": pct(burst_room, 0.99),
        "burst_join_mean": statistics.fmean(burst_join) * 1000,
        "steady_join_p50": pct(steady_join, 0.5),
        "steady_join_p99": pct(steady_join, 0.99),
        "steady_fanout_p99": pct(steady_fanout, 0.99),
    }


async def main_async(room_counts: list[int], steady: int) -> None:
    print(f"{'rooms':>6} {'clients':>7} | burst join p50/p99 ms | burst room-complete p50/p99 ms"
          f" | steady join p50/p99 ms | steady peer_joined p99 ms")  # fmt: skip
    for rooms in room_counts:
        r = await run(rooms, steady)
        print(
            f"{rooms:>6} {rooms * 3:>7} | {r['burst_join_p50']:8.1f} / {r['burst_join_p99']:8.1f}"
            f" | {r['burst_room_p50']:12.1f} / {r['burst_room_p99']:8.1f}"
            f" | {r['steady_join_p50']:8.2f} / {r['steady_join_p99']:6.2f}"
            f" | {r['steady_fanout_p99']:8.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--steady", type=int, default=200, help="sequential joins measured")
    args = parser.parse_args()
    raise_fd_limit(max(args.rooms) * 3 + args.steady * 2 + 256)
    asyncio.run(main_async(args.rooms, args.steady))


if __name__ == "__main__":
    main()
