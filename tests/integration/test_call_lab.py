"""Headless participants calling each other through the real server, across network namespaces.

Topology: tests.lab.call_lab (the server's namespace is also the router, each participant on its
own link through it). Every wait is on a JSON line, with a deadline.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.server.tokens import mint_token
from tests.lab.call_lab import CallLab, started_lab
from tests.lab.netns import NetLab
from tests.lab.participant import DEADLINE_S

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SMALL_VIDEO = ("--size", "192x108", "--fps", "10")


@pytest.fixture
def lab(netlab: NetLab, tmp_path: Path) -> Iterator[CallLab]:
    # A short grace period: a participant that stops answering is let go within seconds.
    yield from started_lab(netlab, tmp_path, "a", SMALL_VIDEO, grace_s=3.0)


def test_two_then_three_participants_see_every_other(lab: CallLab) -> None:
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


def test_leave_and_rejoin(lab: CallLab) -> None:
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
    assert new_id == old_id  # the identity comes from the token, not the connection
    a.wait_type("peer_joined", peer_id=new_id)
    a.wait_type("first_frame", peer_id=new_id)
    again.wait_type("first_frame")
    assert again.stop() == 0 and a.stop() == 0


def test_a_participant_frozen_past_the_grace_is_interrupted_not_gone(lab: CallLab) -> None:
    a = lab.join("a", lab.token("Alice"))
    a.wait_type("joined")
    b = lab.join("b", lab.token("Bob"))
    b_id = b.wait_type("joined")["peer_id"]
    a.wait_type("first_frame", peer_id=b_id)
    b.proc.send_signal(signal.SIGSTOP)  # frozen: no pings, no media, socket left open
    # Said at once as an interruption, not a departure; the server's grace (3 s here) runs
    # out while it is frozen, and still nobody is told it left: it may come back.
    a.wait_type("peer_interrupted", peer_id=b_id, reason="no_media")
    lab.wait_in_server_log(f"peer {b_id} left")
    b.proc.send_signal(signal.SIGCONT)
    a.wait_type("peer_restored", peer_id=b_id)
    b.wait_type("reconnected", what="signaling")
    assert all(line["type"] != "peer_left" for line in a.seen)
    assert a.stop() == 0 and b.stop() == 0


def test_a_refused_token_is_an_error_line_and_exit_3(lab: CallLab) -> None:
    forged = mint_token("another-secret-" + "y" * 20, "lab-room", "partner", "Eve", 600)
    eve = lab.join("a", forged)
    error = eve.wait_type("error")
    assert error["code"] == "token_invalid"
    assert "Eve" not in error["message"]
    assert eve.proc.wait(timeout=DEADLINE_S) == 3
