"""The installed app starts itself with its own launcher and finds a profile its clinic shipped;
run from source, neither changes anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app import frozen, profile
from app.practice import headless_command


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pretend to be the installed app in tmp_path/opt (launcher) with tmp_path/opt/_internal."""
    folder = tmp_path / "opt"
    (folder / "_internal").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(folder / "tandem"))
    monkeypatch.setattr(sys, "_MEIPASS", str(folder / "_internal"), raising=False)
    return folder


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "Tandem" / "clinic-profile.toml"
    monkeypatch.setattr(profile, "user_profile_path", lambda: path)
    return path


def write_profile(path: Path, clinic: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[clinic]\nname = "{clinic}"\n', encoding="utf-8")
    return path


def test_from_source_tandem_is_python_dash_m_app() -> None:
    assert not frozen.is_frozen()
    assert frozen.tandem_command() == [sys.executable, "-m", "app"]
    assert frozen.install_folders() == ()
    assert headless_command("http://127.0.0.1:1")[:4] == [sys.executable, "-m", "app", "join"]


def test_installed_tandem_is_its_own_launcher(installed: Path) -> None:
    assert frozen.tandem_command() == [str(installed / "tandem")]
    assert headless_command("http://127.0.0.1:1")[:2] == [str(installed / "tandem"), "join"]
    assert frozen.install_folders() == (installed.resolve(), (installed / "_internal").resolve())


def test_a_profile_beside_the_installed_app_is_used_when_the_user_has_none(
    installed: Path, user_config: Path
) -> None:
    assert profile.default_profile_path() == user_config  # none anywhere: practice mode
    assert profile.read_profile().practice_mode
    write_profile(installed / "_internal" / "clinic-profile.toml", "Built in")
    assert profile.read_profile().clinic_name == "Built in"
    beside = write_profile(installed / "clinic-profile.toml", "Beside the launcher")
    assert profile.default_profile_path() == beside
    assert profile.load_profile().clinic_name == "Beside the launcher"


def test_the_users_own_profile_wins_over_the_one_the_app_shipped_with(
    installed: Path, user_config: Path
) -> None:
    write_profile(installed / "clinic-profile.toml", "Shipped")
    write_profile(user_config, "Sent later by the clinic")
    assert profile.read_profile().clinic_name == "Sent later by the clinic"


def test_from_source_a_stray_profile_beside_python_is_ignored(
    user_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    write_profile(tmp_path / "bin" / "clinic-profile.toml", "Not a clinic")
    assert profile.read_profile().practice_mode
