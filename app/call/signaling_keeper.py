"""Our signaling for the whole call (Qt-free): the first join, on the backup server when the
primary cannot be reached, and after that reconnects that resume our place in the room.

A lost connection is never by itself a reason to end the call or touch a media link (media is
peer to peer): it is reconnected on the RetrySchedule, on the server the ServerChooser names,
for up to 10 minutes. Only a fatal word from the server, a refusal that would be the same
anywhere (an expired token with no place to resume, a full room), or spent retries end it.

A fatal `replaced` (our join code was used on another device) ends the call like any fatal word:
it is never answered by joining again, or two devices would push each other out for ever. The
person decides, after being told (app.call.refusal_words).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

from app.call.events import CallEvent, Reconnected, Reconnecting, ServerSwitched
from app.call.retry import RetrySchedule
from app.call.server_choice import ServerChooser, display_url
from app.call.signaling import Message, Signaling, WebSocketSignaling, Welcome, websocket_url
from app.call.signaling_session import (
    JoinRefused,
    MessageHandler,
    ProblemHandler,
    SignalingConnection,
)
from app.net.tls_trust import UNTRUSTED_WORDS

log = logging.getLogger(__name__)

# Join refusals that say nothing about us (the server is not there, or not answering in the
# protocol): another attempt, or the other server, may do better. Any other code (an expired
# token, a full room) would be the same everywhere.
RETRY_CODES = frozenset({"server_unreachable", "server_closed", "protocol_error"})
# While reconnecting, a refused certificate is retried too: a network that intercepts TLS (a
# hotel's sign-in page) comes and goes, and our token never reaches an untrusted server. At the
# first join it ends at once, in its own words: it is a set-up problem, not a lost link.
RECONNECT_RETRY_CODES = RETRY_CODES | {"server_untrusted"}
RECONNECT_JOIN_TIMEOUT_S = 3.0
SERVER_LOST_WORDS = "The connection to the session server was lost."


class Failure(NamedTuple):
    """Why the call cannot go on: a CallError's code and plain words."""

    code: str
    message: str


@dataclass(frozen=True)
class _Back:
    connection: SignalingConnection
    welcome: Welcome


def websocket_signaling(
    url: str, *, connect_timeout: float = 3.0, tls: ssl.SSLContext | None = None
) -> Signaling:
    return WebSocketSignaling(websocket_url(url), connect_timeout=connect_timeout, tls=tls)


