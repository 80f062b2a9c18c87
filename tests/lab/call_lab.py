"""A call across network namespaces: the session server on a router, each participant behind it.

The server's namespace is also the router; each participant host has its own link to it and a
default route through it, so peers reach each other's veth addresses as on a LAN (aiortc never
offers 127.0.0.1). Participants are headless `tandem join` children (tests.lab.participant).

For continuity faults: a backup server on the router (same secret, another port) that
participants are told about with --backup-server, and the primary killed and restarted at will.
`code_root` runs another checkout's `python -m app` (a benchmark's before/after), this lab's
helpers still come from this tree.
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.server.tokens import mint_token
from tests.lab.netns import Host, LinkEnd, NetLab
from tests.lab.participant import DEADLINE_S, Participant

ROOT = Path(__file__).resolve().parents[2]
# Random per run: `tandem server` refuses a secret that is short or not random.
SECRET = secrets.token_urlsafe(32)
PORT = 18443
BACKUP_PORT = 18445


class CallLab:
    """The router and its participant hosts; `join_args` go to every participant's command."""

    def __init__(
        self,
        netlab: NetLab,
        tmp_path: Path,
        join_args: tuple[str, ...] = (),
        code_root: Path = ROOT,
    ) -> None:
        self.netlab = netlab
        self.tmp = tmp_path
        self.join_args = join_args
        self.router = netlab.add_host("srv")
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.ends: dict[str, LinkEnd] = {}
        self.server_addr = ""
        self.procs: list[subprocess.Popen[str]] = []
        self.code_root = code_root
        self.env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(code_root)}
        self.env.pop("TANDEM_ICE_LOOPBACK", None)
        self.server: subprocess.Popen[str] | None = None
        self.backup: subprocess.Popen[str] | None = None
        self.server_args: tuple[str, ...] = ()  # given to the primary and the backup alike
        self._heartbeat: tuple[str, ...] = ()

    def host(self, name: str) -> Host:
        """The participant host `name`, linked to the router when first asked for."""
        if name not in self.ends:
            host = self.netlab.add_host(name)
            router_end, host_end = self.netlab.link(self.router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            self.server_addr = self.server_addr or router_end.address
            self.ends[name] = host_end
        return self.ends[name].host

    def start_server(self, first_host: str, heartbeat_s: float | None = 1.0) -> None:
        """Start the server on the router's end of `first_host`'s link, and wait for it.
        `heartbeat_s` None leaves the server's own default."""
        self.host(first_host)
        self._heartbeat = () if heartbeat_s is None else ("--heartbeat", str(heartbeat_s))
        self.server = self._serve(PORT, "server")

    @property
    def server_url(self) -> str:
        return f"http://{self.server_addr}:{PORT}"

    @property
    def backup_url(self) -> str:
        return f"http://{self.server_addr}:{BACKUP_PORT}"

    def start_backup_server(self) -> None:
        """A second server on the router, same secret, on BACKUP_PORT; after start_server."""
        self.backup = self._serve(BACKUP_PORT, "backup")

    def kill_server(self) -> int:
        """SIGKILL the primary server (no goodbye to anyone); its exit status."""
        assert self.server is not None
        self.server.kill()
        return self.server.wait(timeout=DEADLINE_S)

    def restart_server(self) -> None:
        """The primary again, on the same address and port, knowing nobody."""
        self.server = self._serve(PORT, "server")

    def _serve(self, port: int, name: str) -> subprocess.Popen[str]:
        with open(self.tmp / f"{name}.log", "a") as log:  # the child keeps its own copy
            proc = self.router.popen(
                [sys.executable, "-m", "app", "server", "--host", self.server_addr,
                 "--port", str(port), *self._heartbeat, *self.server_args],
                env=self.env, cwd=self.code_root, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.procs.append(proc)
        url = f"http://{self.server_addr}:{port}"
        health = [sys.executable, "-m", "tests.lab.health", url]
        self.router.run(health, cwd=ROOT, env={**self.env, "PYTHONPATH": str(ROOT)})
        return proc

    def wait_in_server_log(self, text: str, timeout: float = DEADLINE_S) -> None:
        """Until the primary server's log has a line containing `text` (read as it is written,
        by `tail -F`, with a deadline)."""
        follower = subprocess.Popen(
            ["tail", "-n", "+1", "-F", str(self.tmp / "server.log")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert follower.stdout is not None
            for line in follower.stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {text!r} in the server log within {timeout} s")
                try:
                    if text in lines.get(timeout=left):
                        return
                except queue.Empty:
                    continue
        finally:
            follower.kill()
            follower.wait()
            if follower.stdout is not None:
                follower.stdout.close()

    def join_supports(self, option: str) -> bool:
        """Whether this code's `tandem join` knows `option` (older checkouts lack new ones)."""
        done = subprocess.run(
            [sys.executable, "-m", "app", "join", "--help"],
            env=self.env, cwd=self.code_root, capture_output=True, text=True,
        )  # fmt: skip
        return option in done.stdout

    def token(self, name: str, role: str = "partner", room: str = "lab-room") -> str:
        return mint_token(SECRET, room, role, name, 600)

    def join(
        self, host: str, token: str, *extra: str, verbose: bool = False, backup: bool = False
    ) -> Participant:
        """A headless participant; `verbose` logs at DEBUG (aiortc's too) to its stderr file,
        `backup` names the backup server (--backup-server)."""
        if backup:
            extra = (*extra, "--backup-server", self.backup_url)
        err_path = self.tmp / f"{host}-{len(self.procs)}.err"
        with open(err_path, "w") as err:
            proc = self.host(host).popen(
                [sys.executable, "-m", "app", *(["-v"] if verbose else []), "join", "--headless",
                 "--server", self.server_url, "--token", token,
                 *self.join_args, *extra],
                env=self.env, cwd=self.code_root, stdout=subprocess.PIPE, stderr=err, bufsize=1,
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
    """A fixture's body: a CallLab with its server running, every child ended after the test.
    `grace_s` sets the server's grace period (how long a silent participant keeps its place)."""
    lab = CallLab(netlab, tmp_path, join_args)
    if grace_s is not None:
        lab.server_args = ("--grace", str(grace_s))
    try:
        lab.start_server(first_host)
        yield lab
    finally:
        lab.close()
