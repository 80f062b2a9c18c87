"""The /ws signaling endpoint: join, resume, presence, relay and heartbeats (docs/protocol.md).

Each connection is a `Session` reading client messages in order, plus an `Outbox` that writes to
that client from its own task, so one slow or dead client never stalls the others. A joined
session sits on a `Seat` (app/server/seats.py), which outlives it: a socket that closes or goes
silent without `leave` leaves the seat in its grace period, and a join with the same token takes
it back. All work per message touches one room (found by key) and one or a few connections,
never the whole server.

Hostile traffic costs only whoever sends it: each frame passes the connection's rate limits
before it is even decoded (app/server/rate_limit.py), and a relay waits for its reader in the
sender's own share of the reader's outbox (app/server/shares.py). Past either, the sender hears
the non-fatal `rate_limited`; the reader and the room carry on.

Logs name a connection by peer_id and a room by a keyed hash; never a token, a name, an SDP or
a chat line.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from aiohttp import WSMsgType, web

from app.net.signaling_protocol import (
    MAX_FRAME_BYTES,
    PONG,
    SUPPORTED_VERSIONS,
    V2_ONLY_TYPES,
    ClientMessage,
    Join,
    Leave,
    MessageError,
    PeerMessage,
    Ping,
    encode,
    error_msg,
    expected_roles,
    parse_client_message,
    peer_info,
    peer_joined_msg,
    peer_replaced_msg,
    peer_resumed_msg,
    welcome_msg,
)
from app.server.admission import admit
from app.server.connection_guard import GUARD_KEY
from app.server.emergency.tickets import ROSTER_ROOM
from app.server.ice import ice_servers
from app.server.outbox import CLOSE_NORMAL, CLOSE_POLICY, OUTBOX_LIMIT, Outbox
from app.server.rate_limit import RateLimits, SenderLimiter, Verdict
from app.server.rooms import Member, RoomFull, peer_id_for
from app.server.seats import Hub, Seat

__all__ = ["HUB_KEY", "OUTBOX_LIMIT", "Hub", "Outbox", "Session", "add_routes"]

log = logging.getLogger(__name__)

PONG_TEXT = encode(PONG)
HEARTBEAT_MISSES = 3
RATE_LIMITS = RateLimits()  # per connection; the reasons for the numbers are in rate_limit.py


def _size(data: str | bytes) -> int:
    """A frame's size in bytes (UTF-8 for text)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8"))


class _Dropped(Exception):
    """A message over the sender's rate, dropped without a word (it was told a moment ago)."""


