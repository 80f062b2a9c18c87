"""The optional "where are you right now" text, remembered on this computer only.

Telehealth emergency guidance asks the clinician to know where the person is; the couple may
confirm it with each request. It is sent only with a request and kept only here (0600, written
atomically, never logged), so the next emergency starts with it filled in.
"""

from __future__ import annotations

from pathlib import Path

from app.emergency.private_file import data_dir, read_private, remove_private, write_private
from app.emergency.protocol import MAX_LOCATION_CHARS, clean_location

FILENAME = "location.txt"


class LocationMemory:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / FILENAME

    def load(self) -> str | None:
        """The remembered text, or None (nothing remembered, or the file is unusable)."""
        raw = read_private(self.path, limit=MAX_LOCATION_CHARS * 4)
        if raw is None:
            return None
        try:
            return clean_location(raw)
        except ValueError:
            return None

    def save(self, location: str | None) -> str | None:
        """Remember `location` (trimmed; blank forgets). Returns what is remembered.
        Raises ValueError when it is longer than a request may carry, OSError on a file
        problem."""
        cleaned = clean_location(location)
        if cleaned is None:
            remove_private(self.path)
        else:
            write_private(self.path, cleaned)
        return cleaned

    def forget(self) -> None:
        remove_private(self.path)
