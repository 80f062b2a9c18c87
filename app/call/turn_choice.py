"""Which of the server's TURN addresses a peer connection uses (Qt-free).

aiortc takes one TURN server per RTCPeerConnection: the first one listed. The session server
lists the clinic's relay over UDP, TCP and TLS (`turns:` on 443) so that a couple behind a
network that blocks UDP still gets through; with aiortc that only works if the client picks
the one that answers. Like "happy eyeballs": every TURN address is probed at once (a STUN
binding request over UDP; a TCP connect, and a TLS handshake for `turns:`), and the first in
the server's order that answered within PROBE_S wins. Nothing answered: the list stays as it
is (host candidates may still work on a LAN).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import struct
from collections.abc import Sequence

from aiortc.rtcicetransport import parse_stun_turn_uri

from app.call.signaling import IceServer

log = logging.getLogger(__name__)

PROBE_S = 1.5
_MAGIC_COOKIE = 0x2112A442


def _binding_request() -> tuple[bytes, bytes]:
    transaction = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, _MAGIC_COOKIE) + transaction, transaction


class _StunAnswer(asyncio.DatagramProtocol):
    def __init__(self, transaction: bytes) -> None:
        self.transaction = transaction
        self.answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        # Any STUN answer to our transaction (success or an error such as 401) shows the relay
        # is there and UDP reaches it.
        if len(data) >= 20 and data[8:20] == self.transaction and not self.answered.done():
            self.answered.set_result(True)


async def _udp_answers(host: str, port: int) -> bool:
    request, transaction = _binding_request()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _StunAnswer(transaction), remote_addr=(host, port)
    )
    try:
        for _ in range(3):  # a lost datagram is not a blocked network
            transport.sendto(request)
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(protocol.answered), PROBE_S / 3)
        return False
    finally:
        transport.close()


async def _tcp_answers(host: str, port: int, tls: bool) -> bool:
    context = ssl.create_default_context() if tls else None
    name = host if tls else None
    _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=name)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


async def _answers(url: str) -> bool:
    try:
        parsed = parse_stun_turn_uri(url)
        host, port = parsed["host"], parsed["port"]
        if parsed["scheme"] == "turn" and parsed["transport"] == "udp":
            return await asyncio.wait_for(_udp_answers(host, port), PROBE_S)
        tls = parsed["scheme"] == "turns"
        return await asyncio.wait_for(_tcp_answers(host, port, tls), PROBE_S)
    except (TimeoutError, OSError, ValueError, ssl.SSLError) as exc:
        log.debug("TURN address not answering: %s", type(exc).__name__)
        return False


async def choose_turn(servers: Sequence[IceServer]) -> tuple[IceServer, ...]:
    """The servers with each TURN entry narrowed to its first address that answers."""
    chosen: list[IceServer] = []
    for server in servers:
        turn = [url for url in server.urls if url.startswith("turn")]
        if len(turn) < 2:
            chosen.append(server)
            continue
        answers = await asyncio.gather(*(_answers(url) for url in turn))
        working = [url for url, ok in zip(turn, answers, strict=True) if ok]
        if not working:
            log.info("no TURN address answered; keeping the server's order")
            chosen.append(server)
            continue
        parsed = parse_stun_turn_uri(working[0])
        transport = "tls" if parsed["scheme"] == "turns" else parsed["transport"]
        log.info("TURN relay over %s", transport)
        others = tuple(url for url in server.urls if not url.startswith("turn"))
        chosen.append(IceServer((*others, working[0]), server.username, server.credential))
    return tuple(chosen)
