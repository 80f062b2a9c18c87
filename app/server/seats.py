"""A member's place in a room across its connections, and the grace period that keeps it.

A `Seat` outlives a connection: when a socket closes or goes silent without `leave`, the seat
stays for `grace_s` with nobody on it; relayed messages for it wait (bounded) and a join with
the same token takes it back (docs/protocol.md, version 2). The `Hub` holds the seats of one
server process and tells the room what happens to them.

A join with the same token from another device while the seat's connection is still there is a
takeover, not a reconnect: the join code was used twice, perhaps because it leaked. The older
connection is told (`replaced`) and the room hears `peer_replaced`. A client says which device
it is (`join.device`), so its own reconnect over a half-open socket stays seamless. A token
whose id lands on the revocation list loses its seat (`token_revoked`).

Logs name a seat by peer_id and a room by a keyed hash; never a token, a name or a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from app.net.signaling_protocol import MAX_PEERS, encode, peer_left_msg, peer_reconnecting_msg
from app.server.config import ServerConfig
from app.server.outbox import CLOSE_GOING_AWAY, OUTBOX_LIMIT, SENDER_SHARE_BYTES, Outbox
from app.server.revocation import REVOCATION_POLL_S, RevocationList
from app.server.rooms import InMemoryRegistry, Member, RoomRegistry, peer_id_for
from app.server.shares import HeldFrames

log = logging.getLogger(__name__)

# Relayed frames kept for a member in its grace period. Half the outbox: on return they are
# queued behind the welcome and still leave room for the traffic that follows, so a member
# with a full backlog is not dropped as "not reading" the moment it comes back.
HELD_LIMIT = OUTBOX_LIMIT // 2
# Each other member's share of them, so one sender's burst does not push out the others'.
HELD_SHARE = HELD_LIMIT // MAX_PEERS


class Connection(Protocol):
    """What a seat needs of the connection sitting on it (a signaling Session)."""

    outbox: Outbox
    # The device the client says it is (join.device), None if it did not say.
    device: str | None

    def replaced(self) -> None:
        """Another connection with the same token took the seat: tell this one and close it."""

    def revoked(self) -> None:
        """The token was revoked: tell this connection and close it."""


class Seat:
    """One member's place: its live connection, or none while in the grace period."""

    def __init__(self, peer_id: str, room: str, connection: Connection) -> None:
        self.peer_id = peer_id
        self.room = room
        self.connection: Connection | None = connection
        # Relayed frames for a member in grace, oldest first, in fair shares per sender.
        self.held = HeldFrames(HELD_LIMIT, HELD_SHARE, SENDER_SHARE_BYTES)
        self.expiry: asyncio.Task[None] | None = None

    def send(self, text: str, sender: str) -> bool:
        """A relayed message from `sender`: to the connection, or held for the member's
        return. False when refused: `sender`'s share of what waits here is full."""
        if self.connection is not None:
            return self.connection.outbox.send(text, sender)
        return self.held.append(sender, text)


@functools.lru_cache(maxsize=4096)
def _room_tag(secret: str, room: str) -> str:
    return hmac.new(secret.encode(), room.encode(), hashlib.sha256).hexdigest()[:12]


