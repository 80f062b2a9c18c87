"""The bandwidth check against a real `tandem server` across shaped links in the network lab.

The server runs in one namespace, the check (probe + verdict) in a child process in another,
so every byte crosses a veth link shaped with tbf: the server's end limits download, the
client's end limits upload, and each direction is shaped alone to prove it is measured alone.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import Host, LinkEnd, NetLab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PORT = 18080

# Runs inside the client namespace: the real probe and check, printing the result as JSON.
CLIENT = """
import json, sys
from app.checks.bandwidth import check_bandwidth
from app.net.bandwidth_probe import SessionServerProbe
print(json.dumps(check_bandwidth(SessionServerProbe(sys.argv[1])).to_json()))
"""


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT)
    env["TANDEM_SECRET"] = secrets.token_urlsafe(32)
    return env


@dataclass
class Lab:
    net: NetLab
    client: Host
    server_end: LinkEnd
    client_end: LinkEnd

    @property
    def url(self) -> str:
        return f"http://{self.server_end.address}:{PORT}"

    def wait_for_server(self) -> None:
        self.client.run(
            [sys.executable, "-m", "tests.lab.health", self.url], cwd=str(ROOT), env=_child_env()
        )

    def check(self) -> dict[str, Any]:
        done = self.client.run(
            [sys.executable, "-c", CLIENT, self.url], cwd=str(ROOT), env=_child_env()
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture
def lab(netlab: NetLab, tmp_path: Path) -> Iterator[Lab]:
    server_host = netlab.add_host("srv")
    client_host = netlab.add_host("cli")
    server_end, client_end = netlab.link(server_host, client_host)
    log = (tmp_path / "server.log").open("w")
    server = server_host.popen(
        [sys.executable, "-m", "app", "server", "--host", server_end.address, "--port", str(PORT)],
        cwd=str(ROOT),
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    lab = Lab(netlab, client_host, server_end, client_end)
    try:
        lab.wait_for_server()
        yield lab
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_slow_download_fails_while_free_upload_passes(lab: Lab) -> None:
    NetLab.shape(lab.server_end, 3)
    result = lab.check()
    metrics = result["metrics"]
    assert result["status"] == "fail"
    assert metrics["download_mbps"] < 5
    assert metrics["download_mbps"] > 2.5  # measured, not a stand-in zero
    assert metrics["upload_mbps"] >= 6
    assert "download is too slow" in result["reason"]
    assert "upload" not in result["reason"]


def test_slow_upload_fails_while_free_download_passes(lab: Lab) -> None:
    NetLab.shape(lab.client_end, 3)
    result = lab.check()
    metrics = result["metrics"]
    assert result["status"] == "fail"
    assert 2.5 < metrics["upload_mbps"] < 5
    assert metrics["download_mbps"] >= 6
    assert "upload is too slow" in result["reason"]
    assert "download" not in result["reason"]
    assert metrics["engine_upload_mbps"] is not None


def test_twenty_megabit_each_way_passes(lab: Lab) -> None:
    NetLab.shape(lab.server_end, 20)
    NetLab.shape(lab.client_end, 20)
    result = lab.check()
    metrics = result["metrics"]
    assert result["status"] == "pass", result
    # Far above the 5 Mbps minimum and never above the link. How close each figure comes to
    # 20 is the benchmark's question (benchmarks/equipment_check.py, within 6 % there): one TCP
    # retransmission timeout in the ~1.2 s steady window costs up to a fifth of the figure, and
    # on a busy CI machine it happens (one run measured 14.7 up).
    assert 12 < metrics["download_mbps"] < 22
    assert 12 < metrics["upload_mbps"] < 22


def test_blackholed_server_fails_clearly(lab: Lab) -> None:
    NetLab.blackhole(lab.server_end)
    result = lab.check()
    assert result["status"] == "fail"
    assert result["metrics"]["problem"] == "timeout"
    assert "not answering" in result["reason"]
    assert "download_mbps" not in result["metrics"]


def test_refused_port_fails_clearly(lab: Lab) -> None:
    result = json.loads(
        lab.client.run(
            [sys.executable, "-c", CLIENT, f"http://{lab.server_end.address}:{PORT + 1}", "check"],
            cwd=str(ROOT),
            env=_child_env(),
        ).stdout
    )
    assert result["status"] == "fail"
    assert result["metrics"]["problem"] == "refused"
    assert "turned the connection away" in result["reason"]