class Session:
    """One client connection, from the WebSocket upgrade until it is gone."""

    def __init__(self, hub: Hub, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.hub = hub
        self.ws = ws
        # Names the connection in logs until the join gives it the member's peer_id.
        self.peer_id = "conn-" + secrets.token_urlsafe(6)
        self.expected_room = request.query.get("room")
        self.expected_role = request.query.get("role")
        self.seat: Seat | None = None  # set while this connection speaks for a member
        self.v = 0  # the protocol version of the join
        self.device: str | None = None  # the device the client says it is (join.device)
        self.room = ""
        self.left = False  # sent `leave`: removed at once, no grace period
        self.why = "closed"  # for the log when the connection ends without `leave`
        self.on_join: Callable[[], None] = lambda: None  # lifts the pre-join limits
        transport = request.transport
        self.outbox = Outbox(ws, transport, on_overflow=self._overflowed)
        limits = RATE_LIMITS.with_heartbeat(hub.config.heartbeat_s)
        self.limiter = SenderLimiter(limits, now=asyncio.get_running_loop().time)
        self._abort = transport.abort if transport is not None else (lambda: None)

    def _overflowed(self) -> None:
        log.info("peer %s dropped: not reading its messages", self.peer_id)
        self.why = "not reading"
        self._abort()

    def replaced(self) -> None:
        """A newer connection with the same token took this one's seat."""
        self.seat = None  # it no longer speaks for the room; the newer connection does
        log.info("peer %s: an older connection was replaced", self.peer_id)
        self.refuse(MessageError("replaced", "this token joined from elsewhere", True))

    def revoked(self) -> None:
        """The token's id was put on the revocation list: this member is removed."""
        self.seat = None
        self.refuse(MessageError("token_revoked", "this token has been revoked", True))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.hub.config
        deadline = loop.time() + config.join_timeout_s
        while not self.outbox.closing:
            try:
                msg = await self.ws.receive(timeout=max(deadline - loop.time(), 0.001))
            except TimeoutError:
                if self.seat is None:
                    self.refuse(MessageError("join_timeout", "no join within time", fatal=True))
                else:
                    self.why = "no heartbeat"
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type is WSMsgType.ERROR:
                self.why = f"connection error {type(msg.data).__name__}"
                return
            try:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                self._admit(msg.data)
                if msg.type is WSMsgType.BINARY:
                    raise MessageError("bad_message", "binary frames are not accepted")
                await self._handle(parse_client_message(msg.data))
            except _Dropped:
                pass
            except MessageError as exc:
                self.refuse(exc)
                if exc.fatal:
                    return
            if self.seat is not None:  # any frame from a joined client shows it is alive
                deadline = loop.time() + HEARTBEAT_MISSES * config.heartbeat_s

    def _admit(self, data: str | bytes) -> None:
        """Raises MessageError (rate_limited) or _Dropped for a message over the sender's
        limits: dropped unread, so a flood costs the server little."""
        verdict = self.limiter.admit(_size(data))
        if verdict is Verdict.TELL:
            raise MessageError("rate_limited", "too many messages: this one was dropped")
        if verdict is Verdict.DROP:
            raise _Dropped

    async def finish(self) -> None:
        """Leave the room after `leave`, else hold the seat for the grace period; close."""
        if self.limiter.refused:
            log.info(
                "peer %s: %d messages over its rate dropped", self.peer_id, self.limiter.refused
            )
        seat, self.seat = self.seat, None
        if seat is not None and seat.connection is self:
            if self.left:
                await self.hub.vacate(seat, "left")
            else:
                await self.hub.hold(seat, self.why)
        await self.outbox.wait_closed()

    def refuse(self, exc: MessageError) -> None:
        log.info(
            "peer %s refused: %s%s%s",
            self.peer_id,
            exc.code,
            f" room {self.hub.room_tag(self.room)}" if self.room else "",
            " (closing)" if exc.fatal else "",
        )
        self.outbox.send_obj(error_msg(exc.code, exc.message, exc.fatal))
        if exc.fatal:
            self.outbox.close(CLOSE_POLICY)

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Ping):
            await self.outbox.reply(PONG_TEXT)
        elif isinstance(message, Join):
            if self.seat is not None or self.room:
                raise MessageError("bad_message", "already joined")
            await self._join(message)
        elif self.seat is None:
            raise MessageError("not_joined", "send join first")
        elif isinstance(message, Leave):
            self.left = True
            self.outbox.close(CLOSE_NORMAL)
        else:
            self._relay(message)

    def _relay(self, message: PeerMessage) -> None:
        if self.v < 2 and message.type in V2_ONLY_TYPES:
            raise MessageError("unknown_type", f"{message.type} needs protocol version 2")
        target = self.hub.seats.get(message.to)
        if target is None or target is self.seat or target.room != self.room:
            raise MessageError("unknown_peer", "no such peer in this room")
        # Held, not refused, while the target is in its grace period: delivered on its return.
        # Refused when the sender's share of what waits for the target is full: the target
        # reads slower than this sender sends, and only the sender pays for that.
        if not target.send(encode(message.delivered(self.peer_id)), sender=self.peer_id):
            raise MessageError(
                "rate_limited", "too many of your messages wait for that peer: not delivered"
            )

    async def _join(self, join: Join) -> None:
        if join.v not in SUPPORTED_VERSIONS:
            versions = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
            raise MessageError(
                "version_unsupported", f"this server speaks versions {versions}", True
            )
        config = self.hub.config
        claims = await admit(self.hub, join.token)
        if claims.room == ROSTER_ROOM:
            # An on-call clinician's standing token admits to /emergency/ws only; a case's call
            # ticket (room emergency-<case_id>) is what admits it to a room.
            raise MessageError("token_wrong_role", "an on-call roster token joins no room", True)
        for room in (join.room, self.expected_room):
            if room is not None and room != claims.room:
                raise MessageError("token_wrong_room", "the token is for another room", True)
        for roles in (join.role, self.expected_role):
            if roles is not None and claims.role not in expected_roles(roles):
                raise MessageError("token_wrong_role", "the token is for another role", True)
        peer_id = peer_id_for(config.secret, claims.jti)
        member = Member(peer_id, claims.jti, claims.name, claims.role, v=join.v)
        self.room = claims.room
        try:
            outcome = await self.hub.registry.join(claims.room, member)
        except RoomFull as exc:
            raise MessageError("room_full", str(exc), fatal=True) from None
        self.peer_id, self.v, self.device = peer_id, join.v, join.device
        self.seat, held, takeover = self.hub.take_seat(peer_id, claims.room, self)
        self.on_join()
        resumed = outcome.previous is not None
        welcome = encode(
            welcome_msg(
                peer_id=peer_id,
                room=claims.room,
                role=claims.role,
                name=claims.name,
                heartbeat_s=config.heartbeat_s,
                ice_servers=ice_servers(config),
                peers=[peer_info(m.peer_id, m.name, m.role, m.v) for m in outcome.others],
                v=join.v,
                resumed=resumed,
                grace_s=config.grace_s,
            )
        )
        # The others are told (queued) before the member hears it may offer; nothing since the
        # registry join has waited, so no other message of this room came in between. A resume
        # is news for v2 members only: for v1 ones nothing changed (media is peer to peer).
        tag = self.hub.room_tag(claims.room)
        if resumed:
            self.hub.deliver(outcome.others, peer_resumed_msg(peer_id), min_v=2, about=peer_id)
            if takeover:  # the join code was used on another device: the room is told
                self.hub.deliver(outcome.others, peer_replaced_msg(peer_id), min_v=2, about=peer_id)
            log.info("peer %s resumed in room %s (v%d)", peer_id, tag, join.v)
        else:
            info = peer_info(peer_id, claims.name, claims.role, join.v)
            self.hub.deliver(outcome.others, peer_joined_msg(info), about=peer_id)
            log.info("peer %s joined room %s as %s (v%d)", peer_id, tag, claims.role, join.v)
        if held:
            # Queued together, without an await in between: the welcome, then what waited for
            # this member, then anything relayed from now on.
            self.outbox.send(welcome)
            for text in held:
                self.outbox.send(text)
        else:
            await self.outbox.reply(welcome)


HUB_KEY = web.AppKey("signaling_hub", Hub)


async def handle_ws(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        max_msg_size=MAX_FRAME_BYTES, compress=False, timeout=2.0, autoping=True
    )
    await ws.prepare(request)
    # Until the join: few of these at once, and a few KiB each (app/server/connection_guard.py).
    pending = request.app[GUARD_KEY].pending_join(request.transport)
    session = Session(request.app[HUB_KEY], ws, request)
    session.on_join = pending.joined
    try:
        await session.run()
    finally:
        pending.done()
        await session.finish()
    return ws


async def _on_startup(app: web.Application) -> None:
    await app[HUB_KEY].start()


async def _on_shutdown(app: web.Application) -> None:
    await app[HUB_KEY].shutdown()


def add_routes(app: web.Application, hub: Hub) -> None:
    """Serve /ws with `hub`'s rooms (kept at app[HUB_KEY] for the handler and shutdown)."""
    app[HUB_KEY] = hub
    app.router.add_get("/ws", handle_ws)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
