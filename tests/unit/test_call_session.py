"""CallSession without Qt or a network: the person's clicks before the engine exists, leaving
at every stage of connecting, and a camera that cannot start."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from app.call.engine import CallEngine, JoinError
from app.call.events import CallEvent, CallState
from app.call.session import CallSession, DeviceFactories, LocalDevices
from app.call.signaling import memory_pair
from app.devices.base import Camera, DeviceError, DeviceProblem
from app.devices.fakes import FakeCamera, FakeMicrophone
from app.net.signaling_protocol import welcome_msg

WELCOME = welcome_msg("me", "r", "partner", "N", 30.0, ice_servers=[], peers=[])


class CountingCamera(FakeCamera):
    def __init__(self, fail: DeviceProblem | None = None) -> None:
        super().__init__(fail=fail, realtime=False)
        self.opens = 0

    def open(self, timeout: float = 3.0) -> None:
        self.opens += 1
        super().open(timeout)


class Rig:
    """A session whose engine talks to `server`, the other end of an in-memory signaling pair."""

    def __init__(self, camera: Camera | None = None, hold: threading.Event | None = None) -> None:
        self.client, self.server = memory_pair()
        self.events: list[CallEvent] = []
        self.problems: list[DeviceError] = []
        self.engines: list[CallEngine] = []

        def make_camera() -> Camera:
            if hold is not None and not hold.wait(10):
                raise DeviceError(DeviceProblem.TIMEOUT, "held too long")
            assert camera is not None
            return camera

        self.session = CallSession(
            DeviceFactories(
                camera=make_camera if camera is not None else None,
                microphone=lambda: FakeMicrophone(realtime=False),
            ),
            self._make_engine,
            self.problems.append,
        )

    def _make_engine(self, devices: LocalDevices) -> CallEngine:
        engine = CallEngine(
            "http://unused.invalid",
            "token",
            camera=devices.camera,
            microphone=devices.microphone,
            listener=self.events.append,
            signaling=self.client,
            media=devices.media,  # the session's, as the call page builds it
        )
        self.engines.append(engine)
        return engine

    async def welcome(self) -> None:
        """The server's side: read the join, let the client in."""
        join = await self.server.receive()
        assert join is not None and join["type"] == "join"
        await self.server.send(WELCOME)


async def until(condition: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), timeout)


async def test_clicks_before_the_engine_exists_are_applied_when_it_starts() -> None:
    camera = CountingCamera()
    hold = threading.Event()
    rig = Rig(camera, hold)
    session = rig.session
    join = asyncio.create_task(session.join())
    await until(lambda: session._join_task is not None)
    await session.set_muted(True)
    await session.set_camera_enabled(False)
    hold.set()
    server = asyncio.create_task(rig.welcome())
    assert await join is True
    await server
    engine = session.engine
    assert engine is not None and engine.state is CallState.WAITING
    assert engine.media.muted and engine.media.audio is not None and engine.media.audio.muted
    assert not engine.media.camera_enabled and engine.media.video is not None
    assert not engine.media.video.enabled
    assert camera.opens == 0  # switched off before it was opened: never opened
    await session.set_camera_enabled(True)
    assert camera.opens == 1 and camera.is_open and engine.media.video.enabled
    await session.leave()
    assert engine.state is CallState.LEFT and not camera.is_open


async def test_leave_while_devices_open_stops_before_the_server() -> None:
    camera = CountingCamera()
    hold = threading.Event()
    rig = Rig(camera, hold)
    join = asyncio.create_task(rig.session.join())
    await until(lambda: rig.session._join_task is not None)
    leave = asyncio.create_task(rig.session.leave())
    await until(lambda: rig.session.leaving)
    assert not leave.done()  # it waits for the device step under way
    hold.set()
    await leave
    assert join.done() and join.result() is False
    assert rig.engines == [] and not rig.client.connected
    assert camera.opens == 0


async def test_leave_while_waiting_for_welcome_cancels_the_join_and_says_leave() -> None:
    rig = Rig()
    join = asyncio.create_task(rig.session.join())
    first = await rig.server.receive()
    assert first is not None and first["type"] == "join"
    await rig.session.leave()  # the server never answered: leave does not wait for it
    assert await join is False
    engine = rig.engines[0]
    assert engine.state is CallState.LEFT
    said = await rig.server.receive()
    assert said == {"type": "leave"}
    assert rig.client.closed


async def test_leave_after_a_refused_join_is_quiet() -> None:
    rig = Rig()
    join = asyncio.create_task(rig.session.join())
    await rig.server.receive()
    await rig.server.send({"type": "error", "code": "token_expired", "message": "old"})
    with pytest.raises(JoinError):
        await join
    await rig.session.leave()  # the engine already failed: leave is quiet
    assert rig.engines[0].state is CallState.FAILED


async def test_leave_before_the_join_runs_does_nothing_at_all() -> None:
    rig = Rig(CountingCamera())
    await rig.session.leave()
    assert await rig.session.join() is False
    assert rig.engines == []


@pytest.mark.allow_log_warnings("app.call.session")
async def test_a_camera_that_cannot_start_is_reported_and_retried_only_on_request() -> None:
    camera = CountingCamera(fail=DeviceProblem.PERMISSION)
    rig = Rig(camera)
    join = asyncio.create_task(rig.session.join())
    await rig.welcome()
    assert await join is True
    assert [p.problem for p in rig.problems] == [DeviceProblem.PERMISSION]
    assert camera.opens == 1
    await rig.session.set_camera_enabled(False)
    assert camera.opens == 1 and len(rig.problems) == 1  # switching off opens nothing
    camera.fail = None
    await rig.session.set_camera_enabled(True)
    assert camera.opens == 2 and camera.is_open and len(rig.problems) == 1
    await rig.session.leave()
    assert not camera.is_open


async def test_the_session_owns_the_local_media_and_lets_the_devices_go_once() -> None:
    camera = CountingCamera()
    rig = Rig(camera)
    join = asyncio.create_task(rig.session.join())
    await rig.welcome()
    assert await join is True
    engine, media = rig.engines[0], rig.session.media
    assert media is not None and engine.media is media
    assert media.audio is not None  # the microphone, as a track made once for the call
    await engine.leave()  # the engine's end (or a rebuilt part of it) keeps the devices
    assert not media.released
    await rig.session.leave()
    assert media.released and not camera.is_open
