"""A call between the frozen app and the sources: `tandem join --headless` from the bundle and
from source, through the session server from source, media both ways (the frozen aiortc, its
codecs and its DTLS against the ones the sources use)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.server.embedded import EmbeddedServer, start_practice_server
from app.server.tokens import mint_token
from tests.bundle.frozen import ROOT, frozen_env
from tests.lab.participant import Participant

pytestmark = [pytest.mark.bundle, pytest.mark.slow]

ROOM = "couple-frozen"


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    embedded = start_practice_server()
    try:
        yield embedded
    finally:
        embedded.stop()


def join(command: list[str], server: EmbeddedServer, role: str, err: Path) -> Participant:
    token = mint_token(server.config.secret, ROOM, role, role.title(), 600)
    args = [
        "join", "--headless", "--server", server.url, "--token", token, "--allow-loopback",
        "--camera", "pattern", "--mic", "tone", "--duration", "60",
    ]  # fmt: skip
    with err.open("w") as stderr:
        process = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env=frozen_env() if command[0] != sys.executable else None,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    return Participant(role, process, err_path=err)


def test_the_frozen_client_and_a_source_client_see_each_other(
    bundle: Path, server: EmbeddedServer, tmp_path: Path
) -> None:
    frozen = join([str(bundle / "tandem")], server, "partner", tmp_path / "frozen.err")
    source = join([sys.executable, "-m", "app"], server, "therapist", tmp_path / "source.err")
    try:
        for participant in (frozen, source):
            participant.wait_type("peer_connected")
            participant.wait_type("first_frame")
        assert frozen.stop() == 0, (tmp_path / "frozen.err").read_text()[-3000:]
        assert source.stop() == 0
    finally:
        for participant in (frozen, source):
            if participant.proc.poll() is None:
                participant.proc.kill()
                participant.proc.wait(timeout=10)
            if participant.proc.stdout is not None:
                participant.proc.stdout.close()
