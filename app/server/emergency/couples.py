"""The couples' connections to `/emergency/ws`, grouped by couple, and what they are sent.

A couple is its room (named by `couple_key` everywhere but here, in memory); any connection of
either partner gets every update of the couple's case. Each partner gets its own call ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.server.emergency.roster import Link

TicketFor = Callable[[Link], dict[str, Any]]


class Couples:
    def __init__(self) -> None:
        self._links: dict[str, set[Link]] = {}  # couple key -> connections

    def join(self, key: str, link: Link) -> None:
        self._links.setdefault(key, set()).add(link)

    def leave(self, key: str, link: Link) -> None:
        links = self._links.get(key)
        if links is not None:
            links.discard(link)
            if not links:
                del self._links[key]

    def links(self, key: str) -> set[Link]:
        return set(self._links.get(key, ()))

    def names(self, key: str) -> list[str]:
        return sorted({link.name for link in self._links.get(key, ())})

    def push(self, key: str, obj: dict[str, Any]) -> None:
        for link in self._links.get(key, ()):
            link.push(obj)

    def push_raised_by(self, key: str, raiser: Link, case_id: str) -> None:
        """Tell the *other* partner's connections who asked for help (not the raiser's own)."""
        message = {"type": "raised_by", "case_id": case_id, "name": raiser.name}
        for link in self._links.get(key, ()):
            if link.jti != raiser.jti:
                link.push(message)

    def push_accepted(self, key: str, case_id: str, clinician: str, ticket_for: TicketFor) -> None:
        """Each connection gets `accepted` with its own partner's ticket."""
        for link in self._links.get(key, ()):
            link.push(accepted_for_couple(case_id, clinician, ticket_for(link)))


def accepted_for_couple(case_id: str, clinician: str, ticket: dict[str, Any]) -> dict[str, Any]:
    return {"type": "accepted", "case_id": case_id, "clinician": clinician, "ticket": ticket}
