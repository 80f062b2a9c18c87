"""Fault primitives for the network lab: each is a context manager that undoes itself.

A failing test (or benchmark) never leaves a rule behind: leaving the `with` block removes the
nftables table or tc qdisc, even on an exception. Every nftables rule counts what it dropped, so
the yielded `Fault` can say how many packets the fault really took (`dropped()`).

Directions are seen from `end`: "in" is what arrives at `end`, "out" what `end` sends (dropped on
arrival at the far end of the veth, which `far_end` finds). The kernel has no netem, so loss and
blackouts are nftables netdev ingress rules and rate limits are tbf on a link end's egress.

    with blackout(end):                 # both ways; ARP still passes, sockets hang silently
    with loss(end, 15, "both"):         # random loss, each direction on its own
    with rate(end, 0.3, "both"):        # tbf
    with block_udp(host):               # no UDP in or out (loopback excepted): ICE needs TURN/TCP
    for step, seconds in flap(end, on_s=2, off_s=2, times=3): ...   # the driver waits
    with frozen(proc):                  # SIGSTOP now, SIGCONT on leaving
    sigkill(proc)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Literal

from tests.lab.netns import Host, LinkEnd, NetLab

Direction = Literal["in", "out", "both"]
STOP_WITHIN_S = 10.0


@dataclass
class Fault:
    """The nftables tables a fault installed, per host: read their drop counters."""

    tables: list[tuple[Host, str, str]] = field(default_factory=list)  # host, family, name

    def dropped(self) -> int:
        total = 0
        for host, family, name in self.tables:
            listing = json.loads(host.run(["nft", "-j", "list", "table", family, name]).stdout)
            for item in listing["nftables"]:
                for expr in item.get("rule", {}).get("expr", []):
                    total += expr.get("counter", {}).get("packets", 0)
        return total


def far_end(end: LinkEnd) -> LinkEnd:
    """The other end of `end`'s veth pair: its namespace, device and IPv4 address."""
    (link,) = json.loads(end.host.run(["ip", "-j", "-d", "link", "show", "dev", end.device]).stdout)
    ids = json.loads(end.host.run(["ip", "-j", "netns", "list-id"]).stdout)
    (netns,) = [entry["name"] for entry in ids if entry["nsid"] == link["link_netnsid"]]
    host = Host(netns)
    addresses = json.loads(host.run(["ip", "-j", "-4", "addr", "show"]).stdout)
    (peer,) = [item for item in addresses if item["ifindex"] == link["link_index"]]
    return LinkEnd(host, peer["ifname"], peer["addr_info"][0]["local"])


def _quiet(host: Host, argv: list[str]) -> None:
    """Undo without raising: the namespace may already be gone when a lab closes first."""
    subprocess.run(host.command(argv), capture_output=True)


@contextmanager
def _ingress_drop(end: LinkEnd, kind: str, match: str, fault: Fault) -> Iterator[None]:
    """One netdev ingress table on `end` dropping IPv4 packets that `match` selects."""
    table = f"tandem_fault_{kind}_{end.device}"
    rules = (
        f"table netdev {table} {{\n"
        f"  chain ingress {{ type filter hook ingress device {end.device} priority 0;\n"
        f"    ether type ip {match} counter drop\n  }}\n}}\n"
    )
    end.host.run(["nft", "-f", "-"], input=rules)
    fault.tables.append((end.host, "netdev", table))
    try:
        yield
    finally:
        _quiet(end.host, ["nft", "delete", "table", "netdev", table])


def _ends(end: LinkEnd, direction: Direction) -> list[LinkEnd]:
    """Where to act for `direction`: what arrives at `end` is dropped at `end`, what it sends
    at the far end."""
    if direction not in ("in", "out", "both"):
        raise ValueError(f"direction must be in, out or both, not {direction!r}")
    ends = [end] if direction in ("in", "both") else []
    return ends + ([far_end(end)] if direction in ("out", "both") else [])


