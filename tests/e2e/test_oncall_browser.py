"""The on-call page (/oncall, docs/emergency.md) in a real Chromium, against the real server.

A couple raises the alarm over a raw `/emergency/ws` socket; the page rings (the <audio>
element plays, the title flashes), the clinician accepts, and the couple's side of the call is
the desktop client's engine (`tandem join --headless`) joining with the ticket the server gave
the couple: both sides must decode each other's video. Ending the case records it and tells
the couple. Every wait is on page state or a message, with a deadline.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from app.server.emergency.escalation import Timings
from app.server.emergency.settings import EmergencySettings
from app.server.tokens import mint_token as mint_in_process
from tests.e2e.conftest import REPO, HeadlessParticipant, http_get, kind, mint_token
from tests.e2e.emergency_socket import EmergencySocket

pytestmark = pytest.mark.e2e

CALL_TIMEOUT_MS = 25_000
QUIET_TITLE = "Tandem on call"
COUPLE_ROOM = "couple-rivera-lee"

RING_PLAYING = """
() => {
  const a = document.querySelector('#ring-audio');
  return !a.paused && a.readyState >= 2 && a.duration > 1 && a.loop ? a.currentTime : false;
}
"""

# Synchronous on purpose: wait_for_function takes a promise as truthy.
FRAMES_DECODED = """
() => {
  const peers = window.tandemOncall.call.media();
  return peers.length > 0 && peers.every((p) => p.framesDecoded > 0) ? peers : false;
}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A server of its own, with its records in a data folder of its own: a case left open by
    one test must not ring in the next."""
    config = ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
    embedded = EmbeddedServer(replace(config, data_dir=tmp_path / "server-data"))
    embedded.start(timeout=15)
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def sockets() -> Iterator[Callable[[EmbeddedServer, str, str], EmergencySocket]]:
    """Open raw /emergency/ws sockets (`open(server, token, side)`); all closed afterwards."""
    opened: list[EmergencySocket] = []

    def open_socket(server: EmbeddedServer, token: str, side: str) -> EmergencySocket:
        socket = EmergencySocket(server.url, token, side)
        opened.append(socket)
        socket.wait_for("hello_ok")
        return socket

    try:
        yield open_socket
    finally:
        for socket in opened:
            socket.close()


def _partner(server: EmbeddedServer, name: str, room: str = COUPLE_ROOM) -> str:
    return mint_in_process(server.config.secret, room, "partner", name, 600)


def _tandem(server: EmbeddedServer, *args: str) -> str:
    """A `tandem` command on the server's data folder, with its secret; its output."""
    assert server.config.data_dir is not None
    env = {**os.environ, "TANDEM_SECRET": server.config.secret}
    argv = [sys.executable, "-m", "app", *args, "--data-dir", str(server.config.data_dir)]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"tandem {args[0]} failed: {done.stderr.strip()[-500:]}"
    return done.stdout


def _set_plan(server: EmbeddedServer, room: str, text: str, folder: Path) -> None:
    """The clinic's way: `tandem plan set --room R --file plan.md`."""
    plan = folder / "plan.md"
    plan.write_text(text, encoding="utf-8")
    _tandem(server, "plan", "set", "--room", room, "--file", str(plan))


def _records(server: EmbeddedServer, case_id: str) -> list[dict[str, Any]]:
    """The case's records as `tandem audit --case ID --json` prints them."""
    out = _tandem(server, "audit", "--case", case_id, "--json")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _sign_in(page: Any, server: EmbeddedServer, token: str) -> None:
    page.goto(f"{server.url}/oncall#token={token}")
    assert "token=" not in page.url  # out of the address bar at once
    page.wait_for_function("() => window.tandemOncall.link() === 'up'", timeout=10_000)


def _go_available(page: Any) -> None:
    page.click("#availability")
    page.wait_for_function("() => window.tandemOncall.available()", timeout=10_000)


def _title_flashes(page: Any) -> None:
    """The title turns loud and quiet again, more than once (a flash, not a fixed title)."""
    for _ in range(2):
        page.wait_for_function(f"() => document.title !== {QUIET_TITLE!r}", timeout=5_000)
        page.wait_for_function(f"() => document.title === {QUIET_TITLE!r}", timeout=5_000)


