"""Headless participants calling each other through the real server, across network namespaces.

Topology: the server's namespace is also the router; each participant has its own namespace and
one link to it, with a default route through it, so peers reach each other's veth addresses as
on a LAN (aiortc never offers 127.0.0.1). Every wait is on a JSON line, with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.server.tokens import mint_token
from tests.lab.netns import Host, NetLab
from tests.lab.participant import DEADLINE_S, Participant

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "lab-secret-" + "x" * 24
PORT = 18443


class Lab:
    def __init__(self, netlab: NetLab, tmp_path: Path) -> None:
        self.netlab = netlab
        self.tmp = tmp_path
        self.router = netlab.add_host("srv")
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.hosts: dict[str, Host] = {}
        self.server_addr = ""
        self.procs: list[subprocess.Popen[str]] = []
        self.env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
        self.env.pop("TANDEM_ICE_LOOPBACK", None)

    def host(self, name: str) -> Host:
        if name not in self.hosts:
            host = self.netlab.add_host(name)
            router_end, host_end = self.netlab.link(self.router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            self.server_addr = self.server_addr or router_end.address
            self.hosts[name] = host
        return self.hosts[name]

    def start_server(self, heartbeat_s: float = 1.0) -> None:
        self.host("a")  # the server listens on the router's first link address
        with open(self.tmp / "server.log", "w") as log:  # the child keeps its own copy
            self.procs.append(
                self.router.popen(
                    [
                        sys.executable,
                        "-m",
                        "app",
                        "server",
                        "--host",
                        self.server_addr,
                        "--port",
                        str(PORT),
                        "--heartbeat",
                        str(heartbeat_s),
                    ],
                    env=self.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
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
                 "--size", "192x108", "--fps", "10", *extra],
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


@pytest.fixture
def lab(netlab: NetLab, tmp_path: Path) -> Iterator[Lab]:
    built = Lab(netlab, tmp_path)
    try:
        built.start_server()
        yield built
    finally:
        built.close()


def test_two_then_three_participants_see_every_other(lab: Lab) -> None:
    tokens = {n: lab.token(n) for n in ("Alice-Lab", "Bob-Lab")}
    tokens["Carol-Lab"] = lab.token("Carol-Lab", role="therapist")
    a = lab.join("a", tokens["Alice-Lab"], verbose=True)
    a_id = a.wait_type("joined")["peer_id"]
    b = lab.join("b", tokens["Bob-Lab"], verbose=True)
    b_joined = b.wait_type("joined")
    b_id = b_joined["peer_id"]
    assert [p["peer_id"] for p in b_joined["peers"]] == [a_id]
    assert a.wait_type("peer_joined")["peer_id"] == b_id
    a.wait_type("peer_connected", peer_id=b_id)
    a.wait_type("first_frame", peer_id=b_id)
    b.wait_type("first_frame", peer_id=a_id)
    stats = b.wait_for(
        "stats with video flowing", lambda line: line["type"] == "stats" and line["fps_in"] > 0
    )
    assert stats["since_last_frame_s"] is not None and stats["bitrate_in_kbps"] > 0

    c = lab.join("c", tokens["Carol-Lab"], verbose=True)
    c_id = c.wait_type("joined")["peer_id"]
    for other in (a, b):
        assert other.wait_type("peer_joined")["peer_id"] == c_id
        other.wait_type("first_frame", peer_id=c_id)
    c.wait_type("first_frame", peer_id=a_id)
    c.wait_type("first_frame", peer_id=b_id)
    for participant in (c, b, a):
        assert participant.stop() == 0
    # Privacy: even at DEBUG, logs carry no name, no token and no SDP (aiortc logs SDPs).
    for participant in (a, b, c):
        assert participant.err_path is not None
        log = participant.err_path.read_text()
        assert "aiortc.rtcpeerconnection" in log  # DEBUG logging really was on
        for secret in (*tokens, *tokens.values(), "a=ice-pwd", "a=fingerprint"):
            assert secret not in log


def test_leave_and_rejoin(lab: Lab) -> None:
    a = lab.join("a", lab.token("Alice"))
    a.wait_type("joined")
    bob = lab.token("Bob")
    b = lab.join("b", bob)
    old_id = b.wait_type("joined")["peer_id"]
    a.wait_type("first_frame", peer_id=old_id)
    assert b.stop() == 0
    a.wait_type("peer_left", peer_id=old_id, reason="left")

    again = lab.join("b", bob)
    new_id = again.wait_type("joined")["peer_id"]
    assert new_id != old_id
    a.wait_type("peer_joined", peer_id=new_id)
    a.wait_type("first_frame", peer_id=new_id)
    again.wait_type("first_frame")
    assert again.stop() == 0 and a.stop() == 0


def test_server_drops_a_participant_that_stops_answering(lab: Lab) -> None:
    a = lab.join("a", lab.token("Alice"))
    a.wait_type("joined")
    b = lab.join("b", lab.token("Bob"))
    b_id = b.wait_type("joined")["peer_id"]
    a.wait_type("first_frame", peer_id=b_id)
    b.proc.send_signal(signal.SIGSTOP)  # frozen: no pings, no media, socket left open
    a.wait_type("peer_left", peer_id=b_id, reason="timeout")
    a.wait_type("state", new="waiting")
    assert a.stop() == 0


def test_a_refused_token_is_an_error_line_and_exit_3(lab: Lab) -> None:
    forged = mint_token("another-secret-" + "y" * 20, "lab-room", "partner", "Eve", 600)
    eve = lab.join("a", forged)
    error = eve.wait_type("error")
    assert error["code"] == "token_invalid"
    assert "Eve" not in error["message"]
    assert eve.proc.wait(timeout=DEADLINE_S) == 3
