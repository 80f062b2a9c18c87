"""A call across network namespaces: the session server on a router, each participant behind it.

The server's namespace is also the router; each participant host has its own link to it and a
default route through it, so peers reach each other's veth addresses as on a LAN (aiortc never
offers 127.0.0.1). Participants are headless `tandem join` children (tests.lab.participant).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from app.server.tokens import mint_token
from tests.lab.netns import Host, LinkEnd, NetLab
from tests.lab.participant import Participant

ROOT = Path(__file__).resolve().parents[2]
SECRET = "lab-secret-" + "x" * 24
PORT = 18443


class CallLab:
    """The router and its participant hosts; `join_args` go to every participant's command."""

    def __init__(self, netlab: NetLab, tmp_path: Path, join_args: tuple[str, ...] = ()) -> None:
        self.netlab = netlab
        self.tmp = tmp_path
        self.join_args = join_args
        self.router = netlab.add_host("srv")
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.ends: dict[str, LinkEnd] = {}
        self.server_addr = ""
        self.procs: list[subprocess.Popen[str]] = []
        self.env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
        self.env.pop("TANDEM_ICE_LOOPBACK", None)

    def host(self, name: str) -> Host:
        """The participant host `name`, linked to the router when first asked for."""
        if name not in self.ends:
            host = self.netlab.add_host(name)
            router_end, host_end = self.netlab.link(self.router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            self.server_addr = self.server_addr or router_end.address
            self.ends[name] = host_end
        return self.ends[name].host

    def start_server(
        self, first_host: str, heartbeat_s: float = 1.0, grace_s: float | None = None
    ) -> None:
        """Start the server on the router's end of `first_host`'s link, and wait for it."""
        self.host(first_host)
        with open(self.tmp / "server.log", "w") as log:  # the child keeps its own copy
            self.procs.append(
                self.router.popen(
                    [sys.executable, "-m", "app", "server", "--host", self.server_addr,
                     "--port", str(PORT), "--heartbeat", str(heartbeat_s),
                     *(["--grace", str(grace_s)] if grace_s is not None else [])],
                    env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        url = f"http://{self.server_addr}:{PORT}"
        self.router.run([sys.executable, "-m", "tests.lab.health", url], cwd=ROOT, env=self.env)

    def token(self, name: str, role: str = "partner", room: str = "lab-room") -> str:
        return mint_token(SECRET, room, role, name, 600)

    def join(self, host: str, token: str, *extra: str, verbose: bool = False) -> Participant:
        """A headless participant; `verbose` logs at DEBUG (aiortc's too) to its stderr file."""
        err_path = self.tmp / f"{host}-{len(self.procs)}.err"
        with open(err_path, "w") as err:
            proc = self.host(host).popen(
                [sys.executable, "-m", "app", *(["-v"] if verbose else []), "join", "--headless",
                 "--server", f"http://{self.server_addr}:{PORT}", "--token", token,
                 *self.join_args, *extra],
                env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, bufsize=1,
            )  # fmt: skip
        self.procs.append(proc)
        return Participant(host, proc, err_path)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def started_lab(
    netlab: NetLab,
    tmp_path: Path,
    first_host: str,
    join_args: tuple[str, ...] = (),
    grace_s: float | None = None,
) -> Iterator[CallLab]:
    """A fixture's body: a CallLab with its server running, every child ended after the test."""
    lab = CallLab(netlab, tmp_path, join_args)
    try:
        lab.start_server(first_host, grace_s=grace_s)
        yield lab
    finally:
        lab.close()
