"""A real session server and real headless participants for the call page's GUI tests."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest
from pytestqt.qtbot import QtBot

from app.practice import headless_command
from app.profile import ClinicProfile
from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from app.server.rooms import JoinOutcome, Member, RoomRegistry
from app.server.signaling import HUB_KEY, Hub
from app.server.tokens import mint_token
from app.ui.bridge import Bridge
from app.ui.call_page import CallPage
from app.ui.main_window import MainWindow
from tests.gui.fakes import FakeDevices, ScriptedCheck

ROOT = Path(__file__).resolve().parents[2]

Shown = TypeVar("Shown", MainWindow, CallPage)


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


def server_hub(server: EmbeddedServer) -> Hub:
    """The running server's signaling hub (its registry is who the server counts as in a room)."""
    assert server._runner is not None
    return server._runner.app[HUB_KEY]


def room_members(server: EmbeddedServer, room: str) -> list[Member]:
    """Who the server counts as in `room` right now (asked on the server's own loop)."""
    assert server._loop is not None
    members = server_hub(server).registry.members(room)
    return asyncio.run_coroutine_threadsafe(members, server._loop).result(5)


class HeldRegistry:
    """The server's registry with joins held at the door until `release()`: a client's join is
    then in flight for as long as a test needs. `entered`/`done` say where the server is."""

    def __init__(self, inner: RoomRegistry, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.done = threading.Event()
        self._loop = loop
        self._door = asyncio.Event()  # waited on (and set) only on the server's loop

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._door.set)

    async def join(self, room: str, member: Member) -> JoinOutcome:
        self.entered.set()
        await self._door.wait()
        try:
            return await self.inner.join(room, member)
        finally:
            self.done.set()

    async def leave(self, room: str, peer_id: str) -> Member | None:
        return await self.inner.leave(room, peer_id)

    async def members(self, room: str) -> list[Member]:
        return await self.inner.members(room)


def hold_joins(server: EmbeddedServer) -> HeldRegistry:
    """Hold every join at `server` until the returned registry's `release()`."""
    hub = server_hub(server)
    assert server._loop is not None
    held = HeldRegistry(hub.registry, server._loop)
    hub.registry = held
    return held


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


def shown(qtbot: QtBot, widget: Shown, width: int, height: int) -> Iterator[Shown]:
    """A fixture's body: `widget` on screen at width x height, shut down after the test."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def clinic_window(
    qtbot: QtBot,
    bridge: Bridge,
    profile: ClinicProfile,
    devices: FakeDevices,
    check: ScriptedCheck,
    session_server: EmbeddedServer,
) -> Iterator[MainWindow]:
    """The window of a clinic setup whose session server is the embedded one."""
    clinic = replace(profile, server_url=session_server.url)
    yield from shown(qtbot, MainWindow(clinic, bridge, devices, check), 1100, 860)