def test_oncall_page_is_served_with_strict_headers(server: EmbeddedServer) -> None:
    import urllib.request

    with urllib.request.urlopen(server.url + "/oncall", timeout=10) as response:
        headers = response.headers
        html = response.read().decode("utf-8")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "media-src 'self' blob:" in csp  # the ring's tone is made in the page
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert 'id="availability"' in html and 'role="switch"' in html
    assert 'id="ring-audio"' in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    assets = [
        part.split('"')[0]
        for part in html.split('src="/console/')[1:] + html.split('href="/console/')[1:]
    ]
    assert "oncall.js" in assets and "console-session.js" in assets and "oncall.css" in assets
    for asset in assets:
        status, _ = http_get(f"{server.url}/console/{asset}")
        assert status == 200, asset
    assert http_get(server.url + "/console/oncall.html")[0] == 404  # pages only at their path


def test_sign_in_and_the_availability_switch(
    server: EmbeddedServer, chromium_page: Any, artifacts_dir: Path
) -> None:
    page = chromium_page
    token = mint_token(server, "oncall", "Dr Lee", "oncall")
    _sign_in(page, server, token)
    assert page.is_hidden("#signin-panel")
    assert page.inner_text("#who") == "Dr Lee · first line"
    assert page.inner_text("#link-status") == "Connected to the on-call service"
    switch = page.locator("#availability")
    assert switch.get_attribute("aria-checked") == "false"  # everyone starts away
    assert "calls do not ring here" in page.inner_text("#availability-help")

    # Keyboard: the switch is reachable with Tab and works with Space.
    switch.focus()
    page.keyboard.press("Space")
    page.wait_for_function("() => window.tandemOncall.available()", timeout=10_000)
    assert switch.get_attribute("aria-checked") == "true"
    assert page.inner_text("#availability-label") == "Available"
    assert "Emergency calls ring here" in page.inner_text("#availability-help")
    page.screenshot(path=str(artifacts_dir / "oncall-available.png"))

    page.keyboard.press("Space")
    page.wait_for_function("() => !window.tandemOncall.available()", timeout=10_000)
    assert page.inner_text("#availability-label") == "Away"


def test_a_partner_token_is_refused_in_plain_words(
    server: EmbeddedServer, chromium_page: Any
) -> None:
    page = chromium_page
    page.goto(f"{server.url}/oncall#token={_partner(server, 'Sam')}")
    page.wait_for_selector("#alert:not([hidden])", timeout=10_000)
    assert page.inner_text("#alert-title") == "This link is not an on-call sign-in"
    assert page.is_visible("#signin-form")  # another token can be pasted
    assert page.evaluate("() => window.tandemOncall.state()") == "signed-out"
    assert page.evaluate("() => sessionStorage.length") == 0  # the refused token is not kept

    # Pasting the right token signs in; signing out forgets it.
    page.fill(
        "#token-input", mint_in_process(server.config.secret, "oncall", "oncall", "Dr Lee", 600)
    )
    page.click("#signin-button")
    page.wait_for_function("() => window.tandemOncall.link() === 'up'", timeout=10_000)
    assert page.is_hidden("#alert") and page.input_value("#token-input") == ""
    page.click("#signout-button")
    assert page.evaluate("() => window.tandemOncall.state()") == "signed-out"
    assert page.evaluate("() => sessionStorage.length") == 0


