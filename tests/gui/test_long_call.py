"""A call of at least 60 s with remote video drawn in the window.

PySide6 6.12.0 on CPython 3.11 corrupted None's reference count on every void call and a
process drawing video died after a few seconds (../shared/PLATFORM.md); only a call drawn for
long enough catches a leak of that kind. Runs in wall time by design.
"""

from __future__ import annotations

import time

import pytest
from pytestqt.qtbot import QtBot

from app.call.events import CallState
from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from app.ui.main_window import MainWindow
from tests.gui.call_helpers import (
    HeadlessPeer,
    clinic_window,
    headless_peers,
    session_server,
    start_headless,
)

pytestmark = [pytest.mark.gui, pytest.mark.slow]
__all__ = ["clinic_window", "headless_peers", "session_server"]  # fixtures

CALL_S = 60.0
WINDOW_S = 5.0  # at least one new frame drawn in every window of this length


@pytest.mark.timeout(300)
def test_a_minute_of_drawn_video(
    qtbot: QtBot,
    clinic_window: MainWindow,
    session_server: EmbeddedServer,
    headless_peers: list[HeadlessPeer],
) -> None:
    window, page = clinic_window, clinic_window.call_page
    token = mint_token(session_server.config.secret, "long-call", "partner", "Sam", 600)
    therapist = start_headless(session_server, "long-call", "therapist", "Dr. Rivera")
    headless_peers.append(therapist)
    assert window.join_session(token=token)
    qtbot.waitUntil(lambda: len(page.tiles) == 1, timeout=30_000)
    tile = next(iter(page.tiles.values()))
    qtbot.waitUntil(lambda: tile.frames_drawn >= 1, timeout=30_000)

    start = time.monotonic()
    samples: list[tuple[float, int, int]] = []

    def a_minute_has_passed() -> bool:
        samples.append((time.monotonic() - start, tile.frames_drawn, page.self_view.frames_drawn))
        return samples[-1][0] >= CALL_S

    qtbot.waitUntil(a_minute_has_passed, timeout=int(CALL_S * 1000 * 3))

    assert page.state is CallState.CONNECTED
    assert page.tiles.get(tile.source) is tile
    for first in range(int(CALL_S // WINDOW_S)):
        low, high = first * WINDOW_S, (first + 1) * WINDOW_S
        inside = [(remote, own) for at, remote, own in samples if low <= at <= high]
        assert inside, f"no sample between {low} s and {high} s"
        assert inside[-1][0] > inside[0][0], f"no remote frame drawn between {low} s and {high} s"
        assert inside[-1][1] > inside[0][1], f"self view not drawn between {low} s and {high} s"
    remote_frames = samples[-1][1] - samples[0][1]
    print(f"{remote_frames} remote frames drawn in {samples[-1][0]:.1f} s")
    assert remote_frames >= CALL_S * 5  # 15 fps sent; a loaded 2-core machine still draws 5+

    page.leave()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.preflight, timeout=15_000)
    qtbot.waitUntil(lambda: therapist.printed("peer_left"), timeout=15_000)
