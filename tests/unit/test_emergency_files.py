"""The safety plan and the location kept on this computer: private, atomic, never a crash."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.emergency import private_file
from app.emergency.location_memory import LocationMemory
from app.emergency.models import Plan
from app.emergency.plan_cache import PlanCache


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_plan_is_saved_private_and_read_back(tmp_path: Path) -> None:
    cache = PlanCache(tmp_path / "data" / "plan.json", clock=lambda: 42.0)
    assert cache.load() is None
    cache.save(Plan("## Warning signs\n- not sleeping ✓", 1_700_000_000.0))
    loaded = cache.load()
    assert loaded is not None
    assert loaded.text == "## Warning signs\n- not sleeping ✓"
    assert (loaded.updated_at, loaded.saved_at) == (1_700_000_000.0, 42.0)
    assert loaded.plan == Plan(loaded.text, 1_700_000_000.0)
    assert mode(cache.path) == 0o600 and mode(cache.path.parent) == 0o700
    assert "Warning" not in repr(loaded)
    assert [p.name for p in cache.path.parent.iterdir()] == ["plan.json"]  # no temporary left


def test_a_rewrite_replaces_the_file_and_fixes_loose_rights(tmp_path: Path) -> None:
    cache = PlanCache(tmp_path / "plan.json")
    cache.save(Plan("old", 1.0))
    os.chmod(cache.path, 0o644)
    cache.save(Plan("new", 2.0))
    assert (cache.load() or Plan("", 0)).text == "new"
    assert mode(cache.path) == 0o600


def test_remember_none_forgets_a_plan_the_clinic_removed(tmp_path: Path) -> None:
    cache = PlanCache(tmp_path / "plan.json")
    cache.remember(Plan("x", 1.0))
    assert cache.load() is not None
    cache.remember(None)
    assert cache.load() is None and not cache.path.exists()
    cache.clear()  # nothing there: no error


@pytest.mark.allow_log_warnings("app.emergency")
@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"text": 3, "updated_at": 1, "saved_at": 1}',
        b'{"text": "x"}',
        b'{"text": "x", "updated_at": "NaN", "saved_at": 1}',
        json.dumps({"text": "x" * 20_001, "updated_at": 1, "saved_at": 1}).encode(),
        b"\xff\xfe",
        b"x" * (256 * 1024 + 1),
    ],
)
def test_a_damaged_file_reads_as_no_plan(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    assert PlanCache(path).load() is None


@pytest.mark.allow_log_warnings("app.emergency.private_file")
def test_an_unreadable_file_reads_as_no_plan(tmp_path: Path) -> None:
    (tmp_path / "plan.json").mkdir()  # reading a folder fails with an OSError
    assert PlanCache(tmp_path / "plan.json").load() is None


@pytest.mark.allow_log_warnings("app.emergency.plan_cache")
def test_remember_logs_a_write_problem_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    PlanCache(blocker / "plan.json").remember(Plan("secret steps", 1.0))
    assert "secret steps" not in caplog.text and "could not keep" in caplog.text


def test_a_crash_mid_write_leaves_the_old_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = PlanCache(tmp_path / "plan.json")
    cache.save(Plan("old", 1.0))

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("app.emergency.private_file.os.replace", crash)
    with pytest.raises(OSError):
        cache.save(Plan("new", 2.0))
    assert (cache.load() or Plan("", 0)).text == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_the_default_places_are_in_the_user_data_folder() -> None:
    assert PlanCache().path.parent == private_file.data_dir()
    assert LocationMemory().path.parent == private_file.data_dir()


def test_the_location_is_remembered_trimmed_and_private(tmp_path: Path) -> None:
    memory = LocationMemory(tmp_path / "location.txt")
    assert memory.load() is None
    assert memory.save("  Mum's house, 12 Elm St  ") == "Mum's house, 12 Elm St"
    assert memory.load() == "Mum's house, 12 Elm St"
    assert mode(memory.path) == 0o600


def test_a_blank_location_forgets_and_a_long_one_is_refused(tmp_path: Path) -> None:
    memory = LocationMemory(tmp_path / "location.txt")
    memory.save("home")
    assert memory.save("   ") is None and memory.load() is None
    with pytest.raises(ValueError, match="200"):
        memory.save("x" * 201)
    memory.save("home")
    memory.forget()
    assert memory.load() is None


def test_a_location_file_edited_too_long_reads_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "location.txt"
    path.write_text("x" * 300)
    assert LocationMemory(path).load() is None
