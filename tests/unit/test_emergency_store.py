"""The emergency store: migrations, write-ahead steps, restart, append-only records, plans."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app.server.emergency.sqlite_store import DB_NAME, MIGRATIONS, Database, SqliteCaseStore
from app.server.emergency.store import (
    CaseRow,
    CaseStore,
    MemoryCaseStore,
    Plan,
    Record,
    Step,
    StoreError,
    utc_text,
)

T0 = 1_750_000_000.0


def row(case_id: str = "case-1", state: str = "ringing", level: int = 0) -> CaseRow:
    return CaseRow(case_id, "key-1", state, level, T0, None, "Home", ("Alex", "Sam"))


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CaseStore]:
    made: CaseStore = (
        SqliteCaseStore(tmp_path / "data") if request.param == "sqlite" else (MemoryCaseStore())
    )
    await made.open()
    yield made
    await made.close()


async def test_a_step_writes_records_and_the_open_case_together(store: CaseStore) -> None:
    requested = Record(T0, "case-1", "requested", {"couple": "key-1", "location_given": True})
    await store.write(Step([requested], case=row()))
    await store.write(
        Step([Record(T0 + 1, "case-1", "escalated", {"level": 1})], case=row(level=1))
    )
    assert await store.open_cases() == [row(level=1)]
    assert [r.kind for r in await store.records()] == ["requested", "escalated"]
    assert (await store.records())[0] == requested
    await store.write(
        Step([Record(T0 + 2, "case-1", "cancelled", {"by": "couple"})], closed="case-1")
    )
    assert await store.open_cases() == []
    await store.write(Step([Record(T0 + 3, "case-2", "requested", {})]))
    assert [r.kind for r in await store.records(case_id="case-1")] == [
        "requested",
        "escalated",
        "cancelled",
    ]
    assert [r.case_id for r in await store.records(since=T0 + 2)] == ["case-1", "case-2"]


async def test_plans_are_kept_per_couple_and_found_when_changed(store: CaseStore) -> None:
    assert await store.plan("key-1") is None
    await store.set_plan("key-1", Plan("1. Breathe.", T0))
    await store.set_plan("key-2", Plan("Call Jo.", T0 + 5))
    assert await store.plan("key-1") == Plan("1. Breathe.", T0)
    assert await store.plans_since(T0) == {"key-2": Plan("Call Jo.", T0 + 5)}
    await store.set_plan("key-1", Plan("1. Breathe slowly.", T0 + 9))
    assert await store.plans_since(T0 + 5) == {"key-1": Plan("1. Breathe slowly.", T0 + 9)}


def test_a_record_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        Record(T0, "case-1", "chatted")


def test_utc_text_is_iso_utc_with_milliseconds() -> None:
    assert utc_text(T0 + 0.25) == "2025-06-15T15:06:40.250Z"


async def test_first_start_creates_the_folder_and_the_schema(tmp_path: Path) -> None:
    data = tmp_path / "new" / "folder"
    store = SqliteCaseStore(data)
    await store.open()
    await store.close()
    assert (data / DB_NAME).is_file()
    database = Database(data)
    assert database.schema_version == len(MIGRATIONS)
    mode = database._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    database.close()


async def test_a_restart_carries_on_with_the_open_cases(tmp_path: Path) -> None:
    first = SqliteCaseStore(tmp_path)
    await first.open()
    await first.write(Step([Record(T0, "case-1", "requested", {})], case=row()))
    await first.close()
    second = SqliteCaseStore(tmp_path)
    await second.open()  # migrations already applied: nothing is re-created or lost
    assert await second.open_cases() == [row()]
    assert len(await second.records()) == 1
    await second.close()


async def test_steps_written_at_once_are_all_committed_in_order(tmp_path: Path) -> None:
    store = SqliteCaseStore(tmp_path)
    await store.open()
    await asyncio.gather(
        *(store.write(Step([Record(T0 + i, f"case-{i}", "requested", {})])) for i in range(50))
    )
    assert [r.case_id for r in await store.records()] == [f"case-{i}" for i in range(50)]
    await store.close()


def test_records_are_append_only(tmp_path: Path) -> None:
    database = Database(tmp_path)
    database.write([Step([Record(T0, "case-1", "requested", {})])])
    for statement in ("UPDATE records SET kind = 'ended'", "DELETE FROM records"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            database._db.execute(statement)
    assert len(database.records()) == 1
    database.close()


def test_a_database_from_a_newer_server_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer Tandem"):
        Database(tmp_path)


def test_reading_a_folder_without_records_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no emergency records"):
        Database(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the emergency records"):
        Database(blocker / "data")


async def test_a_failed_write_reaches_every_waiting_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteCaseStore(tmp_path)
    await store.open()

    def broken(self: Database, steps: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(Database, "write", broken)
    results = await asyncio.gather(
        *(store.write(Step([Record(T0, "c", "requested", {})])) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StoreError) for r in results)
    await store.close()


async def test_a_store_that_is_not_open_says_so(tmp_path: Path) -> None:
    store = SqliteCaseStore(tmp_path)
    calls: list[Callable[[], object]] = [store.open_cases, lambda: store.plan("k")]
    for call in calls:
        with pytest.raises(StoreError, match="not open"):
            await call()  # type: ignore[misc]
    await store.close()