def test_taken_by_another_clinician_stops_the_ring(
    server: EmbeddedServer,
    chromium_page: Any,
    sockets: Callable[[EmbeddedServer, str, str], EmergencySocket],
) -> None:
    page = chromium_page
    page.context.grant_permissions(["notifications"], origin=server.url)
    _sign_in(page, server, mint_token(server, "oncall", "Dr Lee", "oncall"))
    _go_available(page)
    other = sockets(
        server, mint_in_process(server.config.secret, "oncall", "oncall", "Dr Park", 600), "oncall"
    )
    other.send(type="availability", available=True)
    other.wait_for("availability", available=True)
    couple = sockets(server, _partner(server, "Alex"), "couple")
    couple.send(type="emergency")
    case_id = couple.wait_for("case")["case"]["case_id"]

    page.wait_for_selector(f"[data-case-id='{case_id}'][data-state='ringing']", timeout=5_000)
    page.wait_for_function(RING_PLAYING, timeout=10_000)
    assert page.evaluate("() => window.tandemOncall.notified()") == 1  # a desktop notification
    other.wait_for("ring", case_id=case_id)
    other.send(type="accept", case_id=case_id)
    other.wait_for("accepted")

    card = page.locator(f"[data-case-id='{case_id}']")
    page.wait_for_selector(f"[data-case-id='{case_id}'][data-state='taken']", timeout=10_000)
    assert "Taken by Dr Park" in card.inner_text()
    assert card.locator("button.accept").is_hidden()
    page.wait_for_function("() => document.querySelector('#ring-audio').paused", timeout=5_000)
    assert page.title() == QUIET_TITLE
    assert not page.evaluate("() => window.tandemOncall.ringing()")


def test_escalation_shows_on_the_card_and_the_ring_goes_on(
    chromium_page: Any,
    sockets: Callable[[EmbeddedServer, str, str], EmergencySocket],
    artifacts_dir: Path,
) -> None:
    """Levels in well under a second: the card says each one, and an unanswered case still
    rings (a late accept still connects)."""
    page = chromium_page
    fast = EmergencySettings(Timings(ring_again_s=0.3, everyone_s=0.6, unanswered_s=0.9))
    config = ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
    server = EmbeddedServer(replace(config, emergency=fast))
    server.start(timeout=15)
    try:
        _sign_in(page, server, mint_in_process(config.secret, "oncall", "oncall", "Dr Lee", 600))
        _go_available(page)
        couple = sockets(server, _partner(server, "Alex"), "couple")
        couple.send(type="emergency")
        case_id = couple.wait_for("case")["case"]["case_id"]
        couple.wait_for("unanswered", case_id=case_id)
        level = f"[data-case-id='{case_id}'][data-level='3'][data-state='ringing']"
        page.wait_for_selector(level, timeout=10_000)
        assert "the clinic’s pager has been called" in page.inner_text(f"{level} .level")
        page.wait_for_function(RING_PLAYING, timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "oncall-unanswered.png"))
        page.click(f"{level} button.accept")
        couple.wait_for("accepted", case_id=case_id)
        page.wait_for_function("() => window.tandemOncall.state() === 'in-case'", timeout=10_000)
    finally:
        server.stop()


