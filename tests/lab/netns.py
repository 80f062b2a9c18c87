"""Hosts in network namespaces joined by veth links, with tc shaping and nftables blackouts.

All addresses are inside namespaces this lab creates (10.231.x.0/30 links) and disappear with it.
Shaping is tbf on a link end's egress (the kernel has no netem): shape the server's end to limit
download, the client's end to limit upload.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class Host:
    netns: str

    def command(self, argv: Sequence[str]) -> list[str]:
        """argv prefixed to run inside this host's namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run to completion (raises on failure); kwargs go to subprocess.run (input, env…)."""
        done: subprocess.CompletedProcess[str] = subprocess.run(
            self.command(argv), check=True, capture_output=True, text=True, **kwargs
        )
        return done

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
        process: subprocess.Popen[str] = subprocess.Popen(self.command(argv), text=True, **kwargs)
        return process


@dataclass(frozen=True)
class LinkEnd:
    host: Host
    device: str
    address: str


@dataclass
class NetLab:
    """Create hosts and links; `close()` removes every namespace it made."""

    prefix: str = field(default_factory=lambda: f"tdm{os.getpid() % 100000}x{next(_counter)}")
    hosts: list[Host] = field(default_factory=list)
    _links: int = 0

    def add_host(self, name: str) -> Host:
        host = Host(f"{self.prefix}-{name}")
        _ip("netns", "add", host.netns)
        self.hosts.append(host)
        host.run(["ip", "link", "set", "lo", "up"])
        return host

    def link(self, a: Host, b: Host) -> tuple[LinkEnd, LinkEnd]:
        """A veth pair between two hosts, with a /30 of its own."""
        index = self._links
        self._links += 1
        subnet_third = (os.getpid() + index) % 250
        subnet_second = 231 + index // 250
        dev_a, dev_b = f"v{index}a{self.prefix[-6:]}"[:15], f"v{index}b{self.prefix[-6:]}"[:15]
        _ip(
            "link",
            "add",
            dev_a,
            "netns",
            a.netns,
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            b.netns,
        )
        addr_a = f"10.{subnet_second}.{subnet_third}.{1 + 4 * (index % 60)}"
        addr_b = f"10.{subnet_second}.{subnet_third}.{2 + 4 * (index % 60)}"
        for host, dev, addr in ((a, dev_a, addr_a), (b, dev_b, addr_b)):
            host.run(["ip", "addr", "add", f"{addr}/30", "dev", dev])
            host.run(["ip", "link", "set", dev, "up"])
        return LinkEnd(a, dev_a, addr_a), LinkEnd(b, dev_b, addr_b)

    @staticmethod
    def shape(end: LinkEnd, rate_mbit: float) -> None:
        """Limit what leaves `end` to `rate_mbit` (tbf, accurate on this kernel)."""
        rate_kbit = int(rate_mbit * 1000)
        # A burst of ~10 ms at the rate (at least one MTU) keeps tbf accurate without
        # letting a whole speed-test phase through in one gulp.
        burst = max(rate_kbit * 1000 // 8 // 100, 1600)
        end.host.run(
            [
                "tc",
                "qdisc",
                "replace",
                "dev",
                end.device,
                "root",
                "tbf",
                "rate",
                f"{rate_kbit}kbit",
                "burst",
                str(burst),
                "latency",
                "50ms",
            ]
        )

    @staticmethod
    def unshape(end: LinkEnd) -> None:
        end.host.run(["tc", "qdisc", "del", "dev", end.device, "root"])

    @staticmethod
    def blackhole(end: LinkEnd) -> None:
        """Drop every IP packet arriving at `end` (ARP still passes, so sockets hang silently
        as on a real outage)."""
        table = f"tandem_bh_{end.device}"
        rules = (
            f"table netdev {table} {{\n"
            f"  chain ingress {{ type filter hook ingress device {end.device} priority 0;\n"
            f"    ether type ip drop\n  }}\n}}\n"
        )
        end.host.run(["nft", "-f", "-"], input=rules)

    @staticmethod
    def restore(end: LinkEnd) -> None:
        end.host.run(["nft", "delete", "table", "netdev", f"tandem_bh_{end.device}"])

    @staticmethod
    def drop_percent(end: LinkEnd, percent: int) -> None:
        """Random loss of `percent` % of IP packets arriving at `end`."""
        table = f"tandem_loss_{end.device}"
        rules = (
            f"table netdev {table} {{\n"
            f"  chain ingress {{ type filter hook ingress device {end.device} priority 0;\n"
            f"    ether type ip numgen random mod 100 < {percent} drop\n  }}\n}}\n"
        )
        end.host.run(["nft", "-f", "-"], input=rules)

    def close(self) -> None:
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
        self.hosts.clear()
