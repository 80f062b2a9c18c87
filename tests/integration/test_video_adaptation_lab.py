"""Real packet loss on one direction of a call: the sender on that side steps its video down.

Two headless participants in their own network namespaces, the server's namespace routing
between them (as in test_call_lab). nftables then drops a share of what arrives at b, so a's
upload to b loses packets while b's upload to a does not. a hears of it in b's receiver reports
and must send smaller video; b must keep its size. Every wait is on a JSON line, with a deadline.
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
from tests.lab.netns import LinkEnd, NetLab
from tests.lab.participant import Line, Participant

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "lab-secret-" + "y" * 24
PORT = 18453
LOSS_PERCENT = 20  # well above the adapter's 5 %, so three seconds in a row are all lossy


class TwoHosts:
    """Router + server in one namespace, participants `a` and `b` each on their own link."""

    def __init__(self, netlab: NetLab, tmp_path: Path) -> None:
        self.netlab = netlab
        self.tmp = tmp_path
        self.router = netlab.add_host("vsrv")
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.env = {**os.environ, "TANDEM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
        self.env.pop("TANDEM_ICE_LOOPBACK", None)
        self.ends: dict[str, LinkEnd] = {}
        self.server_addr = ""
        self.procs: list[subprocess.Popen[str]] = []
        for name in ("va", "vb"):
            host = netlab.add_host(name)
            router_end, host_end = netlab.link(self.router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            self.server_addr = self.server_addr or router_end.address
            self.ends[name] = host_end

    def start_server(self) -> None:
        with open(self.tmp / "server.log", "w") as log:
            self.procs.append(
                self.router.popen(
                    [sys.executable, "-m", "app", "server", "--host", self.server_addr,
                     "--port", str(PORT), "--heartbeat", "1"],
                    env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        url = f"http://{self.server_addr}:{PORT}"
        self.router.run([sys.executable, "-m", "tests.lab.health", url], cwd=ROOT, env=self.env)

    def join(self, name: str, role: str) -> Participant:
        """A headless participant sending the default 640x360 at 15 fps test pattern."""
        token = mint_token(SECRET, "video-lab", role, name, 600)
        err_path = self.tmp / f"{name}.err"
        with open(err_path, "w") as err:
            proc = self.ends[name].host.popen(
                [sys.executable, "-m", "app", "join", "--headless",
                 "--server", f"http://{self.server_addr}:{PORT}", "--token", token,
                 "--mic", "none"],
                env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, bufsize=1,
            )  # fmt: skip
        self.procs.append(proc)
        return Participant(name, proc, err_path)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture
def hosts(netlab: NetLab, tmp_path: Path) -> Iterator[TwoHosts]:
    built = TwoHosts(netlab, tmp_path)
    try:
        built.start_server()
        yield built
    finally:
        built.close()


def sent(line: Line) -> tuple[int, int, int]:
    return (line["sent_width"], line["sent_height"], line["sent_fps"])


def test_loss_on_one_direction_steps_only_that_senders_video_down(hosts: TwoHosts) -> None:
    a = hosts.join("va", "partner")
    a.wait_type("joined")
    b = hosts.join("vb", "therapist")
    b_id = b.wait_type("joined")["peer_id"]
    a.wait_type("first_frame", peer_id=b_id)
    b.wait_for("a's video", lambda line: line["type"] == "stats" and line["fps_in"] > 0)
    clean = a.wait_for("a's clean stats", lambda line: line["type"] == "stats")
    assert sent(clean) == (640, 360, 15)

    NetLab.drop_percent(hosts.ends["vb"], LOSS_PERCENT)  # what reaches b: a's upload
    lossy = a.wait_for(
        "a hearing of its loss",
        lambda line: line["type"] == "stats" and (line["packet_loss_out_pct"] or 0) > 5,
    )
    assert sent(lossy) == (640, 360, 15)  # not after a single second
    smaller = a.wait_for(
        "a sending smaller video",
        lambda line: line["type"] == "stats" and line["sent_width"] < 640,
    )
    assert sent(smaller) == (480, 270, 15)  # one rung at a time
    # b sees the loss too, on what it receives; its own upload is clean, so over more lossy
    # seconds than a needed to step down, b keeps sending its full size.
    b_lossy = [
        b.wait_for(
            "b receiving with loss",
            lambda line: line["type"] == "stats" and line["packet_loss_pct"] > 5,
        )
        for _ in range(6)
    ]
    assert {sent(line) for line in b_lossy} == {(640, 360, 15)}
    assert all(line["fps_in"] > 0 for line in b_lossy)  # a's smaller video keeps coming
    for participant in (b, a):
        assert participant.stop() == 0