class Hub:
    """The signaling state of one server: the room registry and this process's seats."""

    def __init__(self, config: ServerConfig, registry: RoomRegistry | None = None) -> None:
        self.config = config
        self.registry: RoomRegistry = registry or InMemoryRegistry(config.limits)
        self.seats: dict[str, Seat] = {}
        self.revoked = RevocationList(config.revoked_tokens)
        self._watch: asyncio.Task[None] | None = None
        self._closing = False

    def room_tag(self, room: str) -> str:
        """A stable name for a room in logs that does not reveal the room id."""
        return _room_tag(self.config.secret, room)

    def deliver(
        self, members: Iterable[Member], obj: dict[str, Any], min_v: int = 1, *, about: str
    ) -> None:
        """Presence news about the member `about` to the members connected now that joined
        with version >= `min_v`. It counts in `about`'s share of each one's outbox, like its
        messages: news of someone who churns is what gets refused, not the reader.

        Never held for a member in grace: its welcome on return lists the room as it is then.
        """
        text = encode(obj)
        for member in members:
            seat = self.seats.get(member.peer_id)
            if member.v >= min_v and seat is not None and seat.connection is not None:
                seat.connection.outbox.send(text, about)

    def take_seat(
        self, peer_id: str, room: str, connection: Connection
    ) -> tuple[Seat, list[str], bool]:
        """`connection` sits on the seat of `peer_id` (a new one, or the member's own again:
        its grace ends, an older connection still on it is replaced). Returns the seat, the
        frames held for it during the grace period (in order), and whether this was a takeover:
        the older connection was still there and is not the same device's."""
        seat = self.seats.get(peer_id)
        if seat is None or seat.room != room:
            seat = self.seats[peer_id] = Seat(peer_id, room, connection)
            return seat, [], False
        if seat.expiry is not None:
            seat.expiry.cancel()
            seat.expiry = None
        old, seat.connection = seat.connection, connection
        takeover = False
        if old is not None and old is not connection:
            takeover = old.device is None or old.device != connection.device
            if takeover:
                log.warning(
                    "peer %s in room %s: its join code was used on another device; the "
                    "older connection was replaced",
                    peer_id,
                    self.room_tag(room),
                )
            old.replaced()
        return seat, seat.held.take(), takeover

    async def hold(self, seat: Seat, why: str) -> None:
        """The seat's connection is gone without `leave`: keep the place for grace_s, and tell
        the v2 members (v1 members hear nothing unless the grace runs out)."""
        seat.connection = None
        if self._closing or self.seats.get(seat.peer_id) is not seat:
            return
        seat.expiry = asyncio.create_task(self._expire(seat))
        members = await self.registry.members(seat.room)
        others = [m for m in members if m.peer_id != seat.peer_id]
        self.deliver(others, peer_reconnecting_msg(seat.peer_id), min_v=2, about=seat.peer_id)
        log.info(
            "peer %s reconnecting in room %s (%s; grace %.1f s)",
            seat.peer_id,
            self.room_tag(seat.room),
            why,
            self.config.grace_s,
        )

    async def _expire(self, seat: Seat) -> None:
        await asyncio.sleep(self.config.grace_s)
        seat.expiry = None  # from here on a join with this token is a new join
        await self.vacate(seat, "timeout")

    async def vacate(self, seat: Seat, reason: str) -> None:
        """Remove the member (reason `left`, `timeout` or `revoked`) and tell everyone else."""
        if self.seats.get(seat.peer_id) is not seat:
            return
        del self.seats[seat.peer_id]  # before any await: a join from now on starts afresh
        seat.held.clear()
        left = await self.registry.leave(seat.room, seat.peer_id)
        if left is None:
            return
        others = await self.registry.members(seat.room)
        self.deliver(others, peer_left_msg(seat.peer_id, reason), about=seat.peer_id)
        log.info("peer %s left room %s (%s)", seat.peer_id, self.room_tag(seat.room), reason)

    async def start(self) -> None:
        """Read the revocation list, and keep looking at it while the server runs."""
        self.revoked.refresh()
        if self.revoked.path is not None and self._watch is None:
            self._watch = asyncio.create_task(self._watch_revocations())

    async def _watch_revocations(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            try:
                await self.refresh_revocations()
            except Exception:  # one bad look must not end the watch: revocation would stop
                log.exception("checking the revocation list failed")

    async def refresh_revocations(self) -> None:
        """Read the revocation list if it changed; remove the members whose token it lists."""
        if not self.revoked.refresh():
            return
        secret = self.config.secret
        listed = {peer_id_for(secret, jti) for jti in self.revoked.ids}
        for peer_id in sorted(listed & self.seats.keys()):
            seat = self.seats.get(peer_id)
            if seat is not None:
                await self._remove_revoked(seat)

    async def _remove_revoked(self, seat: Seat) -> None:
        connection, seat.connection = seat.connection, None
        if seat.expiry is not None:
            seat.expiry.cancel()
            seat.expiry = None
        if connection is not None:
            connection.revoked()
        await self.vacate(seat, "revoked")

    async def shutdown(self) -> None:
        """Close every connection (1001); grace periods end with the process."""
        self._closing = True
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        outboxes = []
        for seat in self.seats.values():
            if seat.expiry is not None:
                seat.expiry.cancel()
            if seat.connection is not None:
                seat.connection.outbox.close(CLOSE_GOING_AWAY)
                outboxes.append(seat.connection.outbox)
        await asyncio.gather(*(outbox.wait_closed() for outbox in outboxes))
