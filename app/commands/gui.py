"""`tandem gui`: open the desktop app (the default when no command is given)."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "open the desktop app (default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--practice",
        action="store_true",
        help="practice mode even if a clinic profile exists (a local server on this computer)",
    )
    parser.add_argument(
        "--camera",
        metavar="SRC",
        default=None,
        help="camera index, or a video file or URL (a network camera), listed first among the "
        "cameras (default: the clinic profile's [devices] camera, else the cameras found)",
    )


NO_DISPLAY_MESSAGE = (
    "tandem: there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset).\n"
    "Run the equipment check on the command line instead: tandem check\n"
    "(To run the window without a screen, for testing: QT_QPA_PLATFORM=offscreen tandem)"
)


def display_available(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether Qt can open a window here; without one Qt aborts the process, so ask first."""
    if not sys.platform.startswith("linux"):
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run(args: argparse.Namespace) -> int:
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    from app.devices.alsa_quiet import quiet_alsa
    from app.ui.main import run_app

    quiet_alsa()  # ALSA's own lines ("underrun occurred") are not for the person at the window
    return run_app(
        profile_path=args.profile,
        force_practice=args.practice,
        camera=getattr(args, "camera", None),
    )