class SignalingKeeper:
    def __init__(
        self,
        token: str,
        chooser: ServerChooser,
        *,
        first: Signaling,
        make_signaling: Callable[[str], Signaling] | None,
        join_timeout: float,
        emit: Callable[[CallEvent], None],
        now: Callable[[], float],
        device: str | None = None,
    ) -> None:
        """`first` carries the first join (to the primary); `make_signaling(url)` makes every
        later connection (None: nothing can reconnect, a loss ends the call). `device` names
        this call to the server on every join (default: a fresh random id)."""
        self._token = token
        self.device = device or secrets.token_urlsafe(12)
        self._chooser = chooser
        self._first = first
        self._make = make_signaling
        self._join_timeout = join_timeout
        self._emit = emit
        self._now = now
        self.connection: SignalingConnection | None = None
        self.up = False
        # Set by stop(): the call is closing. Checked after every wait, because a cancellation
        # can be lost on the way (aiohttp's receive timeout turns one that races it into a
        # TimeoutError, which reads as a lost server) and a reconnect must not start then.
        self._stopped = asyncio.Event()

    def _connect(self, signaling: Signaling, *, resume: bool = False) -> SignalingConnection:
        timeout = RECONNECT_JOIN_TIMEOUT_S if resume else self._join_timeout
        self.connection = SignalingConnection(
            signaling,
            self._token,
            join_timeout=timeout,
            now=self._now,
            resume=resume,
            device=self.device,
        )
        return self.connection

    async def join(self) -> Welcome:
        """In the room, or JoinRefused (with the primary's reason when the backup cannot be
        tried, else the backup's)."""
        primary = self._chooser.next_server(self._now())
        try:
            welcome = await self._connect(self._first).open()
        except JoinRefused as refused:
            backup = self._chooser.backup
            if backup is None or self._make is None or refused.code not in RETRY_CODES:
                raise
            await self.close()
            self._chooser.join_failed(primary)
            log.info("primary server unreachable at join: trying the backup")
            welcome = await self._connect(self._make(backup)).open()
            self._chooser.welcomed(backup, len(welcome.peers))
            self._emit(ServerSwitched(self._now(), display_url(primary), display_url(backup)))
        else:
            self._chooser.welcomed(primary, len(welcome.peers))
        self.up = True
        return welcome

    async def run(
        self,
        dispatch: MessageHandler,
        on_problem: ProblemHandler,
        fatal: Callable[[], Failure | None],
        rewelcomed: Callable[[Welcome], Awaitable[None]],
    ) -> Failure | None:
        """Read the server until the call cannot go on; returns why (None: stop() was called,
        the call is closing and nobody failed). `fatal()` says whether
        `dispatch` stopped the reading for a fatal server error; `rewelcomed` hears each new
        welcome after a reconnect."""
        connection = self.connection
        assert connection is not None
        while True:
            await connection.run(dispatch, on_problem)
            self.up = False
            if self._stopped.is_set():
                return None
            failure = fatal()
            if failure is not None:
                return failure
            if self._make is None:  # a given connection cannot be made again
                return Failure("server_lost", SERVER_LOST_WORDS)
            await connection.close()
            result = await self._reconnect(connection.last_heard)
            if not isinstance(result, _Back):
                return result
            connection = result.connection
            await rewelcomed(result.welcome)

    async def _reconnect(self, last_heard: float) -> _Back | Failure | None:
        """`last_heard`: when the lost server last spoke. The silence before a loss was noticed
        already counts towards the time the primary is given before the backup."""
        assert self._make is not None
        lost_at = self._now()
        log.info("signaling lost: reconnecting")
        self._chooser.lost(min(last_heard, lost_at))
        schedule = RetrySchedule()
        last_refusal = ""
        while True:
            delay = schedule.next_delay(self._now())
            if delay is None:
                if last_refusal == "server_untrusted":  # the last word was the certificate's
                    return Failure("server_untrusted", UNTRUSTED_WORDS)
                return Failure("server_lost", SERVER_LOST_WORDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), delay)
            if self._stopped.is_set():
                return None
            url = self._chooser.next_server(self._now())
            self._emit(Reconnecting(self._now(), "signaling", schedule.attempt))
            connection = self._connect(self._make(url), resume=True)
            try:
                welcome = await connection.open()
            except JoinRefused as exc:
                await connection.close()
                if exc.code in RECONNECT_RETRY_CODES:
                    last_refusal = exc.code
                    self._chooser.join_failed(url)
                    continue
                return Failure(exc.code, exc.message)
            if self._stopped.is_set():
                await connection.close()
                return None
            choice = self._chooser.welcomed(url, len(welcome.peers))
            if choice.look_on is not None:  # alone where the others were: look for them there
                await connection.close()
                continue
            self.up = True
            now = self._now()
            self._emit(Reconnected(now, "signaling", (now - lost_at) * 1000.0))
            if choice.switched_from is not None:
                self._emit(ServerSwitched(now, display_url(choice.switched_from), display_url(url)))
            return _Back(connection, welcome)

    async def send(self, message: Message) -> None:
        if self.connection is None:
            raise ConnectionError("signaling is not connected")
        await self.connection.send(message)

    async def stop(self) -> None:
        """The call is closing: no reconnect starts from now on; the connection is closed."""
        self._stopped.set()
        await self.close()

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
        else:
            await self._first.close()
