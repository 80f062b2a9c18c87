"""A real session server and real headless participants for the call page's GUI tests."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from app.ui.practice_session import headless_command

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class HeadlessPeer:
    """`python -m app join --headless` in a subprocess; its JSON lines collected on a thread."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def printed(self, kind: str) -> bool:
        return any(f'"type":"{kind}"' in line for line in list(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_headless(server: EmbeddedServer, room: str, role: str, name: str) -> HeadlessPeer:
    token = mint_token(server.config.secret, room, role, name, 600)
    process = subprocess.Popen(
        [*headless_command(server.url), "--token", token],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return HeadlessPeer(process)


@pytest.fixture
def session_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(ServerConfig.for_practice())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def headless_peers() -> Iterator[list[HeadlessPeer]]:
    """Every peer a test starts goes in here and is stopped afterwards."""
    peers: list[HeadlessPeer] = []
    yield peers
    for peer in peers:
        peer.stop()
