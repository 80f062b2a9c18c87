"""The equipment check as a person sees it on a laptop screen (issue 10 items 2 and 3): what
to do during each step is where they look, and the progress and verdict come into view by
themselves, at 1366x768 and 1280x720."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.checks.wording import PERSON_STEPS
from app.ui.main_window import MainWindow
from tests.gui.fakes import ScriptedCheck
from tests.gui.helpers import run_check

pytestmark = pytest.mark.gui

LAPTOPS = [(1366, 768), (1280, 720)]
SAY_A_FEW_WORDS = dict(PERSON_STEPS)["microphone"]


def in_view(widget: QWidget, window: MainWindow) -> bool:
    """Whether all of `widget` is inside the page's visible viewport."""
    viewport = window.preflight.scroll_area.viewport()
    top_left = widget.mapTo(viewport, widget.rect().topLeft())
    return viewport.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize(("width", "height"), LAPTOPS)
def test_what_to_do_during_the_check_is_in_view_and_so_is_the_verdict(
    qtbot: QtBot,
    window: MainWindow,
    check: ScriptedCheck,
    width: int,
    height: int,
    artifacts_dir: Path,
) -> None:
    window.resize(width, height)
    page = window.preflight
    qtbot.waitUntil(lambda: page.height() < height)
    check.hold = threading.Event()
    try:
        pickers = (page.camera_picker, page.mic_picker, page.speaker_picker)
        qtbot.waitUntil(lambda: all(p.has_device for p in pickers))
        page.start_check()
        instruction = page.progress.instruction_label
        qtbot.waitUntil(lambda: instruction.text() == SAY_A_FEW_WORDS)
        # Where the person pressed the button, the meter's line says it too.
        assert page.meter.status.text() == SAY_A_FEW_WORDS
        # The panel came into view by itself, the instruction first.
        qtbot.waitUntil(lambda: in_view(instruction, window))
        assert in_view(page.progress.step_label, window)
        window.grab().save(str(artifacts_dir / f"preflight-say-a-few-words-{width}x{height}.png"))
    finally:
        check.hold.set()
    qtbot.waitUntil(lambda: not page.running, timeout=10_000)
    qtbot.waitUntil(lambda: in_view(page.banner, window))
    window.grab().save(str(artifacts_dir / f"preflight-verdict-{width}x{height}.png"))


@pytest.mark.parametrize(("width", "height"), LAPTOPS)
def test_the_verdict_comes_into_view_after_a_quick_check(
    qtbot: QtBot, window: MainWindow, width: int, height: int
) -> None:
    window.resize(width, height)
    run_check(qtbot, window)
    qtbot.waitUntil(lambda: in_view(window.preflight.banner, window))
