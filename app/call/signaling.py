"""The client side of docs/protocol.md behind four verbs: connect, send, receive, close.

The codec, limits and version are the server's own (app/net/signaling_protocol.py); `encode`
and `decode` here apply them to what this client sends and receives, for the WebSocket transport
and the in-memory pair used by tests. `parse_welcome` and friends turn server messages into
typed values and raise `ProtocolError` on anything malformed, so a bad server message becomes a
CallError, not a crash. Tokens and SDP are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from app.call.events import Peer
from app.net import server_messages
from app.net import signaling_protocol as protocol
from app.net.signaling_protocol import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

Message = dict[str, Any]
"""One decoded JSON object; always has a string `type`."""


class ProtocolError(Exception):
    """The other side sent something that does not follow docs/protocol.md."""


class Signaling(Protocol):
    async def connect(self) -> None: ...
    async def send(self, message: Message) -> None: ...

    async def receive(self) -> Message | None:
        """The next message, or None once the connection is closed. Raises ProtocolError."""
        ...

    async def close(self) -> None: ...


# --- codec -------------------------------------------------------------------------------------


def encode(message: Message) -> str:
    """A message to send; never one the server would refuse as too large."""
    try:
        text = protocol.encode(message)
    except protocol.MessageError as exc:
        raise ProtocolError(exc.message) from None
    if protocol.over_limit(text, MAX_MESSAGE_BYTES):
        raise ProtocolError("message too large")
    return text


def decode(text: str | bytes) -> Message:
    """A message received: any frame up to the protocol's frame limit (the server's messages
    may be larger than the client's, e.g. a relayed SDP with its JSON escapes), within the
    limits on what a server may say (a hostile one included: no more peers than a room holds,
    no string longer than the protocol allows)."""
    try:
        message = protocol.decode(text, MAX_FRAME_BYTES)
        server_messages.check_server_message(message)
    except protocol.MessageError as exc:
        raise ProtocolError(exc.message) from None
    return message


# --- typed server messages ----------------------------------------------------------------------


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Welcome:
    peer_id: str
    room: str
    role: str
    heartbeat_s: float
    ice_servers: tuple[IceServer, ...]
    peers: tuple[Peer, ...]
    # Protocol 2: our earlier place in the room, kept through a dropped connection.
    resumed: bool = False
    # The protocol each peer joined with, where the server says (protocol 2 servers do).
    peer_versions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ServerError:
    code: str
    message: str
    fatal: bool


def _str(message: Message, key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"'{message.get('type')}' needs a string '{key}'")
    return value


def _optional_str(message: Message, key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"'{key}' must be a string")
    return value


def parse_peer(value: object) -> Peer:
    if not isinstance(value, dict):
        raise ProtocolError("a peer must be an object")
    return Peer(peer_id=_str(value, "peer_id"), name=_str(value, "name"), role=_str(value, "role"))


def _parse_ice_server(value: object) -> IceServer:
    if not isinstance(value, dict):
        raise ProtocolError("an ICE server must be an object")
    urls = value.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ProtocolError("an ICE server needs 'urls'")
    return IceServer(
        urls=tuple(urls),
        username=_optional_str(value, "username"),
        credential=_optional_str(value, "credential"),
    )


def parse_peer_version(value: object) -> int:
    """The protocol version a peer object names (1 when it names none: a version 1 server)."""
    version = value.get("v") if isinstance(value, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else 1


def parse_peer_id(message: Message) -> str:
    return _str(message, "peer_id")


def parse_from(message: Message) -> str:
    return _str(message, "from")


def parse_chat_id(message: Message) -> str:
    return _str(message, "id")


def parse_chat(message: Message) -> tuple[str, str]:
    """(id, text) of a chat line."""
    return _str(message, "id"), _str(message, "text")


def parse_welcome(message: Message) -> Welcome:
    try:
        server_messages.check_server_message(message)  # decode() did; a welcome made in code too
    except protocol.MessageError as exc:
        raise ProtocolError(exc.message) from None
    heartbeat = message.get("heartbeat_s")
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float):
        raise ProtocolError("'welcome' needs a number 'heartbeat_s'")
    ice = message.get("ice_servers", [])
    peers = message.get("peers", [])
    if not isinstance(ice, list) or not isinstance(peers, list):
        raise ProtocolError("'ice_servers' and 'peers' must be lists")
    return Welcome(
        peer_id=_str(message, "peer_id"),
        room=_str(message, "room"),
        role=_str(message, "role"),
        heartbeat_s=float(heartbeat),
        ice_servers=tuple(_parse_ice_server(s) for s in ice),
        peers=tuple(parse_peer(p) for p in peers),
        resumed=message.get("resumed") is True,
        peer_versions=MappingProxyType(
            {
                p["peer_id"]: parse_peer_version(p)
                for p in peers
                if isinstance(p, dict) and isinstance(p.get("peer_id"), str) and "v" in p
            }
        ),
    )


def parse_error(message: Message) -> ServerError:
    fatal = message.get("fatal", True)
    return ServerError(
        code=_str(message, "code"),
        message=_optional_str(message, "message") or "",
        fatal=fatal if isinstance(fatal, bool) else True,
    )


def parse_sdp(message: Message) -> tuple[str, str]:
    """(from, sdp) of an offer or an answer."""
    return _str(message, "from"), _str(message, "sdp")


def parse_peer_left(message: Message) -> tuple[str, str]:
    """(peer_id, reason) of a peer_left."""
    return _str(message, "peer_id"), _optional_str(message, "reason") or "left"


def join_message(token: str, *, resume: bool = False, device: str | None = None) -> Message:
    """Our join: protocol 2 (we handle restart, peer_reconnecting and peer_resumed); `resume`
    asks for our earlier place after a dropped connection; `device` is this call's own id, the
    same on every reconnect (a join from another device is a takeover)."""
    return protocol.join_msg(token, v=2, resume=resume, device=device)


def websocket_url(server_url: str) -> str:
    """http[s]://host:port[/base] -> ws[s]://host:port[/base]/ws (ws[s]:// is taken as given)."""
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError("the server address must look like http://host:port or https://host:port")
    path = parts.path.rstrip("/")
    if parts.scheme in ("http", "https") or not path:
        path = f"{path}/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


