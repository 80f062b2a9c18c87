"""The /ws signaling endpoint: join, presence, offer/answer relay and heartbeats (docs/protocol.md).

Each connection is a `Session` reading client messages in order, plus an `Outbox` that writes to
that client from its own task, so one slow or dead client never stalls the others. The session's
own replies (welcome, pong) are written at once when nothing is queued for that client, without a
hop through the outbox: in a burst of joins each welcome leaves as soon as its join is handled,
not after the whole batch. All work per message touches one room (found by key) and one or a few
connections, never the whole server.

Logs name a connection by peer_id and a room by a keyed hash; never a token, a name or an SDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from app.net.signaling_protocol import (
    MAX_FRAME_BYTES,
    PONG,
    PROTOCOL_VERSION,
    ClientMessage,
    Join,
    Leave,
    MessageError,
    Ping,
    Relay,
    encode,
    error_msg,
    expected_roles,
    parse_client_message,
    peer_info,
    peer_joined_msg,
    peer_left_msg,
    relayed_msg,
    welcome_msg,
)
from app.server.config import ServerConfig
from app.server.ice import ice_servers
from app.server.rooms import InMemoryRegistry, Member, RoomFull, RoomRegistry
from app.server.tokens import TokenError, verify_token

log = logging.getLogger(__name__)

# Messages waiting for a client that does not read them; past this it is dropped as timed out.
OUTBOX_LIMIT = 256
# A reply up to this size may be written straight from the session's task (see Outbox.reply).
DIRECT_REPLY_LIMIT = 16 * 1024
PONG_TEXT = encode(PONG)
HEARTBEAT_MISSES = 3
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008


class Outbox:
    """Writes text frames to one client in order, then closes it with the code given to close().

    A drain task exists only while frames wait, so an idle connection costs no task.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        on_overflow: Callable[[], None],
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._on_overflow = on_overflow
        self._pending: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None
        self._close_code = CLOSE_NORMAL
        self._broken = False  # a write failed: the client is gone
        self.closing = False

    def send(self, text: str) -> None:
        """Queue `text`; safe from any task, never waits on this client."""
        if self.closing or self._broken:
            return
        if len(self._pending) >= OUTBOX_LIMIT:
            self.closing = True
            self._on_overflow()
            self._start_drain()
            return
        self._pending.append(text)
        self._start_drain()

    def send_obj(self, obj: dict[str, Any]) -> None:
        self.send(encode(obj))

    async def reply(self, text: str) -> None:
        """Send from this client's own session task: written at once if nothing waits before it.

        Only when the transport's buffer is empty: then one small frame cannot make aiohttp wait
        for the client to read, so the session never blocks on a client that does not read (its
        replies queue up in the outbox instead, and overflow as usual).
        """
        if self.closing or self._broken:
            return
        if (
            self._task is not None
            or self._transport is None
            or self._transport.get_write_buffer_size()
            or len(text) > DIRECT_REPLY_LIMIT
        ):
            self.send(text)
            return
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self._broken = True  # the client is gone; the session notices on its side

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Close after everything queued so far has been written."""
        if not self.closing:
            self.closing = True
            self._close_code = code
            self._start_drain()

    async def wait_closed(self) -> None:
        self.close()
        if self._task is not None:
            await self._task

    def _start_drain(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending and not self._broken:
            text = self._pending.popleft()
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self._broken = True  # the client is gone; the session notices on its side
        if not (self.closing or self._broken):
            self._task = None  # all written; the next send starts a new drain
            return
        self._pending.clear()
        with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
            await self._ws.close(code=self._close_code)


@functools.lru_cache(maxsize=4096)
def _room_tag(secret: str, room: str) -> str:
    return hmac.new(secret.encode(), room.encode(), hashlib.sha256).hexdigest()[:12]


class Hub:
    """The signaling state of one server: the room registry and this process's live sessions."""

    def __init__(self, config: ServerConfig, registry: RoomRegistry | None = None) -> None:
        self.config = config
        self.registry: RoomRegistry = registry or InMemoryRegistry(config.limits)
        self.sessions: dict[str, Session] = {}

    def room_tag(self, room: str) -> str:
        """A stable name for a room in logs that does not reveal the room id."""
        return _room_tag(self.config.secret, room)

    def deliver(self, members: list[Member] | tuple[Member, ...], obj: dict[str, Any]) -> None:
        text = encode(obj)
        for member in members:
            session = self.sessions.get(member.peer_id)
            if session is not None:
                session.outbox.send(text)

    async def shutdown(self) -> None:
        sessions = list(self.sessions.values())
        for session in sessions:
            session.outbox.close(CLOSE_GOING_AWAY)
        await asyncio.gather(*(s.outbox.wait_closed() for s in sessions))


