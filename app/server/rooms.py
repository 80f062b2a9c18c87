"""Who is in which room: the registry interface, its in-memory implementation, stable peer ids.

The registry holds membership only (plain data), never connections, so a shared store can take
its place later; the methods are async for that reason. Every operation touches one room, found
by key: nothing here is O(number of rooms).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Protocol

from app.server.config import RoomLimits

PEER_ID_CHARS = 16


def peer_id_for(secret: str, jti: str) -> str:
    """A participant's peer_id: derived from its token's id, so it is the same on every
    connection with that token and on every server sharing the secret (the clinic's backup),
    and reveals nothing about the token: base64url(HMAC-SHA256(secret, "peer:" + jti))[:16]."""
    digest = hmac.new(secret.encode("utf-8"), f"peer:{jti}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:PEER_ID_CHARS]


@dataclass(frozen=True)
class Member:
    peer_id: str
    jti: str  # the join token's id: joining again with the same token takes this member's place
    name: str
    role: str
    v: int = 1  # the protocol version this member joined with
    joined_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class JoinOutcome:
    others: tuple[Member, ...]  # the rest of the room, in joining order (excludes `previous`)
    previous: Member | None  # the member with the same token whose place this join took


class RoomFull(Exception):
    """No place left for this role in the room."""


class RoomRegistry(Protocol):
    async def join(self, room: str, member: Member) -> JoinOutcome:
        """Add `member`, or put it in the place of the member with the same jti; raises RoomFull."""
        ...

    async def leave(self, room: str, peer_id: str) -> Member | None:
        """Remove a member; returns it, or None if it was not there."""
        ...

    async def members(self, room: str) -> list[Member]: ...


class InMemoryRegistry:
    """A RoomRegistry in one process's memory: room -> {peer_id: Member} (insertion ordered)."""

    def __init__(self, limits: RoomLimits | None = None) -> None:
        self._limits = limits or RoomLimits()
        self._rooms: dict[str, dict[str, Member]] = {}

    async def join(self, room: str, member: Member) -> JoinOutcome:
        current = self._rooms.get(room, {})
        previous = next((m for m in current.values() if m.jti == member.jti), None)
        same_role = sum(1 for m in current.values() if m.role == member.role and m is not previous)
        if same_role >= self._limits.for_role(member.role):
            raise RoomFull(f"the room has no place left for another {member.role}")
        members = self._rooms.setdefault(room, {})
        if previous is not None and previous.peer_id != member.peer_id:
            del members[previous.peer_id]
        # Same peer_id: the dict keeps its place, so the joining order others see is unchanged.
        members[member.peer_id] = member
        others = tuple(m for m in members.values() if m.peer_id != member.peer_id)
        return JoinOutcome(others=others, previous=previous)

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
