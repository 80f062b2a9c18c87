"""Tandem as a person sees it on a laptop screen (issue 10 items 2 and 3): what to do during
each step of the check is where they look, the progress and verdict come into view by
themselves, at 1366x768 and 1280x720; the window fits the screen it opens on, and nothing
overlaps at its smallest size."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.call.self_view import CAMERA_LOST_NOTE, SelfViewMachine
from app.checks.wording import PERSON_STEPS
from app.devices.base import DeviceError, DeviceProblem
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.call_page import CallPage
from app.ui.main_window import MainWindow
from app.ui.window_size import FRAME_ALLOWANCE, PREFERRED_SIZE, fit_size
from tests.gui.fakes import FakeDevices, ScriptedCheck
from tests.gui.helpers import clipped_widgets, run_check

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
        qtbot.waitUntil(lambda: clipped_widgets(page) == [])
        window.grab().save(str(artifacts_dir / f"preflight-say-a-few-words-{width}x{height}.png"))
    finally:
        check.hold.set()
    qtbot.waitUntil(lambda: not page.running, timeout=10_000)
    qtbot.waitUntil(lambda: in_view(page.banner, window))
    qtbot.waitUntil(lambda: page.meter.running)  # the live meter is back, with its own words
    qtbot.waitUntil(lambda: clipped_widgets(page) == [])
    window.grab().save(str(artifacts_dir / f"preflight-verdict-{width}x{height}.png"))


@pytest.mark.parametrize(("width", "height"), LAPTOPS)
def test_the_verdict_comes_into_view_after_a_quick_check(
    qtbot: QtBot, window: MainWindow, width: int, height: int
) -> None:
    window.resize(width, height)
    run_check(qtbot, window)
    qtbot.waitUntil(lambda: in_view(window.preflight.banner, window))


def overlapping_siblings(root: QWidget) -> list[str]:
    """Pairs of visible sibling widgets under `root` whose rectangles intersect."""
    problems: list[str] = []
    parents = [root, *root.findChildren(QWidget)]
    for parent in parents:
        if not parent.isVisible():
            continue
        children = [
            c
            for c in parent.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if c.isVisible() and not c.isWindow() and c.width() > 0 and c.height() > 0
        ]
        for i, first in enumerate(children):
            for second in children[i + 1 :]:
                if first.geometry().intersects(second.geometry()):
                    problems.append(
                        f"{type(first).__name__} {first.objectName()!r} {first.geometry()} x "
                        f"{type(second).__name__} {second.objectName()!r} {second.geometry()}"
                    )
    return problems


def test_the_window_opens_within_its_screen(
    qtbot: QtBot, bridge: Bridge, profile: ClinicProfile, devices: FakeDevices, check: ScriptedCheck
) -> None:
    window = MainWindow(profile, bridge, devices, check)  # no resize: the size it opens at
    qtbot.addWidget(window)
    try:
        available = window.screen().availableGeometry()
        window.show()
        qtbot.waitExposed(window)
        assert available.contains(window.frameGeometry()), (available, window.frameGeometry())
        assert available.contains(QRect(window.pos(), window.size() + FRAME_ALLOWANCE))
    finally:
        window.shutdown()


@pytest.mark.parametrize(
    "available",
    [
        QRect(0, 0, 1366, 768),
        QRect(0, 27, 1366, 741),  # a top panel
        QRect(0, 0, 1366, 728),  # a taskbar
        QRect(0, 0, 1280, 720),
        QRect(0, 32, 1280, 688),
        QRect(1920, 0, 1280, 720),  # the second of two screens
    ],
)
def test_laptop_screens_get_a_window_that_fits(window: MainWindow, available: QRect) -> None:
    minimum = window.minimumSizeHint()
    size = fit_size(PREFERRED_SIZE, available, minimum)
    assert size.width() + FRAME_ALLOWANCE.width() <= available.width()
    assert size.height() + FRAME_ALLOWANCE.height() <= available.height()
    assert size.width() >= minimum.width() and size.height() >= minimum.height()
    assert fit_size(PREFERRED_SIZE, QRect(0, 0, 2560, 1440), minimum) == PREFERRED_SIZE


def settle_at_smallest(qtbot: QtBot, window: MainWindow) -> QSize:
    """Shrink the window to its minimum until that minimum holds still: the call page sets its
    own minimum height from its width when its posted layout request arrives, so the first
    minimumSizeHint can be stale (a window that small would cut off the page's bottom)."""

    def at_smallest() -> bool:
        smallest = window.minimumSizeHint()
        if window.size() == smallest:
            return True
        window.resize(smallest)
        return False

    qtbot.waitUntil(at_smallest, timeout=3000)
    return window.size()


def show_the_longest_self_note(page: CallPage) -> None:
    machine = SelfViewMachine()
    machine.start(has_camera=True)
    longest = max(
        (machine.failed(DeviceError(p, "x")) for p in DeviceProblem),
        key=lambda view: len(view.note) if view else 0,
    )
    assert longest is not None and len(longest.note) >= len(CAMERA_LOST_NOTE)
    page._show_self(longest)


@pytest.mark.parametrize("size", [*LAPTOPS, (0, 0)], ids=["1366x768", "1280x720", "smallest"])
@pytest.mark.parametrize("chat_open", [False, True])
def test_nothing_overlaps_on_the_call_page(
    qtbot: QtBot,
    window: MainWindow,
    chat_open: bool,
    size: tuple[int, int],
    artifacts_dir: Path,
) -> None:
    page = window.call_page
    window.pages.setCurrentWidget(page)
    show_the_longest_self_note(page)
    if chat_open:
        page.controls.chat_button.click()
        qtbot.waitUntil(page.continuity.chat.isVisible)
    smallest = settle_at_smallest(qtbot, window)
    assert smallest.width() <= 1280 - FRAME_ALLOWANCE.width()
    assert smallest.height() <= 720 - FRAME_ALLOWANCE.height()
    target = QSize(*size) if size[0] else smallest
    window.resize(target)
    qtbot.waitUntil(lambda: window.size() == target)
    qtbot.waitUntil(lambda: page.self_note.isVisible())
    name = f"{target.width()}x{target.height()}-chat-{'open' if chat_open else 'closed'}"
    window.grab().save(str(artifacts_dir / f"call-page-{name}.png"))
    assert overlapping_siblings(window) == []
    assert clipped_widgets(window) == []
    central = window.centralWidget()
    assert central is not None
    bottom = page.controls.mapTo(central, page.controls.rect().bottomLeft()).y()
    assert bottom < central.height(), "the call controls are below the window's edge"
    note, tile = page.self_note.geometry(), page.self_view.geometry()
    assert note.top() > tile.bottom()


@pytest.mark.parametrize(("width", "height"), [*LAPTOPS, (0, 0)])
def test_nothing_overlaps_on_the_check_page_after_a_check(
    qtbot: QtBot, window: MainWindow, width: int, height: int
) -> None:
    run_check(qtbot, window)
    size = QSize(width, height) if width else window.minimumSizeHint()
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size)
    assert overlapping_siblings(window) == []
