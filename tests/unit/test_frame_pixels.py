"""Frames to BGRA pixels at a tile's size (app.ui.frame_pixels, Qt-free): the size is the tile's
fit with the frame's aspect ratio, colours and left/right survive the one pass, swscale's padded
rows are described rather than copied, and a tile that changes size mid-stream is followed."""

from __future__ import annotations

import av
import numpy as np
import pytest

from app.ui.frame_pixels import Pixels, Scaler, bgr_to_bgra, fit, halvings, target_size

RED_BGR = (20, 30, 220)
BLUE_BGR = (220, 40, 30)


def split_picture(width: int, height: int) -> np.ndarray:
    """Left half red, right half blue (BGR)."""
    image = np.empty((height, width, 3), np.uint8)
    image[:, : width // 2] = RED_BGR
    image[:, width // 2 :] = BLUE_BGR
    return image


def decoded(image: np.ndarray) -> av.VideoFrame:
    """`image` as a decoder hands it over: YUV 4:2:0."""
    return av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")


def assert_split(pixels: Pixels, tolerance: int) -> None:
    array = pixels.array().astype(int)
    middle = pixels.height // 2
    left, right = array[middle, pixels.width // 8], array[middle, pixels.width * 7 // 8]
    assert np.abs(left - (*RED_BGR, 255)).max() <= tolerance
    assert np.abs(right - (*BLUE_BGR, 255)).max() <= tolerance


def test_a_frame_fits_its_tile_keeping_its_aspect_ratio() -> None:
    assert fit(640, 360, (320, 400)) == (320, 180)
    assert fit(640, 360, (1000, 180)) == (320, 180)
    assert fit(640, 480, (10, 10)) == (10, 8)  # 7.5 rounded, not cut
    assert fit(640, 360, (224, 126)) == (224, 126)  # 125.99999... is the whole tile
    assert fit(1280, 720, (224, 126)) == (224, 126)
    assert fit(640, 360, (1, 1)) == (2, 2)  # never a zero-sized picture


def test_without_a_usable_box_a_frame_keeps_its_own_size() -> None:
    assert target_size(640, 360, None) == (640, 360)
    assert target_size(640, 360, (0, 0)) == (640, 360)  # the tile is not laid out yet
    assert target_size(640, 360, (1, 360)) == (640, 360)
    assert target_size(640, 360, (480, 480)) == (480, 270)


def test_the_width_painted_is_even_as_swscale_is_much_slower_to_an_odd_one() -> None:
    assert fit(640, 360, (520, 292)) == (519, 292)
    assert target_size(640, 360, (520, 292)) == (518, 292)
    assert target_size(641, 361, None) == (640, 361)
    assert target_size(3, 2, None) == (2, 2)


@pytest.mark.parametrize(
    ("source", "size", "steps"),
    [
        ((640, 360), (224, 126), 1),  # 320x180, then linear by 1.43
        ((1280, 720), (224, 126), 2),  # 640x360, 320x180, then linear
        ((640, 360), (320, 180), 1),  # exactly half: no linear step after it
        ((640, 360), (321, 180), 0),  # a half would be too small in width
        ((640, 360), (640, 360), 0),
        ((320, 180), (640, 360), 0),  # growing: straight to linear
    ],
)
def test_a_camera_frame_is_halved_only_while_it_stays_at_least_the_tile(
    source: tuple[int, int], size: tuple[int, int], steps: int
) -> None:
    assert halvings(*source, size) == steps


@pytest.mark.parametrize("source", [(640, 360), (1280, 720), (320, 180), (641, 361)])
def test_a_camera_frame_becomes_bgra_at_the_tile_size_with_its_colours(
    source: tuple[int, int],
) -> None:
    image = bgr_to_bgra(split_picture(*source), (224, 126))
    assert image.shape == (126, 224, 4) and image.dtype == np.uint8
    assert image.flags.c_contiguous
    assert tuple(image[63, 20]) == (*RED_BGR, 255)
    assert tuple(image[63, 200]) == (*BLUE_BGR, 255)


def test_a_camera_frame_through_the_scaler_is_fitted_and_described_without_padding() -> None:
    pixels = Scaler().bgra(split_picture(640, 360), (300, 300))
    assert (pixels.width, pixels.height, pixels.stride) == (300, 169, 1200)
    assert_split(pixels, tolerance=0)


def test_decoded_video_is_one_pass_to_the_tile_with_swscale_padding_kept_as_is() -> None:
    scaler = Scaler()
    pixels = scaler.bgra(decoded(split_picture(640, 360)), (222, 200))
    assert (pixels.width, pixels.height) == (222, 125)
    assert pixels.stride >= 4 * pixels.width and pixels.stride % 4 == 0
    assert pixels.rows.flags.c_contiguous  # a QImage can take the rows as they are
    assert pixels.array().shape == (125, 222, 4)
    assert_split(pixels, tolerance=8)  # YUV 4:2:0 and back: close, not exact


def test_the_scaler_follows_a_tile_that_changes_size_and_a_stream_that_changes_size() -> None:
    scaler = Scaler()
    for source, box, expected in [
        ((640, 360), (320, 180), (320, 180)),
        ((640, 360), (480, 480), (480, 270)),  # the window was resized
        ((320, 180), (480, 480), (480, 270)),  # the sender went down a rung: scaled up
        ((320, 180), None, (320, 180)),
    ]:
        pixels = scaler.bgra(decoded(split_picture(*source)), box)
        assert (pixels.width, pixels.height) == expected
        assert_split(pixels, tolerance=8)
