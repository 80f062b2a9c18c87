"""One signaling connection to the session server (Qt-free): join, receive loop, heartbeat.

`open()` connects and joins, returning the server's welcome or raising `JoinRefused` with the
code the engine reports. `run()` then reads messages until the connection is lost, handing each
to `on_message`, and pings every heartbeat; a server silent for three heartbeats counts as lost
(a blackholed WebSocket would otherwise wait forever). What to do about a lost connection is the
caller's decision, never this module's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from app.call.signaling import (
    Message,
    ProtocolError,
    Signaling,
    Welcome,
    join_message,
    parse_error,
    parse_welcome,
)
from app.net.tls_trust import NOT_TLS_WORDS, UNTRUSTED_WORDS, is_not_tls, is_untrusted_certificate

log = logging.getLogger(__name__)

SERVER_SILENCE_PERIODS = 3  # heartbeats without a word from the server before it counts as lost


class JoinRefused(Exception):
    """The join did not get into the room; `code` is what the engine reports (CallError)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Returns False to stop reading (a fatal error from the server: the caller ends the call).
MessageHandler = Callable[[Message], Awaitable[bool]]
ProblemHandler = Callable[[ProtocolError], None]


class SignalingConnection:
    """One connection's life: open (join), run (receive + heartbeat), close."""

    def __init__(
        self,
        signaling: Signaling,
        token: str,
        *,
        join_timeout: float,
        now: Callable[[], float] = time.monotonic,
        resume: bool = False,
        device: str | None = None,
    ) -> None:
        """`device` names this client on every connection of its call (join.device), so the
        server tells our own reconnect from the join code being used on another device."""
        self.signaling = signaling
        self._token = token
        self._device = device
        self._join_timeout = join_timeout
        self._now = now
        self._resume = resume
        self._last_heard = now()
        self.welcome: Welcome | None = None
        self._closed = False

    async def open(self) -> Welcome:
        """Connect and join; raises JoinRefused. Whatever happens, the caller close()s: a join
        cancelled by leave() still says `leave` on this connection first."""
        welcome = await self._join()
        self.welcome = welcome
        self._last_heard = self._now()
        return welcome

    async def _join(self) -> Welcome:
        try:
            await self.signaling.connect()
            await self.signaling.send(
                join_message(self._token, resume=self._resume, device=self._device)
            )
            reply = await asyncio.wait_for(self.signaling.receive(), self._join_timeout)
        except ProtocolError as exc:
            raise JoinRefused(
                "protocol_error", f"The session server's reply was not understood ({exc})."
            ) from None
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            # Expected while reconnecting (the retries are the report); news at the first join.
            report = log.info if self._resume else log.warning
            if is_untrusted_certificate(exc):
                report("the session server's certificate is not trusted")
                raise JoinRefused("server_untrusted", UNTRUSTED_WORDS) from None
            if is_not_tls(exc):
                report("the session server does not speak https at this address")
                raise JoinRefused("server_not_https", NOT_TLS_WORDS) from None
            report("cannot reach the session server: %s", type(exc).__name__)
            raise JoinRefused(
                "server_unreachable",
                "The session server could not be "
                "reached. Check your internet connection and try again.",
            ) from None
        if reply is None:
            raise JoinRefused("server_closed", "The session server closed the connection.")
        if reply["type"] == "error":
            try:
                error = parse_error(reply)
            except ProtocolError:
                raise JoinRefused(
                    "protocol_error", "The session server refused to let you in without saying why."
                ) from None
            words = error.message or "The session server refused to let you in."
            raise JoinRefused(error.code, words)
        try:
            if reply["type"] != "welcome":
                raise ProtocolError(f"expected 'welcome', got '{reply['type'][:40]}'")
            return parse_welcome(reply)
        except ProtocolError as exc:
            raise JoinRefused(
                "protocol_error", f"The session server's reply was not understood ({exc})."
            ) from None

    async def run(self, on_message: MessageHandler, on_problem: ProblemHandler) -> None:
        """Read and hand over messages until the connection is lost or `on_message` says stop."""
        assert self.welcome is not None
        heartbeat = asyncio.ensure_future(self._heartbeat(self.welcome.heartbeat_s))
        receive = asyncio.ensure_future(self._receive_loop(on_message, on_problem))
        try:
            await asyncio.wait({heartbeat, receive}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (heartbeat, receive):
                task.cancel()
            await asyncio.wait({heartbeat, receive})
            for task in (heartbeat, receive):
                if not task.cancelled() and task.exception() is not None:
                    log.error("signaling task failed", exc_info=task.exception())

    async def _receive_loop(self, on_message: MessageHandler, on_problem: ProblemHandler) -> None:
        while True:
            try:
                message = await self.signaling.receive()
                self._last_heard = self._now()
            except ProtocolError as exc:
                on_problem(exc)
                continue
            except (OSError, aiohttp.ClientError):
                message = None
            if message is None:
                return
            try:
                if not await on_message(message):
                    return
            except ProtocolError as exc:
                on_problem(exc)

    async def _heartbeat(self, period: float) -> None:
        """Ping every `period`; return when the server has been silent for 3 periods."""
        while True:
            await asyncio.sleep(period)
            silent = self._now() - self._last_heard
            if silent > SERVER_SILENCE_PERIODS * period:
                log.info("session server silent for %.1f s", silent)
                return
            try:
                await self.signaling.send({"type": "ping"})
            except Exception:  # the receive loop notices the closed connection
                return

    @property
    def last_heard(self) -> float:
        """When the server last said anything (the injected clock's time)."""
        return self._last_heard

    async def send(self, message: Message) -> None:
        await self.signaling.send(message)

    async def close(self) -> None:
        """Close once (later calls return at once)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.signaling.close()
