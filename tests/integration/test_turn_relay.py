"""Calls through Debian's coturn with the TURN credentials the session server hands out.

Topology: a router namespace runs the session server and coturn (both on its first link address)
and forwards between the participants' links, except that an nftables rule drops whatever it
would forward between the two participant subnets. The participants reach the server and coturn,
and each other only through coturn's relay: the path a fallback to a relay depends on.

coturn runs as in production (`use-auth-secret`, a static secret, realm "tandem"); the server gets
`turn_url` from its --config file and the secret from TANDEM_TURN_SECRET. Every wait is on a JSON
line or a process, with a deadline. A wrong secret is checked against coturn directly, not with a
whole call: with no relay candidate aiortc gives up on the peer only after ~64 s.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.server.config import ServerConfig
from app.server.ice import ice_servers
from app.server.tokens import mint_token
from tests.lab.netns import Host, LinkEnd, NetLab
from tests.lab.participant import Participant
from tests.lab.requirements import need_program
from tests.lab.turn import Coturn

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TOKEN_SECRET = "turn-lab-token-secret-" + "x" * 16
TURN_SECRET = "turn-lab-static-auth-secret-" + "y" * 8
TURN_TTL_S = 900
PORT = 18443
ISOLATION_TABLE = "tandem_isolate"


class RelayLab:
    """Router (server + coturn) and two participant hosts that cannot reach each other."""

    def __init__(self, netlab: NetLab, tmp: Path) -> None:
        self.tmp = tmp
        self.router = netlab.add_host("srv")
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.hosts: dict[str, Host] = {}
        subnets: list[ipaddress.IPv4Network] = []
        router_ends: list[LinkEnd] = []
        self.participant_addresses: list[str] = []
        for name in ("a", "b"):
            host = netlab.add_host(name)
            router_end, host_end = netlab.link(self.router, host)
            host.run(["ip", "route", "add", "default", "via", router_end.address])
            self.hosts[name] = host
            router_ends.append(router_end)
            self.participant_addresses.append(host_end.address)
            subnets.append(ipaddress.IPv4Interface(f"{host_end.address}/30").network)
        self.address = router_ends[0].address  # the session server's and coturn's
        self.turn = Coturn(self.router, self.address, TURN_SECRET, tmp / "coturn")
        self.procs: list[subprocess.Popen[str]] = []
        self.env = {**os.environ, "TANDEM_SECRET": TOKEN_SECRET, "PYTHONPATH": str(ROOT)}
        for name in ("TANDEM_ICE_LOOPBACK", "TANDEM_TURN_SECRET"):
            self.env.pop(name, None)
        self._isolate(*subnets)

    def _isolate(self, net_a: ipaddress.IPv4Network, net_b: ipaddress.IPv4Network) -> None:
        rules = (
            f"table inet {ISOLATION_TABLE} {{\n"
            f"  chain forward {{ type filter hook forward priority 0; policy accept;\n"
            f"    ip saddr {net_a} ip daddr {net_b} counter drop\n"
            f"    ip saddr {net_b} ip daddr {net_a} counter drop\n  }}\n}}\n"
        )
        self.router.run(["nft", "-f", "-"], input=rules)

    def dropped_packets(self) -> int:
        """Packets the router refused to forward between the participants."""
        listing = json.loads(
            self.router.run(["nft", "-j", "list", "table", "inet", ISOLATION_TABLE]).stdout
        )
        total = 0
        for item in listing["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                total += expr.get("counter", {}).get("packets", 0)
        return total

    def start(self) -> None:
        self.turn.start()
        config = self.tmp / "server.toml"
        config.write_text(f'[server]\nturn_url = ["{self.turn.url}"]\nturn_ttl = {TURN_TTL_S}\n')
        env = {**self.env, "TANDEM_TURN_SECRET": TURN_SECRET}
        argv = [sys.executable, "-m", "app", "server", "--config", str(config),
                "--host", self.address, "--port", str(PORT), "--heartbeat", "1"]  # fmt: skip
        with open(self.tmp / "server.log", "w") as log:
            self.procs.append(
                self.router.popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            )
        url = f"http://{self.address}:{PORT}"
        self.router.run([sys.executable, "-m", "tests.lab.health", url], cwd=ROOT, env=self.env)

    def join(self, host: str, name: str) -> Participant:
        token = mint_token(TOKEN_SECRET, "relay-room", "partner", name, 600)
        with open(self.tmp / f"{host}.err", "w") as err:
            proc = self.hosts[host].popen(
                [sys.executable, "-m", "app", "join", "--headless",
                 "--server", f"http://{self.address}:{PORT}", "--token", token,
                 "--size", "192x108", "--fps", "10"],
                env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, bufsize=1,
            )  # fmt: skip
        self.procs.append(proc)
        return Participant(host, proc)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.turn.close()


@pytest.fixture
def relay_lab(netlab: NetLab, tmp_path: Path) -> Iterator[RelayLab]:
    need_program("turnserver")
    lab = RelayLab(netlab, tmp_path)
    try:
        yield lab
    finally:
        lab.close()  # the namespaces go with the netlab fixture, after this


def test_a_call_goes_through_the_relay_when_peers_cannot_reach_each_other(
    relay_lab: RelayLab,
) -> None:
    lab = relay_lab
    issued_after = int(time.time())
    lab.start()
    a = lab.join("a", "Alice-Relay")
    a_id = a.wait_type("joined")["peer_id"]
    b = lab.join("b", "Bob-Relay")
    b_id = b.wait_type("joined")["peer_id"]
    a.wait_type("peer_connected", peer_id=b_id)
    b.wait_type("peer_connected", peer_id=a_id)
    a.wait_type("first_frame", peer_id=b_id)
    b.wait_type("first_frame", peer_id=a_id)
    issued_before = int(time.time())
    # Media flowed although the router dropped what the peers sent each other directly.
    assert lab.dropped_packets() > 0
    assert a.stop() == 0 and b.stop() == 0

    lab.turn.close()  # coturn's log is complete once it has exited
    log = lab.turn.log()
    users = set(
        re.findall(r"user <(\d+:[0-9a-f]{16})>: incoming packet ALLOCATE processed, success", log)
    )
    assert len(users) == 2, log  # a fresh credential in each participant's welcome
    for user in users:  # expiring turn_ttl (from --config) after it was issued
        assert issued_after + TURN_TTL_S <= int(user.split(":")[0]) <= issued_before + TURN_TTL_S
    assert "CHANNEL_BIND processed, success" in log
    peers = set(re.findall(r"peer (\d+\.\d+\.\d+\.\d+):\d+ lifetime updated", log))
    assert peers and peers <= {*lab.participant_addresses, lab.address}, log


def test_coturn_takes_the_servers_credentials_and_refuses_a_wrong_secret_or_an_expired_one(
    netlab: NetLab, tmp_path: Path
) -> None:
    """The check of the credential format against coturn itself, with the client code the
    participants use (aioice). A whole call with a wrong secret is no quicker test: with no relay
    candidate aiortc reports the peer failed only after aioice's last STUN retry, ~64 s."""
    need_program("turnserver")
    turn_host, client = netlab.add_host("turn"), netlab.add_host("client")
    turn_end, _ = netlab.link(turn_host, client)
    coturn = Coturn(turn_host, turn_end.address, TURN_SECRET, tmp_path / "coturn")

    def offered(turn_secret: str, now: float | None = None) -> tuple[str, str, str]:
        """The TURN entry of a welcome from a server with this turn_secret."""
        config = ServerConfig(turn_urls=(coturn.url,), turn_secret=turn_secret)
        (server,) = ice_servers(config, now)
        return server["urls"][0], server["username"], server["credential"]

    try:
        coturn.start()
        granted = coturn.allocate(client, *offered(TURN_SECRET))
        assert granted["ok"] and granted["relayed"][0] == coturn.address, granted
        wrong = coturn.allocate(client, *offered("not-" + TURN_SECRET))
        assert wrong == {"ok": False, "error_code": 401, "reason": "Unauthorized"}
        an_hour_late = time.time() - ServerConfig.turn_ttl_s - 3600
        expired = coturn.allocate(client, *offered(TURN_SECRET, now=an_hour_late))
        assert expired == {"ok": False, "error_code": 401, "reason": "Unauthorized"}
    finally:
        coturn.close()
