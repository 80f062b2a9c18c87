"""What every headless command that joins a call shares (`tandem join`, `tandem emergency`,
`tandem oncall`): the camera and microphone options, the sources they name, and the engine
built from them. One place, so a source `tandem join` accepts works the same everywhere. Light
to import (the options are needed to parse a command line); the engine comes in when used.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.call.setup import LOOPBACK_ENV

if TYPE_CHECKING:  # the engine pulls in aiortc: only the commands that call need it
    from app.call.engine import CallEngine
    from app.call.events import CallListener

CAMERA_HELP = (
    "camera index, a video file, 'pattern' for a moving test pattern, or 'none' to send no video"
)
MIC_HELP = "microphone device, 'tone' for a test tone, or 'none' to send no audio"


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--camera SRC and --mic SRC, with the defaults of `tandem join`."""
    parser.add_argument("--camera", metavar="SRC", default="pattern", help=CAMERA_HELP)
    parser.add_argument("--mic", metavar="SRC", default="tone", help=MIC_HELP)


@dataclass(frozen=True)
class HeadlessMedia:
    """The local media of a headless participant, as the command line names it."""

    camera: str = "pattern"
    mic: str = "tone"
    size: tuple[int, int] = (640, 360)
    fps: int = 15


def loopback_wanted(flag: bool) -> bool:
    """--allow-loopback, or TANDEM_ICE_LOOPBACK=1 in the environment."""
    return flag or os.environ.get(LOOPBACK_ENV, "") not in ("", "0")


def media_sources(media: HeadlessMedia) -> dict[str, Any]:
    """CallEngine keyword arguments for the sources named (devices are opened here)."""
    from app.call.audio_tracks import ToneAudioTrack
    from app.call.video_tracks import PatternVideoTrack

    sources: dict[str, Any] = {"camera": None, "microphone": None}
    camera = media.camera.strip()
    if camera == "pattern":
        sources["video_track"] = PatternVideoTrack(media.size, media.fps)
    elif camera.lower() != "none":
        from app.devices.camera import open_camera

        sources["camera"] = open_camera(camera)
    mic = media.mic.strip()
    if mic == "tone":
        sources["audio_track"] = ToneAudioTrack()
    elif mic.lower() != "none":
        from app.devices.audio import SoundDeviceMicrophone

        sources["microphone"] = SoundDeviceMicrophone(int(mic) if mic.isdigit() else mic)
    return sources


def headless_engine(
    server_url: str,
    token: str,
    listener: CallListener,
    media: HeadlessMedia,
    *,
    allow_loopback: bool,
    **options: Any,
) -> CallEngine:
    """A CallEngine that counts remote frames without converting them (nobody looks at them).
    ValueError for a bad server address; `options` go to CallEngine as they are."""
    from app.call.engine import CallEngine

    return CallEngine(
        server_url,
        token,
        listener=listener,
        video_size=media.size,
        fps=media.fps,
        allow_loopback=allow_loopback,
        remote_frames=False,
        **options,
        **media_sources(media),
    )
