"""The clinicians' console in a real Chromium, in a call with the desktop client's engine.

Both sides must decode the other's video: the headless participant reports `first_frame` for
the browser's peer, and the browser's remote <video> has a size, plays on, and its inbound-rtp
stats count decoded frames. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from tests.e2e.conftest import Event, HeadlessParticipant, http_get, kind, mint_token

pytestmark = pytest.mark.e2e

CALL_TIMEOUT_MS = 25_000

REMOTE_VIDEO_PLAYING = """
() => {
  const v = document.querySelector('#tiles .tile video');
  return v !== null && v.videoWidth > 0 && v.readyState >= 2 ? v.currentTime : false;
}
"""

# Synchronous on purpose: Playwright's wait_for_function takes a returned promise as truthy, so
# an async predicate would pass at once. media() is the console watchdog's last look (400 ms).
FRAMES_DECODED = """
() => {
  const peers = window.tandemConsole.media();
  return peers.length > 0 && peers.every((p) => p.framesDecoded > 0) ? peers : false;
}
"""


def _is(name: str, **fields: str) -> Callable[[Event], bool]:
    return lambda e: kind(e) == name and all(e.get(k) == v for k, v in fields.items())


def test_console_page_is_served(session_server: EmbeddedServer) -> None:
    status, html = http_get(session_server.url + "/console")
    assert status == 200
    assert 'id="join-form"' in html and 'id="token-input"' in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    scripts = (
        "console-words.js",
        "console-signaling.js",
        "console-peer.js",
        "console-chat.js",
        "console-media.js",
        "console-session.js",
        "console.js",
    )
    for asset in scripts:
        assert f'src="/console/{asset}"' in html
    for asset in (*scripts, "console.css"):
        status, _ = http_get(f"{session_server.url}/console/{asset}")
        assert status == 200
    status, _ = http_get(session_server.url + "/console/index.html.bak")
    assert status == 404  # only the page's own files are served from its folder


def test_bad_token_is_explained_in_plain_words(
    session_server: EmbeddedServer, chromium_page: Any, artifacts_dir: Path
) -> None:
    page = chromium_page
    good = mint_token(session_server, "therapist", "Dr Rivera", "room-bad-token")
    payload, _ = good.split(".")
    forged = payload + "." + base64.urlsafe_b64encode(b"x" * 32).rstrip(b"=").decode()

    page.goto(session_server.url + "/console")
    page.fill("#token-input", forged)
    page.click("#join-button")
    page.wait_for_selector("#alert:not([hidden])", timeout=10_000)
    assert page.inner_text("#alert-title") == "This invitation was not accepted"
    assert "Ask the clinic for a new invitation link" in page.inner_text("#alert-text")
    assert page.is_visible("#join-form")  # the user can paste another token
    page.screenshot(path=str(artifacts_dir / "console-refused.png"))

    page.fill("#token-input", "not a token")
    page.click("#join-button")
    page.wait_for_function(
        "() => document.querySelector('#alert-title').textContent === 'That is not a join token'"
    )


def test_console_joins_as_a_clinician_and_refuses_a_partner_token(
    session_server: EmbeddedServer, chromium_page: Any
) -> None:
    page = chromium_page
    partner = mint_token(session_server, "partner", "Sam", "room-console-role")
    page.goto(f"{session_server.url}/console#token={partner}")
    with page.expect_websocket() as opened:
        page.click("#join-button")
    assert "/ws?role=therapist%2Concall" in opened.value.url  # docs/protocol.md, "Session"
    page.wait_for_selector("#alert:not([hidden])", timeout=10_000)
    assert page.inner_text("#alert-title") == "This invitation is for another role"
    assert "Partners join from the Tandem app" in page.inner_text("#alert-text")
    assert page.evaluate("() => window.tandemConsole.selfId()") is None  # never in the room


def _token_payload(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.mark.slow
@pytest.mark.parametrize("browser_joins", ["second", "first"])
def test_browser_and_desktop_client_see_each_other(
    browser_joins: str,
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[[str, str], HeadlessParticipant],
    artifacts_dir: Path,
) -> None:
    """'second': the browser is the newcomer and offers; 'first': it answers aiortc's offer."""
    page = chromium_page
    room = f"room-e2e-{browser_joins}"
    therapist = mint_token(session_server, "therapist", "Dr Rivera", room)
    partner_token = mint_token(session_server, "partner", "Sam", room)
    assert _token_payload(therapist)["role"] == "therapist"

    partner: HeadlessParticipant | None = None
    if browser_joins == "second":
        partner = headless_participants(session_server.url, partner_token)
        partner.wait_for(lambda e: kind(e) == "joined", 20, "joined event")

    started = time.monotonic()
    page.goto(f"{session_server.url}/console#token={therapist}")
    assert "token=" not in page.url  # the fragment is wiped from the address bar
    page.click("#join-button")
    page.wait_for_function("() => window.tandemConsole.selfId() !== null", timeout=10_000)
    browser_peer_id = page.evaluate("() => window.tandemConsole.selfId()")

    if partner is None:
        partner = headless_participants(session_server.url, partner_token)

    # The desktop client decodes the browser's video...
    partner.wait_for(_is("first_frame", peer_id=browser_peer_id), 25, "first_frame from browser")
    # ...and the browser decodes the desktop client's.
    page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=CALL_TIMEOUT_MS)
    t0 = page.evaluate(REMOTE_VIDEO_PLAYING)
    page.wait_for_function(
        f"() => {{ const t = ({REMOTE_VIDEO_PLAYING})(); return t !== false && t > {t0}; }}",
        timeout=CALL_TIMEOUT_MS,
    )
    stats = page.wait_for_function(FRAMES_DECODED, timeout=CALL_TIMEOUT_MS, polling=200)
    both_ways_s = time.monotonic() - started
    decoded = stats.json_value()
    assert decoded[0]["frameWidth"] > 0

    tile = page.locator("#tiles .tile")
    assert tile.count() == 1
    caption = tile.first.inner_text()
    assert "Sam" in caption and "Partner" in caption
    page.wait_for_function(
        "() => document.querySelector('#tiles .tile').dataset.status === 'ok'",
        timeout=CALL_TIMEOUT_MS,
    )
    if browser_joins == "second":
        page.screenshot(path=str(artifacts_dir / "console.png"))
    print(f"console e2e ({browser_joins}): both directions decoding after {both_ways_s:.2f} s")

    page.click("#mute-button")
    assert page.get_attribute("#mute-button", "aria-pressed") == "true"
    assert page.inner_text("#mute-button") == "Unmute microphone"
    page.click("#camera-button")
    assert page.get_attribute("#camera-button", "aria-pressed") == "true"
    assert page.evaluate(
        "() => document.querySelector('#self-video').srcObject.getTracks().every((t) => !t.enabled)"
    )

    page.click("#leave-button")
    page.wait_for_selector("#left-panel:not([hidden])")
    partner.wait_for(_is("peer_left", peer_id=browser_peer_id), 10, "peer_left for the browser")


