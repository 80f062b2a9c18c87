"""GUI test fixtures: the QApplication, a bridge, fake devices and a window per test.

Qt warnings fail a test through pytest-qt (qt_log_level_fail, pyproject.toml) and tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.profile import ClinicProfile, PhoneNumber
from app.ui.bridge import Bridge
from app.ui.main import make_application
from app.ui.main_window import MainWindow
from tests.gui.fakes import FakeDevices, ScriptedCheck


@pytest.fixture(autouse=True)
def private_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's config and data folders (the remembered join code, the safety plan, the
    location) are the test's own: a test never reads or writes the real ones."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


@pytest.fixture(scope="session")
def qapp_cls() -> type:
    from PySide6.QtWidgets import QApplication

    return QApplication


@pytest.fixture
def styled_app(qapp: object) -> object:
    """The session QApplication with Tandem's font and stylesheet applied."""
    return make_application()


@pytest.fixture
def bridge(styled_app: object) -> Iterator[Bridge]:
    b = Bridge()
    yield b
    b.close()


@pytest.fixture
def profile() -> ClinicProfile:
    return ClinicProfile(
        clinic_name="Riverside Couples IOP",
        clinic_phone=PhoneNumber("Clinic front desk", "+1 555 0100"),
        dial_in_numbers=(PhoneNumber("Session dial-in (audio only)", "+1 555 0123,,4567#"),),
    )


@pytest.fixture
def devices() -> FakeDevices:
    return FakeDevices()


@pytest.fixture
def check(devices: FakeDevices) -> ScriptedCheck:
    return ScriptedCheck(devices)


@pytest.fixture
def window(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, devices: FakeDevices, check: ScriptedCheck
) -> Iterator[MainWindow]:
    w = MainWindow(profile, bridge, devices, check)
    qtbot.addWidget(w)
    w.resize(1100, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()
