"""The data channel of each peer connection: two real engines on loopback.

Each link carries a 0.5 s heartbeat both ways (`last_beat_at`, fed to the media watchdog), and
chat goes over it peer to peer: with the session server stopped, a line still arrives and is
acknowledged.
"""

from __future__ import annotations

import pytest

from app.call.audio_tracks import ToneAudioTrack
from app.call.engine import CallEngine
from app.call.events import ChatReceived, ChatStatus, PeerInterrupted
from app.call.peer import RemotePeer
from app.call.video_tracks import PatternVideoTrack
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from tests.integration.test_call_continuity import (
    Inbox,
    nobody_left_and_no_errors,
    start_server,
    two_in_a_call,
)

pytestmark = pytest.mark.slow


def link_of(engine: CallEngine, other: CallEngine) -> RemotePeer:
    link = engine._links.get(other.peer_id or "")
    assert link is not None
    return link


def said(inbox: Inbox, line: str) -> list[str]:
    return [e.state for e in inbox.events if isinstance(e, ChatStatus) and e.message_id == line]


def lines(inbox: Inbox) -> list[tuple[str, str]]:
    return [(e.from_peer, e.text) for e in inbox.events if isinstance(e, ChatReceived)]


async def beats_advance(link: RemotePeer, inbox: Inbox) -> None:
    await inbox.wait(lambda: link.last_beat_at is not None)
    first = link.last_beat_at or 0.0
    await inbox.wait(lambda: (link.last_beat_at or 0.0) > first)


async def test_each_link_carries_a_heartbeat_both_ways(server: EmbeddedServer) -> None:
    async with two_in_a_call(server.url, server.config.secret) as (engines, inboxes):
        links = [link_of(engines[0], engines[1]), link_of(engines[1], engines[0])]
        for link, inbox in zip(links, inboxes, strict=True):
            await beats_advance(link, inbox)
            assert link.datachannel_open
            assert link.quiet_beat_at is None  # both send media: no beat stands in for it
        nobody_left_and_no_errors(inboxes)


async def test_chat_goes_over_the_data_channel_while_the_server_is_away() -> None:
    secret = "datachannel-" + "c" * 24
    server = start_server(secret)
    try:
        async with two_in_a_call(server.url, secret) as (engines, inboxes):
            sender, reader = engines
            to_reader, to_sender = link_of(sender, reader), link_of(reader, sender)
            await inboxes[0].wait(lambda: to_reader.datachannel_open)
            await inboxes[1].wait(lambda: to_sender.datachannel_open)
            server.stop()  # from now on nothing can go through the server
            line = await sender.send_chat("only between us")
            await inboxes[1].wait(lambda: bool(lines(inboxes[1])))
            assert lines(inboxes[1]) == [(sender.peer_id, "only between us")]
            await inboxes[0].wait(lambda: "delivered" in said(inboxes[0], line))
            assert said(inboxes[0], line) == ["sending", "delivered"]  # no retry, no detour
    finally:
        server.stop()


async def test_a_peer_that_sends_no_media_is_kept_by_its_heartbeat(
    server: EmbeddedServer,
) -> None:
    """No microphone, and video paused on the link (as audio only does): nothing but the
    heartbeat comes from this peer, which says so, and is not taken for an interrupted one."""
    inboxes = [Inbox(), Inbox()]
    engines = [
        CallEngine(
            server.url,
            mint_token(server.config.secret, "room", role, name, 600),
            camera=None,
            microphone=None,
            listener=inbox,
            allow_loopback=True,
            video_track=PatternVideoTrack((160, 90), 10),
            audio_track=audio,
        )
        for inbox, (role, name, audio) in zip(
            inboxes,
            [("partner", "Sam", None), ("therapist", "Dr Lee", ToneAudioTrack())],
            strict=True,
        )
    ]
    try:
        for engine in engines:
            await engine.join()
        silent, watcher = engines
        await inboxes[1].more_frames()  # the watchdog is armed by this peer's video
        link = link_of(watcher, silent)
        link_of(silent, watcher).set_video_sending(False)  # with no microphone: nothing is sent
        await inboxes[1].wait(lambda: link.quiet_beat_at is not None)
        quiet_from = link.quiet_beat_at or 0.0
        # Three times the watchdog's limit of quiet beats, and still not interrupted.
        await inboxes[1].wait(lambda: (link.quiet_beat_at or 0.0) > quiet_from + 3.0)
        assert inboxes[1].of(PeerInterrupted) == []
        assert link_of(watcher, silent) is link  # not rebuilt either
    finally:
        for engine in engines:
            await engine.leave()
