"""The on-call roster: clinicians' connections, who is available, and each one's tier.

A clinician is known by the display name in its on-call token; several connections (two
browser tabs, a phone) may speak for one clinician. It is available while at least one of its
connections says so; a connection that drops counts as away. Tiers come from
`[emergency] backup_tier` (names listed there are tier 2, everyone else tier 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from app.server.emergency.settings import EmergencySettings


class Link(Protocol):
    """What the desk needs of one `/emergency/ws` connection."""

    name: str  # the display name in its token
    jti: str  # its token's id (tickets derive their own from it)
    origin: str  # the server as this connection reached it (tickets name it)

    def push(self, obj: dict[str, Any]) -> None:
        """Queue a message for this connection; never waits."""


class Roster:
    def __init__(self, settings: EmergencySettings) -> None:
        self._settings = settings
        self._links: dict[str, set[Link]] = {}
        self._available: dict[str, set[Link]] = {}

    def tier(self, name: str) -> int:
        return self._settings.tier_of(name)

    def join(self, link: Link) -> None:
        """A clinician's connection said hello; it starts away."""
        self._links.setdefault(link.name, set()).add(link)

    def leave(self, link: Link) -> bool:
        """The connection is gone; True when that made its clinician away."""
        was = self.is_available(link.name)
        self._discard(self._links, link)
        self._discard(self._available, link)
        return was and not self.is_available(link.name)

    def set_available(self, link: Link, available: bool) -> bool:
        """True when the clinician's availability changed (not merely this connection's)."""
        was = self.is_available(link.name)
        if available:
            self._available.setdefault(link.name, set()).add(link)
        else:
            self._discard(self._available, link)
        return was != self.is_available(link.name)

    def is_available(self, name: str) -> bool:
        return bool(self._available.get(name))

    def available(self, busy: Iterable[str] = ()) -> dict[str, int]:
        """Available clinicians (name -> tier) other than the `busy` ones, who hold a case."""
        skip = set(busy)
        return {name: self.tier(name) for name in self._available if name not in skip}

    def push(self, name: str, obj: dict[str, Any]) -> int:
        """Send to every connection of one clinician; how many there were."""
        links = self._links.get(name, set())
        for link in links:
            link.push(obj)
        return len(links)

    @staticmethod
    def _discard(table: dict[str, set[Link]], link: Link) -> None:
        links = table.get(link.name)
        if links is not None:
            links.discard(link)
            if not links:
                del table[link.name]
