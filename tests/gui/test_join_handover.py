"""Join session: the call opens the camera only after the preview and the meter let go of theirs.

A camera that, like a real one, refuses a second opener ("busy") records who opened and closed
it. The preview's close is held back until the test lets it go, so a call that started early
would open the camera while the preview still holds it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.call.setup import JOIN_TOKEN_ENV, CallSetup
from app.devices.base import DeviceError, DeviceInfo, DeviceProblem
from app.devices.fakes import FakeCamera
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.main_window import MainWindow
from tests.gui.fakes import FakeDevices, ScriptedCheck

pytestmark = pytest.mark.gui

GATE_BOUND_S = 10.0  # the held-back close gives up after this, so a failing test cannot hang


class CameraSocket:
    """The one physical camera all ExclusiveCameras share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holder: ExclusiveCamera | None = None
        self.log: list[str] = []
        self.close_gate = threading.Event()  # the preview's close waits for this

    def record(self, entry: str) -> None:
        with self.lock:
            self.log.append(entry)


class ExclusiveCamera(FakeCamera):
    def __init__(self, socket: CameraSocket, owner: str) -> None:
        super().__init__(realtime=False)
        self.socket = socket
        self.owner = owner

    def open(self, timeout: float = 3.0) -> None:
        with self.socket.lock:
            if self.socket.holder is not None and self.socket.holder is not self:
                self.socket.log.append(f"busy:{self.owner}")
                raise DeviceError(DeviceProblem.BUSY, "the camera is in use")
            self.socket.holder = self
            self.socket.log.append(f"open:{self.owner}")
        super().open(timeout)

    def close(self) -> None:
        if self.owner == "preview":
            self.socket.close_gate.wait(GATE_BOUND_S)  # a slow driver, on the preview's worker
        with self.socket.lock:
            if self.socket.holder is self:
                self.socket.holder = None
                self.socket.log.append(f"close:{self.owner}")
        super().close()


class ExclusiveDevices(FakeDevices):
    def __init__(self) -> None:
        super().__init__()
        self.socket = CameraSocket()
        self.next_owner = "preview"

    def camera(self, device_id: str | None) -> ExclusiveCamera:
        camera = ExclusiveCamera(self.socket, self.next_owner)
        self.opened_cameras.append(camera)
        return camera


@pytest.fixture
def exclusive() -> ExclusiveDevices:
    return ExclusiveDevices()


@pytest.fixture
def clinic_window(
    qtbot: QtBot,
    bridge: Bridge,
    profile: ClinicProfile,
    exclusive: ExclusiveDevices,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    monkeypatch.setenv(JOIN_TOKEN_ENV, "a-join-code")
    clinic = replace(profile, server_url="http://127.0.0.1:9")  # never reached: start is faked
    w = MainWindow(clinic, bridge, exclusive, ScriptedCheck(exclusive))
    qtbot.addWidget(w)
    w.resize(1100, 860)
    w.show()
    qtbot.waitExposed(w)
    yield w
    exclusive.socket.close_gate.set()
    w.shutdown()


def fake_call_start(window: MainWindow, exclusive: ExclusiveDevices) -> list[str]:
    """Replace the call's start with its first act, opening the camera, and note the moment."""
    seen: list[str] = []

    def start(setup: CallSetup) -> None:
        preflight = window.preflight
        seen.append(
            f"start(preview holds={preflight.preview.holds_camera}, "
            f"meter holds={preflight.meter.holds_microphone})"
        )
        exclusive.socket.record("call starts")
        exclusive.next_owner = "call"
        assert setup.make_camera is not None
        try:
            setup.make_camera().open()
        except DeviceError as error:
            seen.append(f"camera {error.problem.value}")

    window.call_page.start = start  # type: ignore[method-assign]
    return seen


def test_the_call_opens_the_camera_only_after_the_preview_closed_it(
    qtbot: QtBot, clinic_window: MainWindow, exclusive: ExclusiveDevices
) -> None:
    window, page = clinic_window, clinic_window.preflight
    qtbot.waitUntil(lambda: page.preview.frames_shown > 0 and page.meter.running, timeout=5000)
    seen = fake_call_start(window, exclusive)
    assert page.join_button.isEnabled()

    QTest.mouseClick(page.join_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.call_page
    # The preview was told to stop but its camera is still closing: the call must wait.
    qtbot.waitUntil(lambda: not page.meter.holds_microphone)
    assert page.preview.holds_camera
    assert seen == []
    assert "call starts" not in exclusive.socket.log
    assert not window.join_session(token="again")  # a second press while waiting does nothing

    exclusive.socket.close_gate.set()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == ["start(preview holds=False, meter holds=False)"]
    assert exclusive.socket.log == ["open:preview", "close:preview", "call starts", "open:call"]
    assert window.call_page.controls.mute_button.hasFocus() or not window.isActiveWindow()


@pytest.mark.allow_log_warnings("app.ui.main_window")
def test_a_preview_that_never_lets_go_does_not_keep_the_person_out(
    qtbot: QtBot,
    clinic_window: MainWindow,
    exclusive: ExclusiveDevices,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window, page = clinic_window, clinic_window.preflight
    qtbot.waitUntil(lambda: page.preview.frames_shown > 0, timeout=5000)
    seen = fake_call_start(window, exclusive)
    window._release_timer.setInterval(50)  # the last-resort wait, shortened for the test

    QTest.mouseClick(page.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    # Joined anyway; the camera says busy, which the call page explains (audio goes on).
    assert seen[0].startswith("start(preview holds=True") and seen[1:] == ["camera busy"]
    assert "did not release the devices in time" in caplog.text


class SlowListingDevices(FakeDevices):
    """Speakers take a while to list (a Bluetooth headset waking up)."""

    def __init__(self) -> None:
        super().__init__()
        self.listing_gate = threading.Event()

    def list_speakers(self) -> list[DeviceInfo]:
        self.listing_gate.wait(GATE_BOUND_S)
        return super().list_speakers()


def test_joining_before_the_device_lists_are_in_waits_for_them(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the wait, the speaker still "Looking…" would read as no speaker: a silent call.
    monkeypatch.setenv(JOIN_TOKEN_ENV, "a-join-code")
    devices = SlowListingDevices()
    window = MainWindow(
        replace(profile, server_url="http://127.0.0.1:9"), bridge, devices, ScriptedCheck(devices)
    )
    qtbot.addWidget(window)
    started: list[CallSetup] = []
    window.call_page.start = started.append  # type: ignore[method-assign,assignment]
    try:
        window.show()
        page = window.preflight
        qtbot.waitUntil(lambda: page.mic_picker.has_device)
        assert page.speaker_picker.loading
        assert window.join_session()
        qtbot.waitUntil(lambda: not page.meter.holds_microphone)
        assert started == []
        devices.listing_gate.set()
        qtbot.waitUntil(lambda: bool(started), timeout=5000)
        (setup,) = started
        assert setup.make_speaker is not None and setup.make_microphone is not None
    finally:
        devices.listing_gate.set()
        window.shutdown()
