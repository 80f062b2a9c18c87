"""The revocation list: ids (`jti`) of join tokens the server no longer accepts.

A code that leaked is withdrawn by its id, not its text, so no other spelling of the same token
gets past it (and the list holds no usable token). The file is plain text, one id per line,
`#` starts a comment; `tandem token revoke` appends to it. The server reads it again whenever
it changes (modification time, size or inode), so a revocation takes effect without a restart:
at the next join at once, and for a member already in a room within REVOCATION_POLL_S.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from app.server.tokens import JTI_PATTERN

log = logging.getLogger(__name__)

# How often a server looks at the file for members to remove (a join always looks first).
REVOCATION_POLL_S = 2.0


class RevocationError(Exception):
    """The list cannot be written; the message says why."""


def parse_revoked(text: str) -> tuple[frozenset[str], list[int]]:
    """The ids in the file's text, and the numbers of the lines that are not an id."""
    ids: set[str] = set()
    bad: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if JTI_PATTERN.fullmatch(entry):
            ids.add(entry)
        else:
            bad.append(number)
    return frozenset(ids), bad


class RevocationList:
    """The server's view of the file at `path` (None: nothing is ever revoked)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids: frozenset[str] = frozenset()
        self._seen: tuple[int, int, int] | None = None

    def __contains__(self, jti: object) -> bool:
        return jti in self.ids

    def refresh(self) -> bool:
        """Read the file again if it changed since the last look; whether the ids changed.

        A file that is missing is an empty list (nothing revoked yet). A file that cannot be
        read keeps the ids from the last good read: a permission slip must not let revoked
        tokens back in.
        """
        if self.path is None:
            return False
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            log.warning("cannot look at the revocation list: %s", exc.strerror or exc)
            return False
        else:
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._seen:
            return False
        if stamp is None:
            ids: frozenset[str] = frozenset()
        else:
            try:
                text = self.path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.warning("cannot read the revocation list: %s", exc.strerror or exc)
                return False
            ids, bad = parse_revoked(text)
            if bad:
                shown = ", ".join(str(n) for n in bad[:5])
                log.warning("revocation list: line %s is not a token id; ignored", shown)
        self._seen = stamp
        changed = ids != self.ids
        if changed:
            log.info("revocation list: %d token id(s) revoked", len(ids))
        self.ids = ids
        return changed


def append_revoked(path: Path, jti: str, now: float | None = None) -> bool:
    """Add `jti` to the list at `path` (created if missing); False if it was already there."""
    if not JTI_PATTERN.fullmatch(jti):
        raise RevocationError(f"{jti!r} is not a token id (letters, digits, - and _, 1-64)")
    try:
        existing = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise RevocationError(f"cannot read {path}: {exc.strerror or exc}") from None
    if jti in parse_revoked(existing)[0]:
        return False
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    # One write in append mode: a server reading meanwhile sees the line whole or not at all
    # (and a line without its newline yet still names the id).
    start = "" if not existing or existing.endswith("\n") else "\n"
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{start}{jti}  # revoked {when}\n")
    except OSError as exc:
        raise RevocationError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True
