"""A camera source for the app (item 11 of issue 10): `tandem gui --camera`, the profile's
`[devices] camera`, listed first among the cameras and opened through OpenCV's real path."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np
import pytest

from app import cli
from app.commands import gui
from app.devices.base import DeviceInfo
from app.devices.camera_source import camera_source_name, with_camera_source
from app.profile import salvage_profile
from app.ui.services import SystemDevices

FOUND = [DeviceInfo("0", "Integrated Camera"), DeviceInfo("1", "USB Camera")]


def test_a_file_or_url_is_listed_first_by_a_name_a_person_knows() -> None:
    listed = with_camera_source(FOUND, "/home/sam/demo clip.mp4")
    assert listed[0] == DeviceInfo("/home/sam/demo clip.mp4", "Video file (demo clip.mp4)")
    assert listed[1:] == FOUND
    url = "rtsp://sam:secret@camera.local:8554/stream"
    network = DeviceInfo(url, "Network camera (camera.local:8554)")
    assert with_camera_source(FOUND, url)[0] == network
    assert "secret" not in camera_source_name(url)  # a password in the URL is never shown
    assert with_camera_source(FOUND, "1") == [FOUND[1], FOUND[0]]  # an index: that camera first
    assert with_camera_source(FOUND, None) == FOUND


@pytest.mark.parametrize(
    ("toml", "source"),
    [
        ('[devices]\ncamera = "rtsp://camera.local/stream"\n', "rtsp://camera.local/stream"),
        ("[devices]\ncamera = 2\n", "2"),
        ("", None),
    ],
)
def test_the_profile_can_name_a_camera(toml: str, source: str | None) -> None:
    profile = salvage_profile(tomllib.loads(toml))
    assert profile.camera_source == source and profile.problems == ()


def test_a_bad_camera_setting_is_named_and_left_out() -> None:
    profile = salvage_profile(tomllib.loads('[devices]\ncamera = ""\n'))
    (problem,) = profile.problems
    assert problem.setting == "devices.camera" and "camera source" in problem.plain
    assert profile.camera_source is None


def test_tandem_gui_takes_a_camera_and_hands_it_to_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Path | None, bool, str | None]] = []

    def run_app(profile_path: Path | None, force_practice: bool, camera: str | None) -> int:
        seen.append((profile_path, force_practice, camera))
        return 0

    import app.ui.main

    monkeypatch.setattr(app.ui.main, "run_app", run_app)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["gui", "--camera", "demo.mp4"]) == 0
    assert cli.main(["--camera", "rtsp://cam/s", "--practice"]) == 0  # `tandem` alone is the app
    assert cli.main_gui(["--camera", "3"]) == 0
    assert [camera for _, _, camera in seen] == ["demo.mp4", "rtsp://cam/s", "3"]
    parsed = cli.build_gui_parser().parse_args(["--camera", "x.avi"])
    assert isinstance(parsed, argparse.Namespace) and parsed.camera == "x.avi"
    assert gui.HELP


def test_the_app_opens_a_video_file_as_its_camera(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cv2

    import app.devices.camera

    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15, (160, 120))
    assert writer.isOpened()
    for i in range(5):
        writer.write(np.full((120, 160, 3), 40 * i, np.uint8))
    writer.release()
    monkeypatch.setattr(app.devices.camera, "list_cameras", lambda: [])  # no webcam here
    devices = SystemDevices(camera_source=str(path))
    (listed,) = devices.list_cameras()
    assert listed.name == "Video file (camera.avi)"
    camera = devices.camera(listed.id)
    camera.open(timeout=5.0)
    try:
        frame = camera.read(timeout=2.0)
    finally:
        camera.close()
    assert frame.shape[:2] == (120, 160)
