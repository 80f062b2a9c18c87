"""Who is in which room: the registry interface and its in-memory implementation.

The registry holds membership only (plain data), never connections, so a shared store can take
its place later; the methods are async for that reason. Every operation touches one room, found
by key: nothing here is O(number of rooms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from app.server.config import RoomLimits


@dataclass(frozen=True)
class Member:
    peer_id: str
    jti: str  # the join token's id: joining again with the same token replaces the old member
    name: str
    role: str
    joined_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class JoinOutcome:
    others: tuple[Member, ...]  # already in the room, in joining order (excludes `replaced`)
    replaced: Member | None  # the earlier member with the same token, now removed


class RoomFull(Exception):
    """No place left for this role in the room."""


class RoomRegistry(Protocol):
    async def join(self, room: str, member: Member) -> JoinOutcome:
        """Add `member` (replacing one with the same jti); raises RoomFull."""
        ...

    async def leave(self, room: str, peer_id: str) -> Member | None:
        """Remove a member; returns it, or None if it was not there (e.g. already replaced)."""
        ...

    async def members(self, room: str) -> list[Member]: ...


class InMemoryRegistry:
    """A RoomRegistry in one process's memory: room -> {peer_id: Member} (insertion ordered)."""

    def __init__(self, limits: RoomLimits | None = None) -> None:
        self._limits = limits or RoomLimits()
        self._rooms: dict[str, dict[str, Member]] = {}

    async def join(self, room: str, member: Member) -> JoinOutcome:
        current = self._rooms.get(room, {})
        replaced = next((m for m in current.values() if m.jti == member.jti), None)
        same_role = sum(1 for m in current.values() if m.role == member.role and m is not replaced)
        if same_role >= self._limits.for_role(member.role):
            raise RoomFull(f"the room has no place left for another {member.role}")
        members = self._rooms.setdefault(room, {})
        if replaced is not None:
            del members[replaced.peer_id]
        others = tuple(members.values())
        members[member.peer_id] = member
        return JoinOutcome(others=others, replaced=replaced)

    async def leave(self, room: str, peer_id: str) -> Member | None:
        members = self._rooms.get(room)
        if members is None:
            return None
        member = members.pop(peer_id, None)
        if not members:
            del self._rooms[room]
        return member

    async def members(self, room: str) -> list[Member]:
        return list(self._rooms.get(room, {}).values())
