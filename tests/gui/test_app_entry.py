"""`tandem gui --practice` (and `tandem-gui --practice`): practice always runs on the local
server, even when a clinic profile names the clinic's server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.profile import ClinicProfile
from app.ui import main

pytestmark = pytest.mark.gui

CLINIC = """\
[clinic]
name = "Riverside Couples Program"
[servers]
session = "https://sessions.riverside.example:8443"
backup = "https://backup.riverside.example:8443"
[bandwidth]
min_mbps = 3
"""


class RecordingWindow:
    """Stands in for MainWindow: what run_app gave it, and whether practice mode started."""

    made: list[RecordingWindow] = []

    def __init__(self, profile: ClinicProfile, *_: Any) -> None:
        self.profile = profile
        self.practice_started_with: Callable[[], object] | None = None
        RecordingWindow.made.append(self)

    def start_practice_mode(self, start_server: Callable[[], object]) -> None:
        self.practice_started_with = start_server

    def show(self) -> None: ...

    def shutdown(self) -> None: ...


class NoEventLoop:
    def exec(self) -> int:
        return 0


class NoBridge:
    def close(self) -> None: ...


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingWindow]:
    RecordingWindow.made = []
    monkeypatch.setattr(main, "MainWindow", RecordingWindow)
    monkeypatch.setattr(main, "make_application", NoEventLoop)
    monkeypatch.setattr(main, "Bridge", NoBridge)
    monkeypatch.setattr(main, "_import_speedtest_now", lambda: None)
    return RecordingWindow.made


@pytest.fixture
def clinic_profile(tmp_path: Path) -> Path:
    path = tmp_path / "clinic-profile.toml"
    path.write_text(CLINIC, encoding="utf-8")
    return path


def test_practice_with_a_clinic_profile_uses_the_local_server(
    recorded: list[RecordingWindow], clinic_profile: Path
) -> None:
    assert main.run_app(profile_path=clinic_profile, force_practice=True) == 0
    (window,) = recorded
    assert window.profile.server_url is None and window.profile.backup_server_url is None
    assert window.profile.practice_mode
    assert window.practice_started_with is not None
    # The rest of the clinic's profile still applies.
    assert window.profile.clinic_name == "Riverside Couples Program"
    assert window.profile.min_upload_mbps == 3


def test_without_practice_the_clinic_server_is_used(
    recorded: list[RecordingWindow], clinic_profile: Path
) -> None:
    assert main.run_app(profile_path=clinic_profile, force_practice=False) == 0
    (window,) = recorded
    assert window.profile.server_url == "https://sessions.riverside.example:8443"
    assert window.practice_started_with is None
