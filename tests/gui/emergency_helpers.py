"""Windows wired to an emergency server for the help button's GUI tests.

`FakeLine`: the clients' in-memory fake server (tests/emergency_fake.py), driven by the test
(escalation levels without waiting for them). `real_server`: the session server itself on
loopback (EmbeddedServer), with the emergency routes and short escalation timings when a test
asks for them. The clock of the help screen is the test's (`Clock`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from pytestqt.qtbot import QtBot

from app.emergency.couple_client import EmergencyClient
from app.emergency.join_code_memory import JoinCodeMemory
from app.emergency.location_memory import LocationMemory
from app.emergency.plan_cache import PlanCache
from app.profile import ClinicProfile, PhoneNumber
from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from app.server.emergency.escalation import Timings
from app.server.emergency.routes import ENDPOINT_KEY
from app.server.emergency.settings import EmergencySettings
from app.server.tokens import mint_token
from app.ui.bridge import Bridge
from app.ui.help_controller import HelpController
from app.ui.main_window import MainWindow
from tests.emergency_fake import FakeEmergencyServer
from tests.gui.fakes import FakeDevices, ScriptedCheck

T = TypeVar("T")

SECRET = "gui-emergency-secret-0123456789abcdef"
FAST_OFFLINE = {"offline_after_s": 0.3, "hello_timeout_s": 1.0}
# No level passes during a test that does not wait for one.
SLOW = Timings(ring_again_s=300.0, everyone_s=600.0, unanswered_s=900.0)
BOUND_MS = 15_000  # a hang becomes a failure; nothing here is a timing goal


class Clock:
    """The help screen's clock: it moves only when the test says."""

    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


def clinic_profile(server_url: str) -> ClinicProfile:
    return ClinicProfile(
        clinic_name="Riverside Couples IOP",
        server_url=server_url,
        clinic_phone=PhoneNumber("Clinic front desk", "+1 555 0100"),
    )


def on_loop(bridge: Bridge, fn: Callable[[], T]) -> T:
    """Run `fn` on the bridge's asyncio loop (where the fake server lives) and return its
    result."""

    async def call() -> T:
        return fn()

    return bridge.submit(call()).result(5)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def fake_factory(fake: FakeEmergencyServer) -> Callable[..., EmergencyClient]:
    def make(url: str, token: str, **kw: Any) -> EmergencyClient:
        return EmergencyClient(
            url, token, connect=fake.connect, connection_options=FAST_OFFLINE, **kw
        )

    return make


def fast_offline_factory(url: str, token: str, **kw: Any) -> EmergencyClient:
    return EmergencyClient(url, token, connection_options=FAST_OFFLINE, **kw)


class WindowMaker:
    """Builds main windows with their own help controller (codes, plan, location in `home`)."""

    def __init__(self, qtbot: QtBot, bridge: Bridge, home: Path, clock: Clock) -> None:
        self.qtbot, self.bridge, self.home, self.clock = qtbot, bridge, home, clock
        self.windows: list[MainWindow] = []

    def __call__(
        self,
        profile: ClinicProfile,
        *,
        code: str | None = None,
        factory: Callable[..., EmergencyClient] = fast_offline_factory,
        name: str = "alex",
        size: tuple[int, int] = (1100, 860),
    ) -> MainWindow:
        folder = self.home / name
        codes = JoinCodeMemory(folder / "join-code")
        if code is not None:
            codes.save(code)
        controller = HelpController(
            profile,
            self.bridge,
            codes=codes,
            locations=LocationMemory(folder / "location.txt"),
            plans=PlanCache(folder / "plan.json"),
            now=self.clock,
            client_factory=factory,
        )
        devices = FakeDevices()
        window = MainWindow(
            profile, self.bridge, devices, ScriptedCheck(devices), help_controller=controller
        )
        self.qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        self.qtbot.waitExposed(window)
        self.windows.append(window)
        return window

    def close_all(self) -> None:
        for window in self.windows:
            window.shutdown()


def real_server(timings: Timings = SLOW) -> Iterator[EmbeddedServer]:
    config = replace(
        ServerConfig(host="127.0.0.1", port=0, secret=SECRET),
        emergency=EmergencySettings(timings),
    )
    server = EmbeddedServer(config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def partner_token(name: str = "Alex", room: str = "couple-one") -> str:
    return mint_token(SECRET, room, "partner", name, 600)


def record_kinds(server: EmbeddedServer, case_id: str) -> list[str]:
    """The kinds of the server's records of one case, in order (read on the server's loop)."""
    assert server._runner is not None and server._loop is not None
    store = server._runner.app[ENDPOINT_KEY].desk.store
    records = asyncio.run_coroutine_threadsafe(store.records(case_id=case_id), server._loop)
    return [record.kind for record in records.result(5)]
