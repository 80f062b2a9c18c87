"""The couple's own join code (their standing partner token), remembered on this computer.

"Get help now" must work with one click and no sign-in: the app says who the couple is with the
join code the person last typed in for a session. It lives in the user's config folder, readable
by this user only (0600, written atomically), and is never logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import platformdirs

from app.emergency.private_file import read_private, remove_private, write_private
from app.profile import APP_NAME

log = logging.getLogger(__name__)

FILENAME = "join-code"
MAX_CODE_CHARS = 4096  # as a token (app.server.tokens.MAX_TOKEN_CHARS)


def default_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / FILENAME


class JoinCodeMemory:
    """load() never raises (no code, or an unusable file, is None); save() logs a file problem
    by kind and goes on: a code that cannot be remembered must not stop the session."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def load(self) -> str | None:
        raw = read_private(self.path, limit=MAX_CODE_CHARS + 2)
        code = (raw or "").strip()
        return code if code and len(code) <= MAX_CODE_CHARS and code.isprintable() else None

    def save(self, code: str) -> bool:
        """Remember `code` (trimmed); False when it is not a code or could not be written."""
        code = code.strip()
        if not code or len(code) > MAX_CODE_CHARS or not code.isprintable():
            return False
        try:
            write_private(self.path, code + "\n")
        except OSError as exc:
            log.warning("could not remember the join code: %s", type(exc).__name__)
            return False
        return True

    def forget(self) -> None:
        remove_private(self.path)
