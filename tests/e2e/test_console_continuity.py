"""The clinicians' console takes part in call continuity (docs/continuity.md), in a real
Chromium with the desktop client's engine (`tandem join --headless`) on the other side:
chat both ways with acknowledgements, a session server restart ridden out with the video
playing on, and a participant whose process is frozen shown as reconnecting, then back.
Every wait is on page state or an event, with a deadline.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from tests.e2e.conftest import Event, HeadlessParticipant, kind, mint_token
from tests.lab.requirements import need_program, need_root

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CALL_TIMEOUT_MS = 25_000

# [connections made, frames decoded on the current one] for the console's (only) peer, as its
# watchdog last saw them. Synchronous on purpose: wait_for_function takes a promise as truthy.
FRAMES = """
() => {
  const peers = window.tandemConsole.media();
  return peers.length === 1 ? [peers[0].connections, peers[0].framesDecoded] : [0, 0];
}
"""
TILE = "#tiles .tile"


def _is(name: str, **fields: str) -> Callable[[Event], bool]:
    return lambda e: kind(e) == name and all(e.get(k) == v for k, v in fields.items())


def _frames_beyond(seen: list[int], more: int = 10, also: str = "true") -> str:
    """A page predicate: `more` frames decoded since `seen` (a FRAMES reading), counting from
    zero on a newer connection (a rebuild starts its counters again)."""
    connections, frames = seen
    return (
        f"() => {{ const [c, f] = ({FRAMES})(); return ({also}) && "
        f"(c > {connections} ? f > {more} : c === {connections} && f > {frames + more}); }}"
    )


def _join_console(page: Any, server_url: str, token: str) -> str:
    page.goto(f"{server_url}/console#token={token}")
    page.click("#join-button")
    page.wait_for_function("() => window.tandemConsole.selfId() !== null", timeout=10_000)
    peer_id: str = page.evaluate("() => window.tandemConsole.selfId()")
    return peer_id


def _wait_call_up(page: Any, partner: HeadlessParticipant, browser_id: str) -> None:
    """Both directions decode video and the tile says Connected."""
    partner.wait_for(_is("first_frame", peer_id=browser_id), 25, "first_frame from browser")
    page.wait_for_function(_frames_beyond([0, 0], 0), timeout=CALL_TIMEOUT_MS, polling=200)
    page.wait_for_function(
        f"() => document.querySelector('{TILE}').dataset.status === 'ok'",
        timeout=CALL_TIMEOUT_MS,
    )


def test_chat_both_ways_with_the_desktop_client(
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
    artifacts_dir: Path,
) -> None:
    page = chromium_page
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    room = "room-e2e-chat"
    theirs = "hello <b>there</b>"  # shown as text, never as markup
    mine = "Hi Sam, I can see and hear you both"
    partner = headless_participants(
        session_server.url,
        mint_token(session_server, "partner", "Sam", room),
        *("--chat", theirs, "--chat-echo"),
    )
    partner.wait_for(_is("joined"), 20, "joined event")
    browser_id = _join_console(
        page, session_server.url, mint_token(session_server, "therapist", "Dr Rivera", room)
    )

    # The participant's line arrives while the chat is closed: the button says so.
    page.wait_for_function(
        "() => document.querySelector('#chat-button').textContent === 'Chat (1 new)'",
        timeout=CALL_TIMEOUT_MS,
    )
    partner.wait_for(_is("chat_status", state="delivered"), 15, "its line acknowledged")
    page.click("#chat-button")
    assert page.get_attribute("#chat-button", "aria-expanded") == "true"
    assert page.evaluate("() => document.activeElement.id") == "chat-input"
    assert page.get_by_label("Message to everyone").get_attribute("maxlength") == "2000"
    line = page.locator("#chat-log li.theirs")
    assert line.count() == 1
    assert line.locator(".who").inner_text() == "Sam"
    assert line.locator(".text").inner_text() == theirs
    assert page.locator("#chat-log b").count() == 0

    page.keyboard.type(mine)
    page.keyboard.press("Enter")
    assert page.input_value("#chat-input") == ""
    page.wait_for_selector("#chat-log li.mine .state[data-state='delivered']", timeout=15_000)
    assert page.inner_text("#chat-log li.mine .state") == "delivered"
    assert page.inner_text("#chat-log li.mine .text") == mine
    got = partner.wait_for(_is("chat", **{"from": browser_id}), 15, "chat from the console")
    assert got["text"] == mine
    page.screenshot(path=str(artifacts_dir / "console-chat.png"))
    assert not any(mine in text or "hello" in text for text in logged)  # chat is never logged


def test_console_rides_out_a_session_server_restart(
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
    artifacts_dir: Path,
) -> None:
    page = chromium_page
    config = ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
    first = EmbeddedServer(config)
    first.start(timeout=15)
    port = int(first.url.rsplit(":", 1)[1])
    second: EmbeddedServer | None = None
    room = "room-e2e-restart"
    try:
        partner = headless_participants(
            first.url, mint_token(first, "partner", "Sam", room), "--chat-echo"
        )
        partner.wait_for(_is("joined"), 20, "joined event")
        browser_id = _join_console(
            page, first.url, mint_token(first, "therapist", "Dr Rivera", room)
        )
        _wait_call_up(page, partner, browser_id)
        page.wait_for_function("() => window.tandemConsole.signaling() === 'up'")

        first.stop()
        page.wait_for_function(
            "() => window.tandemConsole.signaling() === 'reconnecting'", timeout=15_000
        )
        assert "Reconnecting to the session server" in page.inner_text("#server-status")
        # Media is peer to peer: the video plays on while the server is away.
        before = page.evaluate(FRAMES)
        page.wait_for_function(
            _frames_beyond(before, also="window.tandemConsole.signaling() === 'reconnecting'"),
            timeout=10_000,
            polling=200,
        )
        # A chat line written now waits, visibly, and goes out when the server is back.
        page.click("#chat-button")
        page.fill("#chat-input", "written while the server was away")
        page.press("#chat-input", "Enter")
        page.wait_for_selector("#chat-log li.mine .state[data-state='retrying']", timeout=5_000)
        assert page.inner_text("#chat-log li.mine .state") == "not delivered — retrying"
        page.screenshot(path=str(artifacts_dir / "console-server-reconnecting.png"))

        second = EmbeddedServer(ServerConfig(host="127.0.0.1", port=port, secret=config.secret))
        second.start(timeout=15)
        page.wait_for_function("() => window.tandemConsole.signaling() === 'up'", timeout=30_000)
        assert page.inner_text("#server-status") == "Connected to the session server"
        partner.wait_for(_is("reconnected", what="signaling"), 30, "signaling back")
        after = page.evaluate(FRAMES)
        page.wait_for_function(_frames_beyond(after), timeout=10_000, polling=200)
        assert after[0] == before[0] == 1  # the same RTCPeerConnection all along
        assert page.locator(TILE).count() == 1
        assert page.is_hidden("#alert")
        # Both are in the rebuilt room again: the waiting line is delivered, once.
        page.wait_for_selector("#chat-log li.mine .state[data-state='delivered']", timeout=15_000)
        got = partner.wait_for(_is("chat", **{"from": browser_id}), 15, "the waiting line")
        assert got["text"] == "written while the server was away"
        events = partner.drain()
        assert not [e for e in events if kind(e) == "peer_left"], [kind(e) for e in events]
        assert len([e for e in events if kind(e) == "chat"]) == 1  # shown once
        assert partner.proc.poll() is None
        partner.stop()  # while the server is up, so its goodbye is heard
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_frozen_participant_is_shown_reconnecting_then_back(
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
    artifacts_dir: Path,
) -> None:
    page = chromium_page
    room = "room-e2e-frozen"
    partner = headless_participants(
        session_server.url, mint_token(session_server, "partner", "Sam", room)
    )
    partner.wait_for(_is("joined"), 20, "joined event")
    browser_id = _join_console(
        page, session_server.url, mint_token(session_server, "therapist", "Dr Rivera", room)
    )
    _wait_call_up(page, partner, browser_id)

    partner.proc.send_signal(signal.SIGSTOP)  # no media, no signaling: the server notices
    try:
        page.wait_for_function(
            f"() => document.querySelector('{TILE}').dataset.presence === 'reconnecting'",
            timeout=20_000,
        )
        tile = page.locator(TILE)
        assert "Reconnecting" in tile.locator(".status").inner_text()
        assert "dimmed" in (tile.get_attribute("class") or "")
        assert tile.get_attribute("data-media") == "interrupted"
        # Media away 10 s: the clinician is told what to do (the console has no dial-in list).
        page.wait_for_function(
            f"() => document.querySelector('{TILE} .status').textContent"
            ".includes('If this goes on, call the couple.')",
            timeout=20_000,
        )
        assert tile.get_attribute("data-presence") == "reconnecting"  # grace (30 s) not over
        page.screenshot(path=str(artifacts_dir / "console-peer-reconnecting.png"))
    finally:
        partner.proc.send_signal(signal.SIGCONT)

    # Cleared: here again, media arriving, the tile no longer dimmed. Not video frames: after
    # a freeze this long the desktop client goes audio only for a while (see the next test).
    page.wait_for_function(
        f"""() => {{
          const t = document.querySelector('{TILE}');
          return t.dataset.presence === 'here' && t.dataset.media === 'flowing'
            && !t.classList.contains('dimmed')
            && !t.querySelector('.status').textContent.startsWith('Reconnecting');
        }}""",
        timeout=40_000,
    )
    assert page.locator(TILE).count() == 1


def test_participant_timed_out_by_the_server_stays_on_the_tile_until_back(
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
) -> None:
    """`peer_left` with reason timeout is not a goodbye: the tile stays, reconnecting, and the
    same person (same peer_id) joining again is back on it."""
    page = chromium_page
    server = EmbeddedServer(
        ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32), grace_s=2.0)
    )
    server.start(timeout=15)
    room = "room-e2e-timeout"
    try:
        partner = headless_participants(server.url, mint_token(server, "partner", "Sam", room))
        joined = partner.wait_for(_is("joined"), 20, "joined event")
        browser_id = _join_console(
            page, server.url, mint_token(server, "therapist", "Dr Rivera", room)
        )
        _wait_call_up(page, partner, browser_id)
        partner_id = joined["peer_id"]
        assert page.get_attribute(TILE, "data-peer-id") == partner_id

        partner.proc.send_signal(signal.SIGSTOP)
        try:
            page.wait_for_function(
                f"() => document.querySelector('{TILE}').dataset.presence === 'away'",
                timeout=20_000,
            )
            assert page.locator(TILE).count() == 1
            assert page.locator("#roster li").count() == 1
            assert "Reconnecting" in page.inner_text(f"{TILE} .status")
        finally:
            partner.proc.send_signal(signal.SIGCONT)

        # Back on the same tile with media arriving. Not video frames: after a freeze this
        # long the desktop client may go audio only for a while (its fallback judges the
        # frozen seconds' loss and delay), which is its policy, not the console's.
        page.wait_for_function(
            f"""() => {{
              const t = document.querySelector('{TILE}');
              return t.dataset.presence === 'here' && t.dataset.media === 'flowing'
                && !t.classList.contains('dimmed');
            }}""",
            timeout=40_000,
        )
        assert page.locator(TILE).count() == 1
        assert page.get_attribute(TILE, "data-peer-id") == partner_id
    finally:
        server.stop()


def _udp_ports(pid: int) -> set[int]:
    """The local UDP ports process `pid` has open (its ICE sockets)."""
    listing = subprocess.run(
        ["ss", "-uanpH"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    ports = set()
    for line in listing.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            ports.add(int(local.rsplit(":", 1)[1]))
    return ports


@pytest.mark.lab
def test_media_that_stays_away_gets_a_new_connection(
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
) -> None:
    """Media stops while signaling stays up (the participant's current UDP ports are dropped on
    loopback, nothing else): after 3 s the link is rebuilt on a new RTCPeerConnection. The
    smaller peer_id offers; the other side asks with `restart`."""
    need_root()
    need_program("nft")
    need_program("ss")
    page = chromium_page
    room = "room-e2e-rebuild"
    partner = headless_participants(
        session_server.url, mint_token(session_server, "partner", "Sam", room)
    )
    partner_id = partner.wait_for(_is("joined"), 20, "joined event")["peer_id"]
    browser_id = _join_console(
        page, session_server.url, mint_token(session_server, "therapist", "Dr Rivera", room)
    )
    _wait_call_up(page, partner, browser_id)
    ports = _udp_ports(partner.proc.pid)
    assert ports, "the participant has no UDP sockets to block"
    table = f"tandem_e2e_{partner.proc.pid}"
    port_set = ", ".join(str(p) for p in sorted(ports))
    rules = (
        f"table inet {table} {{\n  chain input {{\n    type filter hook input priority -10;\n"
        f"    udp sport {{ {port_set} }} drop\n    udp dport {{ {port_set} }} drop\n  }}\n}}\n"
    )
    sent = "() => window.tandemConsole.sentCounts()"
    before = page.evaluate(sent)
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True, timeout=10)
    try:
        page.wait_for_function(
            f"() => document.querySelector('{TILE}').dataset.media === 'interrupted'",
            timeout=10_000,
        )
        assert page.inner_text(f"{TILE} .status").startswith("Reconnecting to Sam…")
        assert page.get_attribute(TILE, "data-presence") == "here"  # signaling is fine
        # Rebuilt: media flows again on a second connection, while the old ports stay blocked.
        page.wait_for_function(
            f"""() => {{
              const peers = window.tandemConsole.media();
              const t = document.querySelector('{TILE}');
              return peers.length === 1 && peers[0].connections >= 2
                && peers[0].framesDecoded > 10 && t.dataset.media === 'flowing'
                && t.dataset.status === 'ok';
            }}""",
            timeout=30_000,
            polling=250,
        )
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], check=False, timeout=10)
    after = page.evaluate(sent)
    offers, answers, restarts = (
        after.get(k, 0) - before.get(k, 0) for k in ("offer", "answer", "restart")
    )
    if browser_id < partner_id:  # the console offers (asked with `restart` or not)
        assert offers >= 1 and answers == 0 and restarts == 0, (before, after)
    else:  # the participant offers; the console asks only if it noticed first
        assert offers == 0 and answers >= 1, (before, after)
    partner.wait_for(_is("peer_restored", peer_id=browser_id), 15, "media back at the partner")
