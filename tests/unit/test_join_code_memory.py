"""The couple's join code remembered on this computer: private, atomic, never a traceback."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.emergency.join_code_memory import FILENAME, JoinCodeMemory, default_path


def test_save_then_load_is_private(tmp_path: Path) -> None:
    memory = JoinCodeMemory(tmp_path / "config" / FILENAME)
    assert memory.load() is None
    assert memory.save("  abc.def  ")
    assert memory.load() == "abc.def"
    assert stat.S_IMODE(memory.path.stat().st_mode) == 0o600
    assert memory.save("next.code")  # a new code replaces the old one
    assert memory.load() == "next.code"
    memory.forget()
    assert memory.load() is None
    memory.forget()  # twice is fine


@pytest.mark.parametrize("code", ["", "   ", "x" * 4097, "two\nlines"])
def test_what_is_not_a_code_is_not_saved(tmp_path: Path, code: str) -> None:
    memory = JoinCodeMemory(tmp_path / FILENAME)
    assert not memory.save(code)
    assert not memory.path.exists()


@pytest.mark.allow_log_warnings("app.emergency.private_file")
def test_a_damaged_file_reads_as_no_code(tmp_path: Path) -> None:
    memory = JoinCodeMemory(tmp_path / FILENAME)
    memory.path.write_bytes(b"\xff\xfe not text")
    assert memory.load() is None
    memory.path.write_text("has\x00control", encoding="utf-8")
    assert memory.load() is None


@pytest.mark.allow_log_warnings("app.emergency.join_code_memory")
def test_a_folder_that_cannot_be_written_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    memory = JoinCodeMemory(blocker / FILENAME)
    assert not memory.save("abc")


def test_the_default_place_is_the_users_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "Tandem" / FILENAME
