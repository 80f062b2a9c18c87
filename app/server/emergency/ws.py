"""The `/emergency/ws` endpoint (docs/emergency.md): one connection of a couple or a clinician.

Like `/ws`: a `hello` within 5 s, then messages in order, each answered or refused in words
(never a traceback), written through an `Outbox` so a slow client stalls no one. Each
connection may send at most a burst of BURST messages, refilled at MESSAGES_PER_S; beyond
that a message is refused with `rate_limited`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from app.net.signaling_protocol import MessageError, encode
from app.server.connection_guard import GUARD_KEY
from app.server.emergency import clinician_side, couple_side
from app.server.emergency import messages as m
from app.server.emergency.desk import Desk, DeskError
from app.server.emergency.tickets import ROSTER_ROOM, is_couple_room
from app.server.outbox import CLOSE_GOING_AWAY, CLOSE_POLICY, Outbox
from app.server.revocation import RevocationList
from app.server.tokens import TokenError, TokenLifetimes, verify_token

log = logging.getLogger(__name__)

HEARTBEAT_MISSES = 3
MESSAGES_PER_S = 5.0
BURST = 20
PONG_TEXT = encode({"type": "pong"})


class TokenBucket:
    """BURST messages at once, then MESSAGES_PER_S; `now` is a monotonic clock in seconds."""

    def __init__(self, rate: float = MESSAGES_PER_S, burst: int = BURST) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at: float | None = None

    def take(self, now: float) -> bool:
        if self._at is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Connection:
    """One `/emergency/ws` client; a `Link` for the desk once its hello is accepted."""

    def __init__(self, endpoint: Endpoint, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.desk = endpoint.desk
        self.heartbeat_s = endpoint.heartbeat_s
        self.join_timeout_s = endpoint.join_timeout_s
        self.endpoint = endpoint
        self.on_hello: Callable[[], None] = lambda: None
        self.ws = ws
        self.tag = "em-" + secrets.token_urlsafe(6)  # names the connection in logs
        self.origin = f"{request.scheme}://{request.host}"
        self.side: str | None = None
        self.name = ""
        self.jti = ""
        self.key: str | None = None  # the couple's key, for a couple's connection
        self.bucket = TokenBucket()
        transport = request.transport
        self.outbox = Outbox(ws, transport, on_overflow=self._overflowed)
        self._abort = transport.abort if transport is not None else (lambda: None)

    def push(self, obj: dict[str, Any]) -> None:
        self.outbox.send_obj(obj)

    def _overflowed(self) -> None:
        log.info("emergency connection %s dropped: not reading its messages", self.tag)
        self._abort()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.join_timeout_s
        while not self.outbox.closing:
            try:
                msg = await self.ws.receive(timeout=max(deadline - loop.time(), 0.001))
            except TimeoutError:
                if self.side is None:
                    self.refuse(MessageError("join_timeout", "no hello within time", fatal=True))
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            try:
                if not self.bucket.take(loop.time()):
                    raise MessageError("rate_limited", "too many messages; slow down")
                if msg.type is not WSMsgType.TEXT:
                    raise MessageError("bad_message", "only JSON text frames are accepted")
                await self._handle(m.parse(msg.data))
            except MessageError as exc:
                self.refuse(exc)
                if exc.fatal:
                    return
            except DeskError as exc:
                self.refuse(MessageError(exc.code, exc.message))
            if self.side is not None:  # any frame shows the client is alive
                deadline = loop.time() + HEARTBEAT_MISSES * self.heartbeat_s

    def finish(self) -> None:
        if self.side == "couple" and self.key is not None:
            couple_side.gone(self.desk, self, self.key)
        elif self.side == "oncall":
            clinician_side.gone(self.desk, self)

    def refuse(self, exc: MessageError) -> None:
        log.info(
            "emergency connection %s refused: %s%s",
            self.tag,
            exc.code,
            " (closing)" if exc.fatal else "",
        )
        self.outbox.send_obj(m.error(exc.code, exc.message, exc.fatal))
        if exc.fatal:
            self.outbox.close(CLOSE_POLICY)

    async def _handle(self, message: m.ClientMessage) -> None:
        if isinstance(message, m.Ping):
            await self.outbox.reply(PONG_TEXT)
        elif isinstance(message, m.Hello):
            if self.side is not None:
                raise MessageError("bad_message", "already said hello")
            await self._hello(message)
        elif self.side is None:
            raise MessageError("bad_message", "send hello first")
        elif self.side == "couple":
            await self._couple(message)
        else:
            await self._clinician(message)

    async def _couple(self, message: m.ClientMessage) -> None:
        assert self.key is not None
        if isinstance(message, m.Emergency):
            await couple_side.emergency(self.desk, self, self.key, message.location)
        elif isinstance(message, m.Cancel):
            await couple_side.cancel(self.desk, self, self.key, message.case_id)
        elif isinstance(message, m.Connected):
            await self.desk.connected(self, self.key, message.case_id)
        else:
            raise MessageError("bad_message", "a couple cannot send this message")

    async def _clinician(self, message: m.ClientMessage) -> None:
        if isinstance(message, m.Availability):
            await clinician_side.availability(self.desk, self, message.available)
        elif isinstance(message, m.Accept):
            await clinician_side.accept(self.desk, self, message.case_id)
        elif isinstance(message, m.End):
            await clinician_side.end(
                self.desk,
                self,
                message.case_id,
                message.outcome,
                message.follow_up_due,
                message.note,
            )
        elif isinstance(message, m.Connected):
            await self.desk.connected(self, None, message.case_id)
        else:
            raise MessageError("bad_message", "an on-call clinician cannot send this message")

    async def _hello(self, hello: m.Hello) -> None:
        if hello.v != m.EMERGENCY_VERSION:
            raise MessageError("version_unsupported", "this server speaks version 1", True)
        try:
            claims = verify_token(self.desk.secret, hello.token, lifetimes=self.endpoint.lifetimes)
        except TokenError as exc:
            raise MessageError(exc.code, exc.message, fatal=True) from None
        revoked = self.endpoint.revoked
        if revoked is not None:
            revoked.refresh()
            if claims.jti in revoked:
                raise MessageError(
                    "token_revoked",
                    "this token has been revoked; ask the clinic for a new one",
                    True,
                )
        wanted = "partner" if hello.side == "couple" else "oncall"
        if claims.role != wanted:
            raise MessageError("token_wrong_role", f"this needs a {wanted} token", True)
        if hello.side == "oncall" and claims.room != ROSTER_ROOM:
            raise MessageError("token_wrong_room", "an on-call token names the roster", True)
        if hello.side == "couple" and not is_couple_room(claims.room):
            raise MessageError("token_wrong_room", "this token is not a couple's join code", True)
        self.side, self.name, self.jti = hello.side, claims.name, claims.jti
        self.on_hello()
        base = {
            "type": "hello_ok",
            "v": m.EMERGENCY_VERSION,
            "heartbeat_s": self.heartbeat_s,
            "as": hello.side,
        }
        if hello.side == "couple":
            self.key = self.desk.key(claims.room)
            case, plan = await couple_side.hello(self.desk, self, self.key)
            self.push({**base, "case": case, "plan": plan.wire() if plan else None})
            couple_side.after_hello(self.desk, self, self.key)
            log.info("emergency connection %s: couple %s", self.tag, self.key[:8])
        else:
            tier, cards = await clinician_side.hello(self.desk, self)
            self.push({**base, "name": self.name, "tier": tier, "available": False, "cases": cards})
            await clinician_side.after_hello(self.desk, self)
            log.info("emergency connection %s: on-call clinician (tier %d)", self.tag, tier)


class Endpoint:
    """The desk and the open connections of one server (closed on shutdown)."""

    def __init__(
        self,
        desk: Desk,
        heartbeat_s: float,
        join_timeout_s: float,
        *,
        lifetimes: TokenLifetimes | None = None,
        revoked: RevocationList | None = None,
    ) -> None:
        """`lifetimes` and `revoked`: the same rules at the door as /ws (a token valid for
        longer than its role may be, or withdrawn by the clinic, opens nothing here either)."""
        self.desk = desk
        self.lifetimes = lifetimes
        self.revoked = revoked
        self.heartbeat_s = heartbeat_s
        self.join_timeout_s = join_timeout_s
        self.connections: set[Connection] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            max_msg_size=m.MAX_CLIENT_FRAME_BYTES, compress=False, timeout=2.0, autoping=True
        )
        await ws.prepare(request)
        # Until its hello: few of these at once, and a few KiB each, as on /ws
        # (app/server/connection_guard.py); the heartbeat bounds its silence after that.
        pending = request.app[GUARD_KEY].pending_join(request.transport)
        connection = Connection(self, ws, request)
        connection.on_hello = pending.joined
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            pending.done()
            self.connections.discard(connection)
            connection.finish()
            await connection.outbox.wait_closed()
        return ws

    async def shutdown(self) -> None:
        for connection in list(self.connections):
            connection.outbox.close(CLOSE_GOING_AWAY)
        await asyncio.gather(*(c.outbox.wait_closed() for c in list(self.connections)))