# --- transports ---------------------------------------------------------------------------------


class WebSocketSignaling:
    """Signaling over one aiohttp WebSocket (`GET /ws` on the session server)."""

    def __init__(
        self, url: str, *, connect_timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> None:
        """`tls` decides which server certificates a wss:// connection trusts (default: the
        system's authorities; app.net.tls_trust adds a clinic's own CA)."""
        self._url = url
        self._timeout = connect_timeout
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self) -> None:
        # Straight to the session server, never through a proxy from the environment (one would
        # break practice mode on loopback, and media does not go through it anyway).
        self._session = aiohttp.ClientSession(trust_env=False)
        try:
            self._ws = await asyncio.wait_for(
                self._session.ws_connect(
                    self._url, max_msg_size=MAX_FRAME_BYTES, ssl=self._tls or True
                ),
                self._timeout,
            )
        except BaseException:
            session, self._session = self._session, None
            await session.close()
            raise

    async def send(self, message: Message) -> None:
        if self._ws is None or self._ws.closed:
            raise ConnectionError("signaling is not connected")
        await self._ws.send_str(encode(message))

    async def receive(self) -> Message | None:
        if self._ws is None:
            return None
        msg = await self._ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            return decode(msg.data)
        if msg.type == aiohttp.WSMsgType.BINARY:
            raise ProtocolError("binary frames are not part of the protocol")
        return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        self._ws = self._session = None


class MemorySignaling:
    """One end of an in-memory pair; messages go through the same codec as on the wire.

    `drop` decides, per outgoing message (counted from 0), whether to lose it: a loss pattern
    for testing what happens when signaling messages go missing.
    """

    def __init__(self, drop: Callable[[int, Message], bool] | None = None) -> None:
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._other: MemorySignaling | None = None
        self._drop = drop
        self._sent = 0
        self.connected = False
        self.closed = False

    async def connect(self) -> None:
        self.connected = True

    async def send(self, message: Message) -> None:
        if self.closed or self._other is None:
            raise ConnectionError("signaling is closed")
        text = encode(message)
        index, self._sent = self._sent, self._sent + 1
        if self._drop is not None and self._drop(index, message):
            return
        self._other._inbox.put_nowait(text)

    async def send_raw(self, text: str) -> None:
        """Deliver `text` as it is, bypassing the codec (to test malformed messages)."""
        assert self._other is not None
        self._other._inbox.put_nowait(text)

    async def receive(self) -> Message | None:
        if self.closed:
            return None
        text = await self._inbox.get()
        return None if text is None else decode(text)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._inbox.put_nowait(None)
            if self._other is not None and not self._other.closed:
                self._other._inbox.put_nowait(None)


def memory_pair(
    drop: Callable[[int, Message], bool] | None = None,
) -> tuple[MemorySignaling, MemorySignaling]:
    """Two connected ends; `drop` applies to messages sent by the first end."""
    a, b = MemorySignaling(drop), MemorySignaling()
    a._other, b._other = b, a
    return a, b