class Session:
    """One client connection, from the WebSocket upgrade until it is gone."""

    def __init__(self, hub: Hub, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.hub = hub
        self.ws = ws
        self.peer_id = secrets.token_urlsafe(9)
        self.expected_room = request.query.get("room")
        self.expected_role = request.query.get("role")
        self.member: Member | None = None
        self.room = ""
        self.reason = "left"
        transport = request.transport
        self.outbox = Outbox(ws, transport, on_overflow=self._overflowed)
        self._abort = transport.abort if transport is not None else (lambda: None)

    def _overflowed(self) -> None:
        log.info("peer %s dropped: not reading its messages", self.peer_id)
        self.reason = "timeout"
        self._abort()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.hub.config
        deadline = loop.time() + config.join_timeout_s
        while not self.outbox.closing:
            try:
                msg = await self.ws.receive(timeout=max(deadline - loop.time(), 0.001))
            except TimeoutError:
                if self.member is None:
                    self.refuse(MessageError("join_timeout", "no join within time", fatal=True))
                else:
                    self.reason = "timeout"
                    log.info("peer %s timed out (no heartbeat)", self.peer_id)
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type is WSMsgType.ERROR:
                log.info("peer %s connection error: %s", self.peer_id, type(msg.data).__name__)
                return
            try:
                if msg.type is WSMsgType.BINARY:
                    raise MessageError("bad_message", "binary frames are not accepted")
                if msg.type is not WSMsgType.TEXT:
                    continue
                await self._handle(parse_client_message(msg.data))
            except MessageError as exc:
                self.refuse(exc)
                if exc.fatal:
                    return
            if self.member is not None:  # any frame from a joined client shows it is alive
                deadline = loop.time() + HEARTBEAT_MISSES * config.heartbeat_s

    async def finish(self) -> None:
        """Leave the room (telling the others why) and close the connection."""
        if self.member is not None:
            if self.hub.sessions.get(self.peer_id) is self:
                del self.hub.sessions[self.peer_id]
            left = await self.hub.registry.leave(self.room, self.peer_id)
            if left is not None:
                others = await self.hub.registry.members(self.room)
                self.hub.deliver(others, peer_left_msg(self.peer_id, self.reason))
                log.info(
                    "peer %s left room %s (%s)",
                    self.peer_id,
                    self.hub.room_tag(self.room),
                    self.reason,
                )
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
            if self.member is not None:
                raise MessageError("bad_message", "already joined")
            await self._join(message)
        elif self.member is None:
            raise MessageError("not_joined", "send join first")
        elif isinstance(message, Relay):
            self._relay(message)
        elif isinstance(message, Leave):
            self.reason = "left"
            self.outbox.close(CLOSE_NORMAL)

    def _relay(self, message: Relay) -> None:
        target = self.hub.sessions.get(message.to)
        if target is None or target is self or target.room != self.room:
            raise MessageError("unknown_peer", "no such peer in this room")
        target.outbox.send_obj(relayed_msg(message.type, self.peer_id, message.sdp))

    async def _join(self, join: Join) -> None:
        if join.v != PROTOCOL_VERSION:
            raise MessageError(
                "version_unsupported", f"this server speaks version {PROTOCOL_VERSION}", True
            )
        config = self.hub.config
        try:
            claims = verify_token(config.secret, join.token)
        except TokenError as exc:
            raise MessageError(exc.code, exc.message, fatal=True) from None
        for room in (join.room, self.expected_room):
            if room is not None and room != claims.room:
                raise MessageError("token_wrong_room", "the token is for another room", True)
        for roles in (join.role, self.expected_role):
            if roles is not None and claims.role not in expected_roles(roles):
                raise MessageError("token_wrong_role", "the token is for another role", True)
        member = Member(peer_id=self.peer_id, jti=claims.jti, name=claims.name, role=claims.role)
        self.room = claims.room
        try:
            outcome = await self.hub.registry.join(claims.room, member)
        except RoomFull as exc:
            raise MessageError("room_full", str(exc), fatal=True) from None
        self.member = member
        self.hub.sessions[self.peer_id] = self
        tag = self.hub.room_tag(claims.room)
        if outcome.replaced is not None:
            old = self.hub.sessions.pop(outcome.replaced.peer_id, None)
            if old is not None:
                old.reason = "replaced"
                old.member = None  # it no longer speaks for the room; this session does
                old.refuse(MessageError("replaced", "this token joined from elsewhere", True))
            self.hub.deliver(outcome.others, peer_left_msg(outcome.replaced.peer_id, "replaced"))
            log.info(
                "peer %s replaced by %s in room %s", outcome.replaced.peer_id, self.peer_id, tag
            )
        welcome = welcome_msg(
            peer_id=self.peer_id,
            room=claims.room,
            role=claims.role,
            name=claims.name,
            heartbeat_s=config.heartbeat_s,
            ice_servers=ice_servers(config),
            peers=[peer_info(m.peer_id, m.name, m.role) for m in outcome.others],
        )
        # The others are told (queued) before the newcomer hears it may offer; nothing since the
        # registry join has waited, so no other message of this room came in between.
        self.hub.deliver(
            outcome.others, peer_joined_msg(peer_info(self.peer_id, claims.name, claims.role))
        )
        log.info("peer %s joined room %s as %s", self.peer_id, tag, claims.role)
        await self.outbox.reply(encode(welcome))


HUB_KEY = web.AppKey("signaling_hub", Hub)


async def handle_ws(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        max_msg_size=MAX_FRAME_BYTES, compress=False, timeout=2.0, autoping=True
    )
    await ws.prepare(request)
    session = Session(request.app[HUB_KEY], ws, request)
    try:
        await session.run()
    finally:
        await session.finish()
    return ws


async def _on_shutdown(app: web.Application) -> None:
    await app[HUB_KEY].shutdown()


def add_routes(app: web.Application, hub: Hub) -> None:
    """Serve /ws with `hub`'s rooms (kept at app[HUB_KEY] for the handler and shutdown)."""
    app[HUB_KEY] = hub
    app.router.add_get("/ws", handle_ws)
    app.on_shutdown.append(_on_shutdown)
