"""One emergency connection kept up for as long as the client runs (both sides use it).

Connect, say hello, read the answer, then keep it: a ping every `heartbeat_s`, and a
connection that goes silent is given up and made again. Every time it is down the listener
hears `Offline` (why, and when the next attempt is), and hears it within `offline_after_s`
even when an attempt is still hanging (a silent network must not leave a frightened person
waiting on a spinner): the attempt goes on in the background. A fatal word from the server
(a bad token) is `Refused`, and the connection stops for good.

A request sent with `expect_answer=True` (the couple's alarm) must be answered within
`offline_after_s`; when nothing at all comes back the connection is taken for dead at once
rather than at the next heartbeat, for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from app.call.retry import RetrySchedule
from app.emergency.events import (
    OFFLINE_LOST,
    OFFLINE_PROTOCOL,
    OFFLINE_SERVER_ERROR,
    OFFLINE_TIMEOUT,
    Declined,
    Offline,
    Refused,
)
from app.emergency.protocol import decode, encode, ping
from app.emergency.protocol_values import ProtocolError
from app.emergency.server_messages import parse_error
from app.emergency.transport import ConnectFailed, Connector, Transport

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.0, 0.5, 1.0, 2.0, 3.0)
RETRY_EVERY_S = 5.0  # an emergency never gives up: a steady, short wait
OFFLINE_AFTER_S = 1.5  # the crisis card's data must be on screen within 2 s
HELLO_TIMEOUT_S = 5.0
SILENT_HEARTBEATS = 3  # this many heartbeats without a word: the connection is dead
MIN_SILENCE_S = 2.0

Welcome = Callable[[dict[str, Any]], float]
"""Reads hello_ok (raises ProtocolError) and returns its heartbeat_s."""


class _Woken:
    """What the reader gets instead of a frame when a new deadline was set."""


_WOKEN = _Woken()


class _Down(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Stop(Exception):
    """Refused, or closed: no more attempts."""


class KeptConnection:
    def __init__(
        self,
        connect: Connector,
        hello: dict[str, Any],
        *,
        welcome: Welcome,
        on_up: Callable[[], Awaitable[None]],
        on_message: Callable[[dict[str, Any]], None],
        on_offline: Callable[[Offline], None],
        on_refused: Callable[[Refused], None],
        retry: RetrySchedule | None = None,
        offline_after_s: float = OFFLINE_AFTER_S,
        hello_timeout_s: float = HELLO_TIMEOUT_S,
    ) -> None:
        """`welcome` reads the hello_ok; `on_up` runs once the connection is up (to send what
        waited for it); `on_message` gets every later message but pong and fatal errors."""
        self._connect = connect
        self._hello = hello
        self._welcome = welcome
        self._on_up = on_up
        self._on_message = on_message
        self._on_offline = on_offline
        self._on_refused = on_refused
        self._retry = retry or RetrySchedule(
            RETRY_DELAYS_S, every_s=RETRY_EVERY_S, give_up_after_s=math.inf
        )
        self._offline_after = offline_after_s
        self._hello_timeout = hello_timeout_s
        self._transport: Transport | None = None
        self._answer_due: float | None = None
        self._closed = asyncio.Event()
        self._deadline_set = asyncio.Event()  # wakes the reader to apply a new deadline
        self.up = False
        self.refused: Refused | None = None

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def run(self) -> None:
        """Keep connected until close() or a refusal; returns then."""
        loop = asyncio.get_running_loop()
        while not self.closed:
            try:
                heartbeat = await self._come_up()
                self._retry.reset()
                await self._serve(heartbeat)
                reason = OFFLINE_LOST
            except _Stop:
                return
            except (_Down, ConnectFailed) as exc:
                reason = exc.reason
            finally:
                await self._drop()
            if self.closed:
                return
            delay = self._retry.next_delay(loop.time()) or 0.0
            self._on_offline(Offline(reason, delay))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)

    async def send(self, message: dict[str, Any], *, expect_answer: bool = False) -> bool:
        """Send now if connected (True); False when down (the caller keeps it for on_up).
        Raises ValueError for a message too large to send."""
        text = encode(message)
        transport = self._transport
        if transport is None or not self.up:
            return False
        try:
            await transport.send(text)
        except (ConnectionError, RuntimeError, OSError):
            return False
        if expect_answer and self._answer_due is None:
            self._answer_due = asyncio.get_running_loop().time() + self._offline_after
            self._deadline_set.set()
        return True

    async def close(self) -> None:
        self._closed.set()
        await self._drop()

    # --- one connection --------------------------------------------------------------------

    async def _come_up(self) -> float:
        """Connect and be welcomed; says Offline (retry 0) if that takes too long."""
        attempt = asyncio.ensure_future(self._connect_and_hello())
        closing = asyncio.ensure_future(self._closed.wait())
        either = {attempt, closing}
        try:
            done, _ = await asyncio.wait(
                either, timeout=self._offline_after, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                self._on_offline(Offline(OFFLINE_TIMEOUT, 0.0))
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        finally:
            closing.cancel()
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt
            raise _Stop
        return attempt.result()

    async def _connect_and_hello(self) -> float:
        transport = self._transport = await self._connect()
        try:
            await transport.send(encode(self._hello))
            raw = await asyncio.wait_for(transport.receive(), self._hello_timeout)
        except TimeoutError:
            raise _Down(OFFLINE_TIMEOUT) from None
        except (ConnectionError, OSError, RuntimeError):
            raise _Down(OFFLINE_LOST) from None
        if raw is None:
            raise _Down(OFFLINE_LOST)
        try:
            message = decode(raw)
            if message["type"] == "error":
                self._error(message)
                raise _Down(OFFLINE_SERVER_ERROR)  # a non-fatal error instead of hello_ok
            if message["type"] != "hello_ok":
                raise ProtocolError("the first answer must be hello_ok")
            heartbeat = self._welcome(message)
        except ProtocolError as exc:
            log.warning("the emergency server did not answer in the protocol: %s", exc)
            raise _Down(OFFLINE_PROTOCOL) from None
        self.up = True
        await self._on_up()
        return heartbeat

    async def _serve(self, heartbeat_s: float) -> None:
        pinger = asyncio.ensure_future(self._ping(heartbeat_s))
        try:
            await self._read(heartbeat_s)
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def _ping(self, heartbeat_s: float) -> None:
        while True:
            await asyncio.sleep(heartbeat_s)
            await self.send(ping())

    async def _read(self, heartbeat_s: float) -> None:
        transport = self._transport
        assert transport is not None
        receiving: asyncio.Future[str | bytes | None] | None = None
        try:
            while True:
                if receiving is None:
                    receiving = asyncio.ensure_future(transport.receive())
                raw = await self._next_frame(receiving, heartbeat_s)
                if raw is _WOKEN:
                    continue  # a request now awaits an answer: wait again with its deadline
                receiving = None
                if raw is None:
                    return
                assert not isinstance(raw, _Woken)
                self._answer_due = None
                self._dispatch(raw)
        finally:
            if receiving is not None:
                receiving.cancel()

    async def _next_frame(
        self, receiving: asyncio.Future[str | bytes | None], heartbeat_s: float
    ) -> str | bytes | None | _Woken:
        """The next frame; _WOKEN when a deadline was set meanwhile; _Down when the
        connection is silent past its heartbeats or past the answer a request awaits."""
        loop = asyncio.get_running_loop()
        wait = max(SILENT_HEARTBEATS * heartbeat_s, MIN_SILENCE_S)
        if self._answer_due is not None:
            wait = min(wait, max(0.0, self._answer_due - loop.time()))
        self._deadline_set.clear()
        woken = asyncio.ensure_future(self._deadline_set.wait())
        either: set[asyncio.Future[Any]] = {receiving, woken}
        try:
            done, _ = await asyncio.wait(either, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if receiving in done:
            try:
                return receiving.result()
            except (ConnectionError, OSError, RuntimeError):
                raise _Down(OFFLINE_LOST) from None
        if woken in done:
            return _WOKEN
        raise _Down(OFFLINE_TIMEOUT)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = decode(raw)
        except ProtocolError as exc:
            log.warning("ignored a malformed emergency message: %s", exc)
            return
        if message["type"] == "pong":
            return
        if message["type"] == "error":
            self._error(message)
            return
        self._on_message(message)

    def _error(self, message: dict[str, Any]) -> None:
        """A fatal error stops everything (_Stop); a non-fatal one goes to on_message."""
        try:
            error = parse_error(message)
        except ProtocolError as exc:
            log.warning("ignored a malformed emergency error: %s", exc)
            return
        if isinstance(error, Declined):
            self._on_message(message)
            return
        if error.code == "join_timeout":  # our hello came late (a slow link): try again
            raise _Down(OFFLINE_TIMEOUT)
        log.warning("the emergency server refused us: %s", error.code)
        self.refused = error
        self._closed.set()
        self._on_refused(error)
        raise _Stop

    async def _drop(self) -> None:
        self.up = False
        self._answer_due = None
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()
