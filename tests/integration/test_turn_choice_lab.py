"""Which TURN address a client uses, against Debian's coturn in a namespace: the UDP relay
while UDP gets through, the TCP one (with no one doing anything) once UDP is blocked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.lab.faults import block_udp
from tests.lab.netns import Host, NetLab
from tests.lab.turn import REPO_ROOT, TURN_PORT, Coturn

pytestmark = [pytest.mark.lab]

PROBE = """
import asyncio, json, sys
from app.call.signaling import IceServer
from app.call.turn_choice import choose_turn
urls = tuple(sys.argv[1:])
chosen = asyncio.run(choose_turn([IceServer(urls, "user", "secret")]))
print(json.dumps([list(server.urls) for server in chosen]))
"""


def chosen_urls(client: Host, urls: list[str]) -> list[list[str]]:
    done = client.run([sys.executable, "-c", PROBE, *urls], cwd=REPO_ROOT, timeout=30)
    result: list[list[str]] = json.loads(done.stdout)
    return result


def test_the_udp_relay_while_udp_works_and_tcp_once_it_is_blocked(
    netlab: NetLab, tmp_path: Path
) -> None:
    relay, client = netlab.add_host("relay"), netlab.add_host("client")
    relay_end, _ = netlab.link(relay, client)
    coturn = Coturn(relay, relay_end.address, "turn-secret", tmp_path / "coturn")
    coturn.start()
    try:
        udp = f"turn:{relay_end.address}:{TURN_PORT}?transport=udp"
        tcp = f"turn:{relay_end.address}:{TURN_PORT}?transport=tcp"
        stun = f"stun:{relay_end.address}:{TURN_PORT}"
        assert chosen_urls(client, [udp, tcp]) == [[udp]]
        assert chosen_urls(client, [stun, udp, tcp]) == [[stun, udp]]  # STUN entries stay
        with block_udp(client) as fault:
            assert chosen_urls(client, [udp, tcp]) == [[tcp]]
            assert fault.dropped() > 0  # the UDP probe really was sent and lost
        dead = f"turn:{relay_end.address}:9?transport=tcp"
        assert chosen_urls(client, [dead, udp]) == [[udp]]  # the first that answers, in order
    finally:
        coturn.close()
