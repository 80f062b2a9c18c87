"""The media links of a call (Qt-free): one RemotePeer per remote participant, made, answered,
dropped and watched against the negotiation deadline.

The engine hands over the signaling messages that concern links (offer, answer) and the roster
changes; this module never talks to the server itself except through `send`. Announcements a
person sees once per participant (connected, first frame) are kept per participant, not per
RTCPeerConnection, so a rebuilt connection does not announce the person again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import av

from app.call.events import (
    CallError,
    CallEvent,
    FirstFrame,
    Peer,
    PeerConnected,
    PeerLeft,
    RemoteFrame,
)
from app.call.local_media import LocalMedia
from app.call.negotiation import Deadlines
from app.call.peer import RemotePeer
from app.call.peer_channel import DataMessage
from app.call.signaling import IceServer, Message
from app.devices.base import Speaker

log = logging.getLogger(__name__)

Send = Callable[[Message], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None]], None]


class PeerLinks:
    """Every RemotePeer of one call, by peer_id."""

    def __init__(
        self,
        *,
        media: LocalMedia,
        speaker: Speaker | None,
        send: Send,
        emit: Callable[[CallEvent], None],
        spawn: Spawn,
        now: Callable[[], float],
        negotiation_deadline: float,
        remote_frames: bool,
        on_connected_changed: Callable[[], None],
        on_link_failed: Callable[[RemotePeer], None] | None = None,
    ) -> None:
        """`on_link_failed` hears about a link to someone who was connected before and whose
        connection failed or could not be rebuilt (continuity rebuilds it); without it, or for
        someone never connected, the link is closed and the person counted gone (PeerLeft)."""
        self._media = media
        self._speaker = speaker
        self._send = send
        self._emit = emit
        self._spawn = spawn
        self._now = now
        self._remote_frames = remote_frames
        self._on_connected_changed = on_connected_changed
        self._on_link_failed = on_link_failed
        self._deadlines: Deadlines[RemotePeer] = Deadlines(
            negotiation_deadline, self._negotiation_overdue
        )
        self._links: dict[str, RemotePeer] = {}
        self._closing_links: set[RemotePeer] = set()
        self._offering: set[str] = set()  # peer_ids whose offer is being made (see offer_to)
        self._announced: set[str] = set()  # PeerConnected emitted
        self._first_frame: set[str] = set()  # FirstFrame emitted
        self.gone: set[str] = set()  # PeerLeft already emitted (media failed before the server)
        self.ice_servers: Sequence[IceServer] = ()
        # Asked before a rebuild: the network may have changed (UDP blocked since, say).
        self.refresh_ice: Callable[[], Awaitable[None]] | None = None
        # Told of each new connection once its tracks are set (audio only may apply to it).
        self.on_new_link: Callable[[str], None] | None = None
        # Told of chat and chat_ack messages from a current link's data channel: (peer_id, message).
        self.on_data: Callable[[str, DataMessage], None] | None = None
        self.join_started = 0.0
        self.closing = False

    # --- queries --------------------------------------------------------------------------

    def get(self, peer_id: str) -> RemotePeer | None:
        return self._links.get(peer_id)

    def links(self) -> list[RemotePeer]:
        return list(self._links.values())

    @property
    def any_connected(self) -> bool:
        return any(link.connected for link in self._links.values())

    def current(self, link: RemotePeer) -> bool:
        return self._links.get(link.peer_id) is link

    # --- making and dropping --------------------------------------------------------------

    def _new_link(self, info: Peer) -> RemotePeer:
        # A link made meanwhile (an offer and an answer that crossed) is retired, never
        # orphaned: an orphan keeps its connection and TURN allocations open.
        self.retire(info.peer_id)
        link = RemotePeer(
            info,
            ice_servers=self.ice_servers,
            media=self._media,
            speaker=self._speaker,
            now=self._now,
            on_state=self._link_state,
            on_frame=self._link_frame,
            bitrate_cap=self._media.bitrate_cap,
            on_data=self._link_data,
        )
        self._links[info.peer_id] = link
        self.gone.discard(info.peer_id)
        if not self.announced(info.peer_id):  # a rebuild's timing is continuity's business
            self._deadlines.start(link)
        return link

    def announced(self, peer_id: str) -> bool:
        """Whether a link to `peer_id` has ever connected in this call."""
        return peer_id in self._announced

    async def drop(self, peer_id: str) -> bool:
        """Close the link to `peer_id` (if any); True when there was one."""
        link = self._links.pop(peer_id, None)
        if link is None:
            return False
        self._deadlines.settle(link)
        self._closing_links.add(link)
        try:
            await link.close()
        finally:
            self._closing_links.discard(link)
        self._on_connected_changed()
        return True

    def retire(self, peer_id: str) -> None:
        """Take the link to `peer_id` out of use now and close it in the background: a new one
        is on its way, and closing a connection whose path is dead can take seconds (aiortc
        waits for its TURN deallocation to time out: measured 5.5 s with UDP blocked)."""
        link = self._links.pop(peer_id, None)
        if link is None:
            return
        self._deadlines.settle(link)
        self._closing_links.add(link)

        async def close() -> None:
            try:
                await link.close()
            finally:
                self._closing_links.discard(link)

        self._spawn(close())
        self._on_connected_changed()

    async def close_all(self) -> None:
        """Close every link, including those a cancelled task was closing (close is shielded)."""
        self._deadlines.cancel_all()
        links = [*self._links.values(), *self._closing_links]
        self._links = {}
        for link in links:
            with contextlib.suppress(Exception):
                await link.close()

    def forget(self, peer_id: str) -> None:
        """`peer_id` left the room: a later participant with that id is announced anew."""
        self._announced.discard(peer_id)
        self._first_frame.discard(peer_id)

    # --- negotiation ----------------------------------------------------------------------

    def offering(self, peer_id: str) -> bool:
        """Whether an offer to `peer_id` is being made (its ICE servers chosen, gathered)."""
        return peer_id in self._offering

    async def offer_to(self, peer: Peer) -> None:
        """A new link to `peer` and our offer (an existing link is retired: a rebuild).

        One offer to a peer at a time: a second asked for while the first is being made (a
        peer's `restart` and our own rebuild cross, both waiting on the same TURN probe) is
        that same offer. Two offers in flight would get two answers, and the answer to the
        first would be taken by the second's connection (an answer does not say which offer it
        answers): a link that never connects (seen with UDP blocked: media back only at the
        rebuild after)."""
        if peer.peer_id in self._offering:
            log.debug("offer to peer %s already under way", peer.peer_id)
            return
        self._offering.add(peer.peer_id)
        try:
            await self._offer(peer)
        finally:
            self._offering.discard(peer.peer_id)

    async def _offer(self, peer: Peer) -> None:
        self.retire(peer.peer_id)
        await self._rebuilding(peer.peer_id)
        link = self._new_link(peer)
        try:
            sdp = await link.create_offer()
            if not self.current(link):  # an offer from the peer was answered meanwhile
                return
            self._link_ready(link)
            await self._send({"type": "offer", "to": peer.peer_id, "sdp": sdp})
        except Exception as exc:
            log.warning("offer to peer %s failed: %s", peer.peer_id, type(exc).__name__)
            await self._failed(link)

    async def answer(self, info: Peer, sdp: str) -> None:
        self.retire(info.peer_id)
        await self._rebuilding(info.peer_id)
        link = self._new_link(info)
        try:
            answer = await link.accept_offer(sdp)
            self._link_ready(link)
            await self._send({"type": "answer", "to": info.peer_id, "sdp": answer})
        except Exception as exc:
            log.warning("offer from peer %s rejected: %s", info.peer_id, type(exc).__name__)
            await self._failed(link)

    def _link_ready(self, link: RemotePeer) -> None:
        if self.on_new_link is not None and self.current(link):
            self.on_new_link(link.peer_id)

    async def _rebuilding(self, peer_id: str) -> None:
        if self.announced(peer_id) and self.refresh_ice is not None:
            try:
                await self.refresh_ice()
            except Exception as exc:  # the last choice stands
                log.info("ICE servers not refreshed: %s", type(exc).__name__)

    async def accept_answer(self, peer_id: str, sdp: str) -> None:
        link = self._links.get(peer_id)
        if link is None:
            log.debug("answer from unknown peer %s ignored", peer_id)
            return
        if link.pc.signalingState != "have-local-offer":
            # An answer to an offer this link never made: a late one, to an earlier link of a
            # rebuild. The offer this link made gets its own answer.
            log.info("late answer from peer %s ignored", peer_id)
            return
        try:
            await link.accept_answer(sdp)
        except Exception as exc:
            log.warning("answer from peer %s rejected: %s", peer_id, type(exc).__name__)
            await self._failed(link)

    # --- what the links say ---------------------------------------------------------------

    async def _failed(self, link: RemotePeer) -> None:
        """A link that cannot carry media: continuity rebuilds it for someone connected
        before; anyone else is gone."""
        if not self.current(link):
            return
        if self._on_link_failed is not None and self.announced(link.peer_id):
            await self.drop(link.peer_id)
            self._on_link_failed(link)
        else:
            await self._media_failed(link)

    async def _media_failed(self, link: RemotePeer) -> None:
        if not self.current(link):
            return
        await self.drop(link.peer_id)
        self.gone.add(link.peer_id)
        self.forget(link.peer_id)
        self._emit(PeerLeft(self._now(), link.peer_id, "failed"))

    def _link_state(self, link: RemotePeer, state: str) -> None:
        if not self.current(link):
            return
        if state == "connected":
            self._deadlines.settle(link)
            if link.peer_id not in self._announced:
                self._announced.add(link.peer_id)
                self._emit(PeerConnected(self._now(), link.peer_id))
        if state == "failed":
            # Failing before it ever connected is the same news as the deadline's, only later.
            announced = link.peer_id in self._announced
            self._spawn(self._failed(link) if announced else self._unreachable(link))
        self._on_connected_changed()

    def _negotiation_overdue(self, link: RemotePeer) -> None:
        if not self.closing and self.current(link):
            log.info("peer %s not connected after %.0f s", link.peer_id, self._deadlines.seconds)
            self._spawn(self._unreachable(link))

    async def _unreachable(self, link: RemotePeer) -> None:
        """Tell the listener first (fallback acts on the code), then close only this link."""
        if not self.current(link):
            return
        self._emit(
            CallError(
                self._now(),
                "peer_unreachable",
                "The connection to this participant could not be set up; the call goes on.",
                peer_id=link.peer_id,
            )
        )
        await self._media_failed(link)

    def _link_data(self, link: RemotePeer, message: DataMessage) -> None:
        if self.on_data is not None and self.current(link):
            self.on_data(link.peer_id, message)

    def _link_frame(self, link: RemotePeer, frame: av.VideoFrame) -> None:
        now = self._now()
        if link.peer_id not in self._first_frame:
            self._first_frame.add(link.peer_id)
            self._emit(FirstFrame(now, link.peer_id, (now - self.join_started) * 1000.0))
        if self._remote_frames:
            self._emit(RemoteFrame(now, link.peer_id, frame))  # converted once, by who shows it