@pytest.mark.slow
def test_ring_accept_call_and_end(
    server: EmbeddedServer,
    chromium_page: Any,
    sockets: Callable[[EmbeddedServer, str, str], EmergencySocket],
    headless_participants: Callable[..., HeadlessParticipant],
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    page = chromium_page
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    plan = (
        "# Safety plan\n"
        "## Warning signs\n- Shouting, **slamming doors**\n- Not sleeping\n\n"
        "## Steps\n1. Take a break in separate rooms\n2. Call Jo (sister)\n\n"
        "<img src=x onerror=\"document.title='pwned'\"> stays text\n"
    )
    _set_plan(server, COUPLE_ROOM, plan, tmp_path)
    _sign_in(page, server, mint_token(server, "oncall", "Dr Lee", "oncall"))
    _go_available(page)

    alex = sockets(server, _partner(server, "Alex"), "couple")
    sam = sockets(server, _partner(server, "Sam"), "couple")  # the partner's app, also open
    alex.send(type="emergency", location="12 Elm Street, flat 3")
    case_id = alex.wait_for("case")["case"]["case_id"]

    # The ring: a card with the facts, the sound looping, the title flashing.
    card = page.locator(f"[data-case-id='{case_id}']")
    page.wait_for_selector(f"[data-case-id='{case_id}'][data-state='ringing']", timeout=5_000)
    assert card.locator(".names").inner_text() == "Alex and Sam"
    assert card.locator(".location").inner_text() == "12 Elm Street, flat 3"
    assert "Just asked for help" in card.locator(".level").inner_text()
    page.wait_for_function(RING_PLAYING, timeout=10_000)
    t0 = page.evaluate(RING_PLAYING)
    page.wait_for_function(
        f"() => {{ const t = ({RING_PLAYING})(); return t !== false && t > {t0}; }}",
        timeout=10_000,
    )
    _title_flashes(page)
    waited = card.locator(".waited").inner_text()
    page.wait_for_function(  # the counter runs
        f"() => document.querySelector(\"[data-case-id='{case_id}'] .waited\").textContent"
        f" !== {waited!r}",
        timeout=5_000,
    )
    assert page.evaluate("() => document.activeElement.classList.contains('accept')")
    assert page.inner_text("#ring-announce") == "Emergency call: Alex and Sam asking for help now."
    page.screenshot(path=str(artifacts_dir / "oncall-ringing.png"))

    # Accept: the ring stops, the couple is told, the plan is shown as text.
    started = time.monotonic()
    card.locator("button.accept").click()
    accepted = alex.wait_for("accepted", case_id=case_id)
    assert accepted["clinician"] == "Dr Lee"
    sam.wait_for("accepted", case_id=case_id)
    page.wait_for_function("() => window.tandemOncall.state() === 'in-case'", timeout=10_000)
    assert page.evaluate("() => document.querySelector('#ring-audio').paused")
    assert page.title() == QUIET_TITLE
    assert page.inner_text("#held-names") == "Emergency call with Alex and Sam"
    assert page.locator("#held-facts .location").inner_text() == "12 Elm Street, flat 3"
    assert page.locator("#plan h4").all_inner_texts() == ["Safety plan", "Warning signs", "Steps"]
    assert page.locator("#plan ul li").all_inner_texts() == [
        "Shouting, slamming doors",
        "Not sleeping",
    ]
    assert page.locator("#plan ul strong").inner_text() == "slamming doors"
    assert page.locator("#plan ol li").count() == 2
    assert page.locator("#plan img").count() == 0  # markup in a plan is text
    assert "<img src=x" in page.inner_text("#plan")

    # The couple's side of the call: the desktop client's engine with Alex's ticket.
    ticket = accepted["ticket"]
    assert ticket["room"] == f"emergency-{case_id}"
    couple_app = headless_participants(
        server.url, ticket["token"], "--chat", "please <b>help</b>", "--chat-echo"
    )
    page.wait_for_function(
        "() => window.tandemOncall.call.selfId() !== null", timeout=CALL_TIMEOUT_MS
    )
    browser_id = page.evaluate("() => window.tandemOncall.call.selfId()")
    couple_app.wait_for(
        lambda e: kind(e) == "first_frame" and e.get("peer_id") == browser_id,
        25,
        "first_frame from the on-call page",
    )
    decoded = page.wait_for_function(FRAMES_DECODED, timeout=CALL_TIMEOUT_MS, polling=200)
    assert decoded.json_value()[0]["frameWidth"] > 0
    print(f"oncall e2e: accept -> both directions decoding in {time.monotonic() - started:.2f} s")
    page.wait_for_function(  # the first media goes on record
        "() => window.tandemOncall.sentCounts().connected === 1", timeout=5_000
    )
    tile = page.locator("#tiles .tile")
    assert "Alex" in tile.first.inner_text() and "Partner" in tile.first.inner_text()

    # Chat with the couple, in the page: their line comes in as text, ours goes out.
    page.wait_for_function(
        "() => document.querySelector('#chat-button').textContent === 'Chat (1 new)'",
        timeout=CALL_TIMEOUT_MS,
    )
    page.click("#chat-button")
    assert page.locator("#chat-log li.theirs .text").inner_text() == "please <b>help</b>"
    page.fill("#chat-input", "I am here with you.")
    page.press("#chat-input", "Enter")
    got = couple_app.wait_for(lambda e: kind(e) == "chat", 15, "the clinician's chat line")
    assert got["text"] == "I am here with you."
    page.wait_for_selector("#chat-log li.mine .state[data-state='delivered']", timeout=15_000)
    page.click("#chat-button")
    page.screenshot(path=str(artifacts_dir / "oncall-in-call.png"))

    # A reload mid-case: signed in again from this tab's storage, the server gives the case and
    # a fresh ticket back, and the call comes back with the same peer id.
    page.reload()
    page.wait_for_function("() => window.tandemOncall.state() === 'in-case'", timeout=10_000)
    page.wait_for_function(
        f"() => window.tandemOncall.call.selfId() === {browser_id!r}", timeout=CALL_TIMEOUT_MS
    )
    page.wait_for_function(FRAMES_DECODED, timeout=CALL_TIMEOUT_MS, polling=200)
    assert page.inner_text("#held-names") == "Emergency call with Alex and Sam"
    assert page.locator("#plan h4").count() == 3

    # "I'm safe now" from the couple while the case is in hand: the clinician is told.
    alex.send(type="cancel", case_id=case_id)
    page.wait_for_selector("#couple-cancelled:not([hidden])", timeout=10_000)

    # End: outcome, follow-up (24 h by default), a note.
    page.click("#end-button")
    assert page.is_visible("#end-form")
    due_default = page.input_value("#follow-up-input")
    assert due_default  # filled in: 24 h from now
    page.check("input[name='outcome'][value='safe']")
    page.fill("#note-input", "Both calmer; plan reviewed.")
    page.screenshot(path=str(artifacts_dir / "oncall-end-form.png"))
    page.click("#end-submit")
    ended = alex.wait_for("ended", case_id=case_id)
    assert ended["by"] == "clinician" and ended["outcome"] == "safe"
    hours = (ended["follow_up_due"] - time.time()) / 3600
    assert 23 < hours <= 24
    page.wait_for_selector("#closed:not([hidden])", timeout=10_000)
    assert "Outcome recorded: Safe for now." in page.inner_text("#closed-text")
    assert page.evaluate("() => window.tandemOncall.lastEnded().outcome") == "safe"
    couple_app.wait_for(
        lambda e: kind(e) == "peer_left" and e.get("peer_id") == browser_id,
        10,
        "peer_left for the on-call page",
    )
    records = _records(server, case_id)  # `tandem audit --case ID --json`
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "requested" and "accepted" in kinds and kinds[-1] == "ended"
    assert "connected" in kinds  # first media, reported by the page
    assert records[-1]["detail"]["outcome"] == "safe"
    assert records[-1]["detail"]["note"] == "Both calmer; plan reviewed."
    page.screenshot(path=str(artifacts_dir / "oncall-closed.png"))
    secret_bits = ("12 Elm", "Alex", "Sam", "I am here", "help", "slamming", ticket["token"])
    assert not any(bit in text for text in logged for bit in secret_bits)  # never logged
    assert page_errors == []


def test_a_lost_connection_is_said_and_availability_comes_back(chromium_page: Any) -> None:
    """While the socket is down the page says so and counts itself away (the server does);
    once it is back the page is made available again, as the clinician chose."""
    page = chromium_page
    secret = secrets.token_urlsafe(32)
    first = EmbeddedServer(ServerConfig(host="127.0.0.1", port=0, secret=secret))
    first.start(timeout=15)
    port = int(first.url.rsplit(":", 1)[1])
    second: EmbeddedServer | None = None
    try:
        _sign_in(page, first, mint_in_process(secret, "oncall", "oncall", "Dr Lee", 600))
        _go_available(page)
    finally:
        first.stop()
    try:
        page.wait_for_function("() => window.tandemOncall.link() === 'down'", timeout=15_000)
        status = page.inner_text("#link-status")
        assert status.startswith("Not connected to the on-call service")
        assert "New calls cannot reach you" in status
        assert page.get_attribute("#availability", "aria-checked") == "false"
        assert "Available again" in page.inner_text("#availability-help")
        second = EmbeddedServer(ServerConfig(host="127.0.0.1", port=port, secret=secret))
        second.start(timeout=15)
        page.wait_for_function("() => window.tandemOncall.link() === 'up'", timeout=30_000)
        page.wait_for_function("() => window.tandemOncall.available()", timeout=10_000)
        assert page.inner_text("#link-status") == "Connected to the on-call service"
    finally:
        if second is not None:
            second.stop()
