"""Small private files in the user's data folder: readable by this user only (0600, in a 0700
folder), written atomically (a crash mid-write leaves the old file, never half a file).

The safety plan and the "where are you now" text live here; they are the couple's own words,
so they are never logged, and reading them must not fail the crisis card: every problem reads
as "nothing stored" and is logged by kind only.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import platformdirs

from app.profile import APP_NAME

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024


def data_dir() -> Path:
    """The user's data folder for Tandem (platformdirs), not created here."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically, mode 0600. Raises OSError."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # an old leftover may have had other rights
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def read_private(path: Path, limit: int = MAX_FILE_BYTES) -> str | None:
    """The file's text, or None when there is none or it cannot be read (logged by kind)."""
    try:
        with path.open("rb") as source:
            data = source.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("could not read %s: %s", path.name, type(exc).__name__)
        return None
    if len(data) > limit:
        log.warning("ignored %s: larger than %d bytes", path.name, limit)
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("ignored %s: not UTF-8", path.name)
        return None


def remove_private(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
