"""What `tandem plan set` and `tandem audit` do to the records, with the server running or not.

Both open the same SQLite file as the server (WAL lets them read and write beside it); a
running server picks up a changed plan within a few seconds (it polls the plans table).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterable
from pathlib import Path

from app.server.config import default_data_dir, load_file
from app.server.emergency.cases import couple_key
from app.server.emergency.messages import MAX_PLAN_CHARS
from app.server.emergency.sqlite_store import Database
from app.server.emergency.store import Plan, Record


class OfflineError(Exception):
    """Something the person running the command can fix; the message says what."""


def data_dir_for(cli_value: str | None, config_path: str | None) -> Path:
    """--data-dir, else `[server] data_dir` of --config, else the server's default folder."""
    if cli_value:
        return Path(cli_value)
    configured = load_file(config_path).get("data_dir")
    if configured is not None and not isinstance(configured, str):
        raise OfflineError("[server] data_dir must be a string")
    return Path(configured) if configured else default_data_dir()


def read_plan_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OfflineError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise OfflineError(f"{path} is not UTF-8 text") from None
    if not text.strip():
        raise OfflineError(f"{path} is empty; a safety plan needs its steps")
    if len(text) > MAX_PLAN_CHARS:
        raise OfflineError(
            f"{path} has {len(text)} characters; a safety plan is limited to {MAX_PLAN_CHARS}"
        )
    return text


def set_plan(data_dir: Path, secret: str, room: str, text: str, now: float | None = None) -> Plan:
    """Store the couple's plan (keyed like the server keys the couple); returns it."""
    plan = Plan(text, time.time() if now is None else now)
    database = Database(data_dir)
    try:
        database.set_plan(couple_key(secret, room), plan)
    finally:
        database.close()
    return plan


def parse_since(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it names its offset) as unix seconds."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OfflineError(
            f"--since {text!r} is not an ISO date or time (e.g. 2025-06-15 or 2025-06-15T03:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def read_records(data_dir: Path, since: float | None, case_id: str | None) -> list[Record]:
    database = Database(data_dir, create=False)
    try:
        return database.records(since, case_id)
    finally:
        database.close()


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value and all(c.isalnum() or c in "-_.:@" for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)  # quotes spaces, escapes newlines


def human_lines(records: Iterable[Record]) -> list[str]:
    """One line per record: time (UTC), case, kind, then its details as key=value."""
    lines = []
    for record in records:
        details = " ".join(f"{key}={_value(v)}" for key, v in sorted(record.detail.items()))
        lines.append(f"{record.at_utc}  {record.case_id}  {record.kind:<10} {details}".rstrip())
    return lines


def json_lines(records: Iterable[Record]) -> list[str]:
    return [
        json.dumps(
            {"at": r.at_utc, "case_id": r.case_id, "kind": r.kind, "detail": dict(r.detail)},
            ensure_ascii=False,
        )
        for r in records
    ]
