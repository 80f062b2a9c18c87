"""The desktop engine on its own signaling: one device id on every join of a call, a fatal
`replaced` that ends the call without a reconnect (no fight over the seat), and a server
certificate that is not trusted said as such, at the first join and while reconnecting."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest

from app.call.engine import CallEngine, JoinError
from app.call.events import CallError, CallEvent, CallState, Reconnected
from app.call.signaling import MemorySignaling, Message, Signaling, memory_pair
from app.net.signaling_protocol import welcome_msg

WELCOME = welcome_msg("me", "r", "partner", "N", 30.0, ice_servers=[], peers=[], v=2)
HANG_GUARD_S = 5.0


class Untrusted(MemorySignaling):
    """A connection whose TLS handshake refuses the server's certificate."""

    async def connect(self) -> None:
        raise ssl.SSLCertVerificationError(1, "certificate verify failed: unable to get issuer")


class Rig:
    """An engine whose every connection is a memory pair the test plays the server on."""

    def __init__(self, *, first: Signaling | None = None, later: list[str] | None = None) -> None:
        self.servers: list[MemorySignaling] = []
        self.made = 0
        self.later = list(later or [])  # "untrusted" or "ok", per reconnect attempt
        self.events: list[CallEvent] = []
        client = first or self._pair()
        self.engine = CallEngine(
            "https://sessions.example",
            "token",
            camera=None,
            microphone=None,
            listener=self.events.append,
            signaling=client,
            signaling_factory=self._make,
        )

    def _pair(self) -> MemorySignaling:
        client, server = memory_pair()
        self.servers.append(server)
        return client

    def _make(self, url: str) -> Signaling:
        self.made += 1
        if self.later and self.later.pop(0) == "untrusted":
            return Untrusted()
        return self._pair()

    async def joined(self, index: int) -> Message:
        """The join the engine sent on connection `index`, answered with a welcome."""
        server = await self.connection(index)
        join = await asyncio.wait_for(server.receive(), HANG_GUARD_S)
        assert join is not None and join["type"] == "join"
        await server.send(WELCOME)
        return join

    async def connection(self, index: int) -> MemorySignaling:
        async def made() -> None:
            while len(self.servers) <= index:
                await asyncio.sleep(0)

        await asyncio.wait_for(made(), HANG_GUARD_S)
        return self.servers[index]

    def errors(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, CallError)]


async def until(condition: Any) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), HANG_GUARD_S)


async def test_every_join_of_a_call_names_the_same_device() -> None:
    rig = Rig()
    joining = asyncio.create_task(rig.engine.join())
    first = await rig.joined(0)
    await joining
    await rig.servers[0].close()  # the connection drops: the engine resumes on a new one
    second = await rig.joined(1)
    await until(lambda: any(isinstance(e, Reconnected) for e in rig.events))
    assert second["resume"] is True and "resume" not in first
    assert first["device"] == second["device"]
    other = Rig()
    joining = asyncio.create_task(other.engine.join())
    assert (await other.joined(0))["device"] != first["device"]  # another call, another id
    await joining
    for engine in (rig.engine, other.engine):
        await engine.leave()


async def test_replaced_ends_the_call_without_joining_again() -> None:
    rig = Rig()
    joining = asyncio.create_task(rig.engine.join())
    await rig.joined(0)
    await joining
    await rig.servers[0].send(
        {"type": "error", "code": "replaced", "message": "elsewhere", "fatal": True}
    )
    await rig.servers[0].close()
    await until(lambda: rig.engine.state is CallState.FAILED)
    assert rig.errors() == ["replaced"]
    assert rig.made == 0  # no reconnect: it would push the other device out, and it back
    await rig.engine.leave()
    assert rig.made == 0


@pytest.mark.allow_log_warnings("app.call.signaling_session")
async def test_an_untrusted_certificate_at_the_first_join_is_said_at_once() -> None:
    rig = Rig(first=Untrusted())
    with pytest.raises(JoinError) as refused:
        await rig.engine.join()
    assert refused.value.code == "server_untrusted"
    assert "certificate is not trusted" in str(refused.value)
    assert rig.errors() == ["server_untrusted"] and rig.made == 0


async def test_an_untrusted_certificate_while_reconnecting_is_retried() -> None:
    """A network that intercepts TLS for a moment (a hotel's sign-in page) does not end the
    call: the token never goes to it, and the next attempt reaches the real server."""
    rig = Rig(later=["untrusted", "ok"])
    joining = asyncio.create_task(rig.engine.join())
    await rig.joined(0)
    await joining
    await rig.servers[0].close()
    await rig.joined(1)  # the second attempt: the first one met the untrusted certificate
    await until(lambda: any(isinstance(e, Reconnected) for e in rig.events))
    assert rig.made == 2 and rig.errors() == []
    await rig.engine.leave()