@contextmanager
def blackout(end: LinkEnd, both_ways: bool = True) -> Iterator[Fault]:
    """Nothing IPv4 crosses `end`'s link (only what arrives at `end` unless `both_ways`)."""
    fault = Fault()
    with ExitStack() as stack:
        for side in _ends(end, "both" if both_ways else "in"):
            stack.enter_context(_ingress_drop(side, "blackout", "", fault))
        yield fault


@contextmanager
def loss(end: LinkEnd, pct: int, direction: Direction = "in") -> Iterator[Fault]:
    """Drop `pct` % of IPv4 packets at random, independently in each direction asked for."""
    if not 0 <= pct <= 100:
        raise ValueError(f"loss must be 0-100 %, not {pct}")
    fault = Fault()
    with ExitStack() as stack:
        for side in _ends(end, direction):
            match = f"numgen random mod 100 < {pct}"
            stack.enter_context(_ingress_drop(side, "loss", match, fault))
        yield fault


@contextmanager
def rate(end: LinkEnd, mbit: float, direction: Direction = "out") -> Iterator[None]:
    """Limit the link to `mbit` Mbit/s with tbf on the sending end's egress (NetLab.shape)."""
    if direction not in ("in", "out", "both"):
        raise ValueError(f"direction must be in, out or both, not {direction!r}")
    # What `end` sends leaves by its own egress; what it receives, by the far end's.
    senders = ([end] if direction in ("out", "both") else []) + (
        [far_end(end)] if direction in ("in", "both") else []
    )
    shaped: list[LinkEnd] = []
    try:
        for sender in senders:
            NetLab.shape(sender, mbit)
            shaped.append(sender)
        yield
    finally:
        for sender in shaped:
            _quiet(sender.host, ["tc", "qdisc", "del", "dev", sender.device, "root"])


@contextmanager
def block_udp(host: Host) -> Iterator[Fault]:
    """No UDP in or out of `host` except on loopback: ICE's host and UDP relay candidates die,
    TCP (signaling, TURN over TCP or TLS) still works."""
    table = "tandem_fault_noudp"
    rules = (
        f"table inet {table} {{\n"
        f"  chain input {{ type filter hook input priority 0; policy accept;\n"
        f'    iifname != "lo" meta l4proto udp counter drop\n  }}\n'
        f"  chain output {{ type filter hook output priority 0; policy accept;\n"
        f'    oifname != "lo" meta l4proto udp counter drop\n  }}\n}}\n'
    )
    host.run(["nft", "-f", "-"], input=rules)
    try:
        yield Fault([(host, "inet", table)])
    finally:
        _quiet(host, ["nft", "delete", "table", "inet", table])


def flap(
    end: LinkEnd, on_s: float, off_s: float, times: int, both_ways: bool = True
) -> Generator[tuple[str, float], None, None]:
    """A flapping link as a plan the caller drives: `times` cycles of the link cut for `off_s`
    then back for `on_s`. Each step is yielded once in force, as ("down", off_s) or
    ("up", on_s); the caller waits that long (or on the events it expects) before asking for
    the next. Closing the generator early (break, an exception) restores the link."""
    for _ in range(times):
        with blackout(end, both_ways):
            yield "down", off_s
        yield "up", on_s


@contextmanager
def frozen(proc: subprocess.Popen[str]) -> Iterator[None]:
    """SIGSTOP `proc` (no packets, no pings, sockets left open), SIGCONT on leaving; each
    returns once the kernel has done it (a signal's delivery is not instant)."""
    proc.send_signal(signal.SIGSTOP)
    # WNOWAIT leaves the status for Popen.wait(); WEXITED so a dying child cannot hang us.
    os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            os.waitid(os.P_PID, proc.pid, os.WCONTINUED | os.WEXITED | os.WNOWAIT)


def sigkill(proc: subprocess.Popen[str]) -> int:
    """Kill `proc` without a chance to say goodbye; its exit status (-9 once it is reaped)."""
    proc.kill()
    return proc.wait(timeout=STOP_WITHIN_S)
