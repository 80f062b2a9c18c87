"""The SQLite `CaseStore`: one file in the server's data folder, WAL, versioned migrations.

`Database` is the plain, synchronous part (the CLI's `tandem audit` and `tandem plan set` use
it directly). `SqliteCaseStore` runs it on one worker thread so the event loop never waits on
the disk, and commits the steps that arrive together in one transaction (a group commit): each
caller's `write` returns only once its step is on disk (`synchronous = FULL`).

Records are append-only: triggers refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from app.server.emergency.store import CaseRow, Plan, Record, Step, StoreError, utc_text

DB_NAME = "emergency.sqlite3"
T = TypeVar("T")

# Applied in order; `PRAGMA user_version` is the number applied. Never edit one: add the next.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,              -- UTC, ISO 8601 with milliseconds and Z
        case_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL           -- JSON object
    );
    CREATE INDEX records_by_case ON records (case_id);
    CREATE INDEX records_by_time ON records (at);
    CREATE TRIGGER records_no_update BEFORE UPDATE ON records
        BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
    CREATE TRIGGER records_no_delete BEFORE DELETE ON records
        BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
    CREATE TABLE cases (
        case_id TEXT PRIMARY KEY,
        room_key TEXT NOT NULL,
        state TEXT NOT NULL,
        level INTEGER NOT NULL,
        requested_at REAL NOT NULL,
        clinician TEXT,
        location TEXT,
        names TEXT NOT NULL            -- JSON list
    );
    CREATE TABLE plans (
        room_key TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
)


def _unix(at_utc: str) -> float:
    return datetime.datetime.fromisoformat(at_utc.replace("Z", "+00:00")).timestamp()


class Database:
    """One connection to the store's file. Not thread-safe: one thread uses it at a time."""

    def __init__(self, data_dir: Path, *, create: bool = True) -> None:
        self.path = data_dir / DB_NAME
        try:
            if create:
                data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            elif not self.path.exists():
                raise StoreError(f"no emergency records in {data_dir} (no {DB_NAME} there)")
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            # A closed case's row (with its location) is overwritten on delete, not left in
            # free pages of the file.
            self._db.execute("PRAGMA secure_delete = ON")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the emergency records at {self.path}: {exc}") from None

    def _migrate(self) -> None:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer Tandem (schema {version}); upgrade this one"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    @property
    def schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def close(self) -> None:
        self._db.close()

    def write(self, steps: Sequence[Step]) -> None:
        """Apply the steps in one transaction (all or none)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for step in steps:
                db.executemany(
                    "INSERT INTO records (at, case_id, kind, detail) VALUES (?, ?, ?, ?)",
                    [
                        (r.at_utc, r.case_id, r.kind, json.dumps(dict(r.detail), sort_keys=True))
                        for r in step.records
                    ],
                )
                if step.case is not None:
                    c = step.case
                    db.execute(
                        "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            c.case_id,
                            c.room_key,
                            c.state,
                            c.level,
                            c.requested_at,
                            c.clinician,
                            c.location,
                            json.dumps(list(c.names)),
                        ),
                    )
                if step.closed is not None:
                    db.execute("DELETE FROM cases WHERE case_id = ?", (step.closed,))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"cannot write to {self.path}: {exc}") from None

    def open_cases(self) -> list[CaseRow]:
        rows = self._db.execute(
            "SELECT case_id, room_key, state, level, requested_at, clinician, location, names "
            "FROM cases ORDER BY requested_at"
        ).fetchall()
        return [
            CaseRow(
                case_id=row[0],
                room_key=row[1],
                state=row[2],
                level=row[3],
                requested_at=row[4],
                clinician=row[5],
                location=row[6],
                names=tuple(json.loads(row[7])),
            )
            for row in rows
        ]

    def records(self, since: float | None = None, case_id: str | None = None) -> list[Record]:
        query = "SELECT at, case_id, kind, detail FROM records WHERE 1 = 1"
        args: list[Any] = []
        if since is not None:
            query += " AND at >= ?"
            args.append(utc_text(since))
        if case_id is not None:
            query += " AND case_id = ?"
            args.append(case_id)
        rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [Record(_unix(at), cid, kind, json.loads(detail)) for at, cid, kind, detail in rows]

    def plan(self, room_key: str) -> Plan | None:
        row = self._db.execute(
            "SELECT text, updated_at FROM plans WHERE room_key = ?", (room_key,)
        ).fetchone()
        return Plan(row[0], row[1]) if row else None

    def set_plan(self, room_key: str, plan: Plan) -> None:
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO plans VALUES (?, ?, ?)",
                (room_key, plan.text, plan.updated_at),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to {self.path}: {exc}") from None

    def plans_since(self, updated_after: float) -> dict[str, Plan]:
        rows = self._db.execute(
            "SELECT room_key, text, updated_at FROM plans WHERE updated_at > ?", (updated_after,)
        ).fetchall()
        return {key: Plan(text, at) for key, text, at in rows}


class SqliteCaseStore:
    """A CaseStore on `Database`, off the event loop, with group commits."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-records")
        self._db: Database | None = None
        self._pending: list[tuple[Step, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.Error as exc:
            raise StoreError(f"the emergency records cannot be read: {exc}") from None

    def _database(self) -> Database:
        if self._db is None:
            raise StoreError("the emergency records are not open")
        return self._db

    async def open(self) -> None:
        self._db = await self._run(lambda: Database(self._data_dir))

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.shield(self._writer)
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def write(self, step: Step) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((step, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        """Commit everything waiting, in arrival order, one transaction per round."""
        while self._pending:
            batch, self._pending = self._pending, []
            steps = [step for step, _ in batch]
            try:
                await self._run(functools.partial(self._database().write, steps))
            except StoreError as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(StoreError(str(exc)))
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
        self._writer = None

    async def open_cases(self) -> list[CaseRow]:
        return await self._run(self._database().open_cases)

    async def records(self, since: float | None = None, case_id: str | None = None) -> list[Record]:
        database = self._database()
        return await self._run(lambda: database.records(since, case_id))

    async def plan(self, room_key: str) -> Plan | None:
        database = self._database()
        return await self._run(lambda: database.plan(room_key))

    async def set_plan(self, room_key: str, plan: Plan) -> None:
        database = self._database()
        await self._run(lambda: database.set_plan(room_key, plan))

    async def plans_since(self, updated_after: float) -> dict[str, Plan]:
        database = self._database()
        return await self._run(lambda: database.plans_since(updated_after))
