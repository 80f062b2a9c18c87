"""Practice mode's simulated therapist: a real `tandem join --headless` subprocess."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from app.practice import SimulatedTherapist, practice_tokens
from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from tests.gui.call_helpers import room_members


def _closed_port_url() -> str:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def test_the_token_stays_out_of_the_process_list() -> None:
    server = EmbeddedServer(ServerConfig.for_practice())
    server.start()
    tokens = practice_tokens(server.config.secret)
    therapist = SimulatedTherapist(server.url, tokens.therapist)
    try:
        therapist.start()
        process = therapist.process
        assert process is not None
        # In the room: it was admitted with the token it found in its environment.
        assert therapist.joined.wait(30), f"never joined (exit {process.poll()})"
        assert [m.role for m in room_members(server, tokens.room)] == ["therapist"]
        proc = Path(f"/proc/{process.pid}")
        assert tokens.therapist.encode() not in (proc / "cmdline").read_bytes()
        assert b"TANDEM_JOIN_TOKEN=" + tokens.therapist.encode() in (proc / "environ").read_bytes()
    finally:
        therapist.stop()
        server.stop()
    assert therapist.process is None


def test_a_failed_join_shows_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    therapist = SimulatedTherapist(_closed_port_url(), "not-a-token")
    with caplog.at_level(logging.WARNING, logger="app.practice"):
        therapist.start()
        process = therapist.process
        assert process is not None
        assert process.wait(60) == 4  # EXIT_UNREACHABLE
        therapist.stop()  # joins the threads that read its output
    assert any("error server_unreachable" in r.getMessage() for r in caplog.records)
