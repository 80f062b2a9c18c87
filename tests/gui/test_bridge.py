"""The one crossing between asyncio, worker threads and Qt (app/ui/bridge.py)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from app.ui.bridge import Bridge

pytestmark = pytest.mark.gui


def test_work_handed_over_after_close_still_runs_without_callbacks(qtbot: QtBot) -> None:
    # A microphone that finishes opening after the window closed must still be let go of.
    bridge = Bridge()
    bridge.close()
    released = threading.Event()
    called_back: list[object] = []

    def release() -> str:
        released.set()
        return "closed"

    future = bridge.run_blocking(release, on_done=called_back.append)
    assert future.result(timeout=5) == "closed"
    assert released.is_set()
    QCoreApplication.processEvents()  # a callback would be a queued delivery: let it run
    assert called_back == []


def test_failing_work_after_close_is_reported_through_its_future() -> None:
    bridge = Bridge()
    bridge.close()

    def broken() -> None:
        raise OSError("device gone")

    with pytest.raises(OSError, match="device gone"):
        bridge.run_blocking(broken).result(timeout=5)