@pytest.mark.slow
@pytest.mark.parametrize("chromium_page", ["camera_denied"], indirect=True)
def test_camera_denied_is_explained_and_the_couple_still_seen(
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[[str, str], HeadlessParticipant],
) -> None:
    page = chromium_page
    room = "room-e2e-denied"
    partner = headless_participants(
        session_server.url, mint_token(session_server, "partner", "Sam", room)
    )
    partner.wait_for(lambda e: kind(e) == "joined", 20, "joined event")
    therapist = mint_token(session_server, "therapist", "Dr Rivera", room)
    page.goto(f"{session_server.url}/console#token={therapist}")
    page.click("#join-button")

    page.wait_for_selector("#alert:not([hidden])", timeout=10_000)
    assert page.inner_text("#alert-title") == "Camera and microphone are blocked"
    assert "they cannot see or hear you" in page.inner_text("#alert-text")
    assert page.is_disabled("#mute-button") and page.is_disabled("#camera-button")
    # Receive-only: the therapist still sees the partner.
    page.wait_for_function(FRAMES_DECODED, timeout=CALL_TIMEOUT_MS, polling=200)


def test_lost_server_connection_says_reconnecting(chromium_page: Any) -> None:
    """Signaling dropping is not the end of the call: the page keeps the call and says it is
    reconnecting (docs/continuity.md); test_console_continuity.py has it come back."""
    page = chromium_page
    server = EmbeddedServer(
        ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
    )
    server.start()
    try:
        therapist = mint_token(server, "therapist", "Dr Rivera", "room-lost")
        page.goto(f"{server.url}/console#token={therapist}")
        page.click("#join-button")
        page.wait_for_function("() => window.tandemConsole.state() === 'in-call'", timeout=10_000)
        assert page.inner_text("#server-status") == "Connected to the session server"
    finally:
        server.stop()
    page.wait_for_function(
        "() => window.tandemConsole.signaling() === 'reconnecting'", timeout=15_000
    )
    assert "Reconnecting to the session server" in page.inner_text("#server-status")
    assert page.evaluate("() => window.tandemConsole.state()") == "in-call"
    assert page.is_hidden("#alert") and page.is_visible("#call")


def test_console_hands_every_turn_url_to_the_browser(chromium_page: Any) -> None:
    """The server lists TURN over UDP, TCP and TLS; the browser tries a list itself, so the
    console passes all of them (the desktop client probes and picks one instead)."""
    page = chromium_page
    urls = (
        "turn:127.0.0.1:3478?transport=udp",
        "turn:127.0.0.1:3478?transport=tcp",
        "turns:127.0.0.1:5349?transport=tcp",
    )
    server = EmbeddedServer(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            secret=secrets.token_urlsafe(32),
            turn_urls=urls,
            turn_secret="turn-" + "y" * 24,
        )
    )
    server.start()
    try:
        therapist = mint_token(server, "therapist", "Dr Rivera", "room-turn")
        page.goto(f"{server.url}/console#token={therapist}")
        page.click("#join-button")
        page.wait_for_function("() => window.tandemConsole.state() === 'in-call'", timeout=10_000)
        assert sorted(page.evaluate("() => window.tandemConsole.iceUrls()")) == sorted(urls)
    finally:
        server.stop()
