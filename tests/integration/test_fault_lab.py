"""Each fault primitive of tests.lab.faults measured for real in network namespaces, and undone.

Two hosts on one veth link; what crosses it is measured with TCP connects and with UDP
datagrams counted by a receiver in the other namespace (so each direction is seen on its own).
After every fault the test checks that no nftables table or tbf qdisc is left and that
traffic flows again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.call_lab import CallLab
from tests.lab.faults import blackout, block_udp, far_end, flap, frozen, loss, rate, sigkill
from tests.lab.netns import Host, LinkEnd, NetLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PORT = 19777
DATAGRAMS = 1000
# Receives UDP (or one TCP connection) until 1 s passes with nothing, then prints a summary.
RECEIVER = """
import json, socket, sys, time
kind = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("0.0.0.0", int(sys.argv[2])))
if kind == "tcp":
    s.listen(1)
print("ready", flush=True)
s.settimeout(10.0)  # the first packet's deadline; then 1 s of quiet ends the count
if kind == "tcp":
    s = s.accept()[0]
count, size, first, last = 0, 0, None, None
try:
    while True:
        data = s.recv(65536)
        if not data:
            break
        last = time.monotonic(); first = first or last
        count, size = count + 1, size + len(data)
        s.settimeout(1.0)
except OSError:
    pass
span = (last - first) if first and last and last > first else None
print(json.dumps({"count": count, "bytes": size, "mbit_s": size * 8 / span / 1e6 if span else 0}))
"""
SENDER = """
import socket, sys, time
address, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
gap = float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(n):
    try:
        s.sendto(b"x" * size, (address, port))
    except OSError:  # a local firewall refuses the send: it is a lost datagram all the same
        pass
    time.sleep(gap)  # pacing, so the receiver's socket buffer never decides the count
"""


def udp(
    sender: Host, receiver: LinkEnd, n: int = DATAGRAMS, size: int = 100, gap: float = 0.001
) -> dict[str, float]:
    """Send `n` datagrams of `size` bytes to `receiver`; what arrived there."""
    recv = receiver.host.popen(
        [sys.executable, "-c", RECEIVER, "udp", str(PORT)], stdout=subprocess.PIPE
    )
    assert recv.stdout is not None and recv.stdout.readline().strip() == "ready"
    argv = [sys.executable, "-c", SENDER, receiver.address, str(PORT), str(n), str(size), str(gap)]
    sender.run(argv, timeout=60)
    out, _ = recv.communicate(timeout=30)
    result: dict[str, float] = json.loads(out)
    return result


# A TCP connect to a closed port: refused (a RST came back) means the path works both ways,
# a timeout that it does not. No ping on this machine, and no need for one.
REACH = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.0).close()
except ConnectionRefusedError:
    pass
except OSError:
    sys.exit(1)
"""


def pings(src: Host, dst: LinkEnd) -> bool:
    """Whether `src` reaches `dst` and hears back within a second."""
    argv = [sys.executable, "-c", REACH, dst.address, str(PORT + 1)]
    return subprocess.run(src.command(argv), capture_output=True).returncode == 0


def leftovers(*hosts: Host) -> str:
    """Any nftables table or tbf qdisc still present in these namespaces."""
    found = ""
    for host in hosts:
        found += host.run(["nft", "list", "tables"]).stdout
        found += "".join(line for line in host.run(["tc", "qdisc"]).stdout if "tbf" in line)
    return found


@pytest.fixture
def link(netlab: NetLab) -> Iterator[tuple[LinkEnd, LinkEnd]]:
    a, b = netlab.add_host("fa"), netlab.add_host("fb")
    ends = netlab.link(a, b)
    assert pings(a, ends[1])
    yield ends
    assert leftovers(a, b) == ""


def test_far_end_finds_the_other_side_of_the_veth(link: tuple[LinkEnd, LinkEnd]) -> None:
    ea, eb = link
    assert far_end(ea) == eb and far_end(eb) == ea


def test_blackout_stops_ip_and_is_undone(link: tuple[LinkEnd, LinkEnd]) -> None:
    ea, eb = link
    with blackout(eb) as fault:
        assert not pings(ea.host, eb) and not pings(eb.host, ea)
        assert fault.dropped() > 0
    assert pings(ea.host, eb)
    with blackout(eb, both_ways=False):  # only what arrives at b
        assert udp(ea.host, eb, n=200)["count"] == 0
        assert udp(eb.host, ea, n=200)["count"] == 200
    assert pings(eb.host, ea)


