"""Who is in the call with us (Qt-free): the room's other participants as the server tells of
them, kept through reconnects, and what joining, leaving and coming back mean for their links.

Identities come from the tokens (stable across reconnects and servers), so a participant the
server announces again (after its restart, a move to the backup, or its grace running out) is
the same person on the same tile, and a link that works is kept. Only a goodbye (`left`), or
retries that ran out, make someone gone; a server timeout leaves them "away" on their tile.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from app.call.events import CallEvent, Peer, PeerJoined, PeerLeft
from app.call.signaling import Welcome, parse_peer_version

log = logging.getLogger(__name__)

# A peer the server timed out, whose media is gone too, stays "reconnecting" this long (the
# retry schedule's span) before it counts as gone; one whose media still flows stays.
AWAY_GIVE_UP_S = 600.0


class Roster:
    def __init__(
        self,
        *,
        emit: Callable[[CallEvent], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        now: Callable[[], float],
        has_link: Callable[[str], bool],
        offer_to: Callable[[Peer], Coroutine[Any, Any, None]],
        let_go: Callable[[str], Awaitable[bool]],
        interrupted: Callable[[str], bool],
    ) -> None:
        """`let_go(peer_id)` closes everything about a peer and says whether a PeerLeft is
        still to be told (False: the links already told it, media failed first)."""
        self._emit = emit
        self._spawn = spawn
        self._now = now
        self._has_link = has_link
        self._offer_to = offer_to
        self._let_go = let_go
        self._interrupted = interrupted
        self.peers: dict[str, Peer] = {}
        self.versions: dict[str, int] = {}  # the protocol each peer joined with, if known
        self._away: dict[str, float] = {}  # timed out by the server, since when

    @property
    def present(self) -> int:
        """How many others are here and not away."""
        return len(self.peers) - len(self._away)

    def get(self, peer_id: str) -> Peer | None:
        return self.peers.get(peer_id)

    def info(self, peer_id: str) -> Peer:
        """Who `peer_id` is, as far as we know (an offer may come before its peer_joined)."""
        return self.peers.get(peer_id) or Peer(peer_id, "", "")

    def welcomed(self, welcome: Welcome) -> None:
        """The first welcome: the newcomer offers to everyone here."""
        self.versions.update(welcome.peer_versions)
        self.peers.update({p.peer_id: p for p in welcome.peers})
        for peer in welcome.peers:
            self._spawn(self._offer_to(peer))

    def rewelcomed(self, welcome: Welcome) -> None:
        """In the room again after a reconnect. Links that work are kept; someone we have no
        link with gets our offer, as a newcomer's. On a resume the server's roster is the
        truth about who is here: who is missing was timed out while we were away (away, not
        gone). After a server restart or a move, the others are still coming back."""
        self.versions.update(welcome.peer_versions)
        here = {p.peer_id: p for p in welcome.peers}
        if welcome.resumed:
            for peer_id in [p for p in self.peers if p not in here]:
                self._away.setdefault(peer_id, self._now())
        for peer_id, peer in here.items():
            self._away.pop(peer_id, None)
            known = peer_id in self.peers
            self.peers[peer_id] = peer
            if not known:
                self._emit(PeerJoined(self._now(), peer))
            if not self._has_link(peer_id):
                self._spawn(self._offer_to(peer))

    async def joined(self, peer: Peer, raw: Mapping[str, Any]) -> bool:
        """`peer_joined`; True when this is someone new (the caller tells the server chooser).
        Someone known is back with the same identity: a link that works is kept; without one,
        they offer as newcomers do."""
        if "v" in raw:  # a version 1 server does not say
            self.versions[peer.peer_id] = parse_peer_version(raw)
        self._away.pop(peer.peer_id, None)
        if peer.peer_id in self.peers:
            self.peers[peer.peer_id] = peer
            return False
        await self._let_go(peer.peer_id)  # an old link to someone of that id is not theirs
        self.peers[peer.peer_id] = peer
        self._emit(PeerJoined(self._now(), peer))
        return True

    async def left(self, peer_id: str, reason: str) -> None:
        """`peer_left`. A timeout is not a goodbye: their signaling stayed silent past the
        server's grace. They stay on their tile (interrupted, if their media stopped too) until
        they are back or AWAY_GIVE_UP_S pass."""
        if reason == "timeout" and peer_id in self.peers:
            self._away.setdefault(peer_id, self._now())
        else:
            await self.gone(peer_id, reason)

    async def gone(self, peer_id: str, reason: str) -> None:
        """`peer_id` is no longer in the call (a goodbye, or the retries ran out)."""
        self._away.pop(peer_id, None)
        self.versions.pop(peer_id, None)
        known = self.peers.pop(peer_id, None) is not None
        if await self._let_go(peer_id) and known:
            self._emit(PeerLeft(self._now(), peer_id, reason))

    async def tick(self, now: float) -> None:
        for peer_id, since in list(self._away.items()):
            if now - since >= AWAY_GIVE_UP_S and self._interrupted(peer_id):
                log.info("peer %s away too long: gone", peer_id)
                await self.gone(peer_id, "timeout")
