"""A partner's join code used on a second device, seen from the clinicians' console in a real
Chromium: the console says so in words that stay on screen, the first device's participant is
told `replaced` and stops (exit 5) without trying to take the seat back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.server.embedded import EmbeddedServer
from tests.e2e.conftest import HeadlessParticipant, kind, mint_token

pytestmark = pytest.mark.e2e

EXIT_REPLACED = 5  # app.commands.join


@pytest.mark.slow
@pytest.mark.allow_log_warnings("app.server.seats")
def test_the_console_is_told_when_a_join_code_is_used_on_another_device(
    session_server: EmbeddedServer,
    chromium_page: Any,
    headless_participants: Callable[..., HeadlessParticipant],
) -> None:
    page = chromium_page
    room = "room-takeover"
    therapist = mint_token(session_server, "therapist", "Dr Rivera", room)
    sams_code = mint_token(session_server, "partner", "Sam", room)
    page.goto(f"{session_server.url}/console#token={therapist}")
    page.click("#join-button")
    page.wait_for_function("() => window.tandemConsole.selfId() !== null", timeout=10_000)

    quiet = ("--camera", "none", "--mic", "none")
    first = headless_participants(session_server.url, sams_code, *quiet)
    first.wait_for(lambda e: kind(e) == "joined", 30, "the first device in the room")
    page.wait_for_selector("#tiles .tile", timeout=10_000)
    assert page.inner_text("#notice") == ""

    second = headless_participants(session_server.url, sams_code, *quiet)
    second.wait_for(lambda e: kind(e) == "joined", 30, "the second device in the room")
    page.wait_for_function(
        "() => document.querySelector('#notice').textContent.includes('another device')",
        timeout=10_000,
    )
    notice = page.inner_text("#notice")
    assert notice.startswith("Sam's join code was just used on another device")
    assert "withdraw" in notice

    error = first.wait_for(lambda e: kind(e) == "error", 15, "the first device's error")
    assert error["code"] == "replaced"
    assert first.proc.wait(timeout=15) == EXIT_REPLACED
    # The second device keeps the seat: the first never came back for it.
    assert second.proc.poll() is None
    assert not [e for e in second.drain() if kind(e) == "error"]
    assert page.locator("#tiles .tile").count() == 1
