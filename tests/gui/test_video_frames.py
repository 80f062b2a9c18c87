"""FrameStore and VideoTile together: a decoded frame becomes an RGB32 image at the tile's size
(the format the raster engine blits as it is), painted 1:1; a tile nobody sees (hidden, voice
only) has its frames skipped, not converted, and gets pictures again once it shows."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.ui.frame_pixels import Pixels
from app.ui.video_frames import SELF, FrameStore, to_image
from app.ui.video_tile import VideoTile

pytestmark = pytest.mark.gui

PEER = "peer-1"
COLOUR_BGR = (30, 140, 230)  # an orange


def decoded_frame() -> av.VideoFrame:
    image = np.full((360, 640, 3), COLOUR_BGR, np.uint8)
    return av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")


class Wakeups:
    def __init__(self) -> None:
        self.sources: list[str] = []

    def __call__(self, source: str) -> None:
        self.sources.append(source)


def shown_tile(qtbot: QtBot, store: FrameStore, source: str = PEER) -> VideoTile:
    tile = VideoTile(store, source, "Sam", "partner")
    qtbot.addWidget(tile)
    tile.resize(480, 320)
    tile.show()
    qtbot.waitExposed(tile)
    return tile


def test_a_decoded_frame_becomes_an_rgb32_image_fitted_to_the_tile(qtbot: QtBot) -> None:
    wakeups = Wakeups()
    store = FrameStore(wakeups)
    tile = shown_tile(qtbot, store)
    ratio = tile.devicePixelRatioF()
    store.put(PEER, decoded_frame())
    assert wakeups.sources == [PEER]
    store.put(PEER, decoded_frame())  # the slot is still full: no second wake-up
    assert wakeups.sources == [PEER] and store.replaced == 1
    image = store.take(PEER)
    assert image is not None and store.take(PEER) is None
    assert image.format() == image.Format.Format_RGB32
    assert (image.width(), image.height()) == (int(480 * ratio), int(270 * ratio))
    colour = image.pixelColor(10, 10)
    red, green, blue = colour.red(), colour.green(), colour.blue()
    assert abs(red - 230) <= 8 and abs(green - 140) <= 8 and abs(blue - 30) <= 8


def test_a_tile_paints_the_newest_image(qtbot: QtBot) -> None:
    store = FrameStore(lambda source: None)
    tile = shown_tile(qtbot, store)
    store.put(PEER, decoded_frame())
    tile.take_frame()
    qtbot.waitUntil(lambda: tile.frames_drawn == 1)
    assert tile.status_text == ""


def test_a_hidden_tile_gets_no_conversions_until_it_shows_again(qtbot: QtBot) -> None:
    wakeups = Wakeups()
    store = FrameStore(wakeups)
    tile = shown_tile(qtbot, store)
    store.put(PEER, decoded_frame())
    tile.hide()
    assert store.take(PEER) is None  # the waiting image went with it: stale once shown
    store.put(PEER, decoded_frame())
    store.put(PEER, decoded_frame())
    assert (store.converted, store.skipped) == (1, 2)
    assert wakeups.sources == [PEER]
    tile.show()
    qtbot.waitExposed(tile)
    store.put(PEER, decoded_frame())
    assert store.converted == 2 and store.take(PEER) is not None


def test_a_minimised_window_gets_no_conversions_until_it_is_restored(qtbot: QtBot) -> None:
    """Minimising sends spontaneous hide events (isVisible() stays True), restoring show events."""
    store = FrameStore(lambda source: None)
    window = QWidget()
    qtbot.addWidget(window)
    QVBoxLayout(window).addWidget(VideoTile(store, PEER, "Sam", "partner"))
    window.show()
    qtbot.waitExposed(window)
    assert store.showing(PEER)
    window.showMinimized()
    qtbot.waitUntil(lambda: not store.showing(PEER))
    store.put(PEER, decoded_frame())
    assert (store.converted, store.skipped) == (0, 1)
    window.showNormal()
    qtbot.waitUntil(lambda: store.showing(PEER))
    store.put(PEER, decoded_frame())
    assert store.converted == 1


def test_video_back_on_a_minimised_window_stays_unconverted(qtbot: QtBot) -> None:
    store = FrameStore(lambda source: None)
    window = QWidget()
    qtbot.addWidget(window)
    tile = VideoTile(store, PEER, "Sam", "partner")
    QVBoxLayout(window).addWidget(tile)
    window.show()
    qtbot.waitExposed(window)
    tile.set_voice_only(True)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized)
    tile.set_voice_only(False)  # the link got better while nobody looks
    assert tile.isVisible() and not store.showing(PEER)
    store.put(PEER, decoded_frame())
    assert (store.converted, store.skipped) == (0, 1)


def test_a_voice_only_tile_gets_no_conversions_and_video_back_gets_them_again(
    qtbot: QtBot,
) -> None:
    store = FrameStore(lambda source: None)
    tile = shown_tile(qtbot, store)
    tile.set_voice_only(True)
    store.put(PEER, decoded_frame())
    assert (store.converted, store.skipped) == (0, 1)
    tile.set_voice_only(False)
    store.put(PEER, decoded_frame())
    assert store.converted == 1


def test_forgetting_a_source_keeps_what_its_tile_said_about_showing(qtbot: QtBot) -> None:
    """The self view's tile outlives a call (forget(SELF) at its end): hidden stays hidden."""
    store = FrameStore(lambda source: None)
    tile = shown_tile(qtbot, store, SELF)
    tile.hide()
    store.forget(SELF)
    store.put(SELF, np.full((360, 640, 3), COLOUR_BGR, np.uint8))
    assert (store.converted, store.skipped) == (0, 1)


def test_a_camera_frame_is_converted_at_the_self_view_size_with_its_colours() -> None:
    store = FrameStore(lambda source: None)
    store.set_box(SELF, 224, 126)
    store.put(SELF, np.full((720, 1280, 3), COLOUR_BGR, np.uint8))
    image = store.take(SELF)
    assert image is not None
    assert (image.width(), image.height()) == (224, 126)
    colour = image.pixelColor(100, 60)
    assert (colour.red(), colour.green(), colour.blue()) == (230, 140, 30)


def test_to_image_owns_its_pixels() -> None:
    """The image crosses to the GUI thread while the decoder reuses its buffers: a copy."""
    rows = np.zeros((4, 32), np.uint8)  # 4 rows of 6 pixels and 8 bytes of padding each
    rows[:, :24] = 200
    image = to_image(Pixels(rows, 6))
    rows[:] = 0
    assert (image.width(), image.height()) == (6, 4)
    assert image.pixelColor(5, 3).getRgb() == (200, 200, 200, 255)