def test_loss_drops_its_share_in_the_direction_asked(link: tuple[LinkEnd, LinkEnd]) -> None:
    ea, eb = link
    lossy = range(600, 801)  # 30 % of 1,000, well over three standard deviations either side
    with loss(eb, 30, "in"):
        assert udp(ea.host, eb)["count"] in lossy
        assert udp(eb.host, ea)["count"] == DATAGRAMS
    with loss(eb, 30, "out"):
        assert udp(eb.host, ea)["count"] in lossy
        assert udp(ea.host, eb)["count"] == DATAGRAMS
    with loss(eb, 30, "both") as fault:
        there, back = udp(ea.host, eb)["count"], udp(eb.host, ea)["count"]
        assert there in lossy and back in lossy
        assert fault.dropped() == 2 * DATAGRAMS - there - back  # its counters agree
    assert udp(ea.host, eb)["count"] == DATAGRAMS


def test_rate_caps_throughput_in_the_direction_asked(link: tuple[LinkEnd, LinkEnd]) -> None:
    ea, eb = link

    def flood(sender: Host, receiver: LinkEnd) -> float:
        return udp(sender, receiver, n=1000, size=1200, gap=0.002)["mbit_s"]  # ~4.8 offered

    with rate(ea, 1.0, "out"):
        assert 0.7 < flood(ea.host, eb) < 1.3
        assert flood(eb.host, ea) > 2.5
        assert "tbf" in ea.host.run(["tc", "qdisc", "show", "dev", ea.device]).stdout
    with rate(ea, 1.0, "in"):
        assert 0.7 < flood(eb.host, ea) < 1.3
    assert flood(ea.host, eb) > 2.5


def test_block_udp_leaves_tcp(link: tuple[LinkEnd, LinkEnd]) -> None:
    ea, eb = link
    with block_udp(ea.host) as fault:
        assert udp(ea.host, eb, n=100)["count"] == 0
        assert udp(eb.host, ea, n=100)["count"] == 0
        assert fault.dropped() >= 100  # the incoming ones; refused sends never become packets
        tcp = eb.host.popen(
            [sys.executable, "-c", RECEIVER, "tcp", str(PORT)], stdout=subprocess.PIPE
        )
        assert tcp.stdout is not None and tcp.stdout.readline().strip() == "ready"
        send = f"import socket; socket.create_connection(('{eb.address}', {PORT}))"
        send += ".sendall(b'x' * 5000)"
        ea.host.run([sys.executable, "-c", send], timeout=30)
        assert json.loads(tcp.communicate(timeout=30)[0])["bytes"] == 5000
    assert udp(ea.host, eb, n=100)["count"] == 100


def test_flap_is_a_plan_the_caller_drives_and_closing_it_restores(
    link: tuple[LinkEnd, LinkEnd],
) -> None:
    ea, eb = link
    seen = []
    for step, seconds in flap(eb, on_s=2.0, off_s=1.0, times=2):
        seen.append((step, seconds, pings(ea.host, eb)))  # the probe takes the step's time
    assert seen == [("down", 1.0, False), ("up", 2.0, True)] * 2
    plan = flap(eb, on_s=2.0, off_s=1.0, times=5)
    assert next(plan) == ("down", 1.0) and not pings(ea.host, eb)
    plan.close()  # abandoned while the link is cut
    assert pings(ea.host, eb)


def proc_state(proc: subprocess.Popen[str]) -> str:
    return Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_frozen_stops_and_continues_and_sigkill_kills(netlab: NetLab) -> None:
    host = netlab.add_host("fp")
    proc = host.popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with frozen(proc):
            assert proc_state(proc) == "T"
        assert proc_state(proc) not in ("T", "t")  # running again (R, S, or D on a busy disk)
        assert sigkill(proc) == -9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdin is not None
        proc.stdin.close()


def answers(host: Host, url: str) -> bool:
    probe = f"import urllib.request; urllib.request.urlopen('{url}/health', timeout=2)"
    return (
        subprocess.run(host.command([sys.executable, "-c", probe]), capture_output=True).returncode
        == 0
    )


def test_backup_server_and_a_killed_then_restarted_primary(netlab: NetLab, tmp_path: Path) -> None:
    lab = CallLab(netlab, tmp_path)
    try:
        lab.start_server("a")
        lab.start_backup_server()
        client = lab.host("a")
        assert lab.kill_server() == -9
        assert not answers(client, lab.server_url) and answers(client, lab.backup_url)
        lab.restart_server()  # returns once /health answers again
        assert answers(client, lab.server_url)
    finally:
        lab.close()
