"""What differs when Tandem runs as the installed app (frozen by PyInstaller), not from source.

Two things: how Tandem starts another copy of itself (practice mode's simulated therapist), and
the install folders where a clinic may put its profile (installer/README.md). Qt-free.
"""

from __future__ import annotations

import sys
from pathlib import Path


def is_frozen() -> bool:
    """Whether this is the installed app (PyInstaller sets `sys.frozen`), not the sources."""
    return bool(getattr(sys, "frozen", False))


def tandem_command() -> list[str]:
    """The command line that runs `tandem` itself: the app's own launcher when installed (it has
    no `python -m`), `python -m app` from source."""
    if is_frozen():
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def install_folders() -> tuple[Path, ...]:
    """Where the installed app keeps its files: the launcher's folder (/opt/tandem,
    C:\\Program Files\\Tandem, Tandem.app/Contents/MacOS) and the bundle's data folder
    (`_internal`, or Contents/Frameworks in a .app); nothing when run from source."""
    if not is_frozen():
        return ()
    folders = [Path(sys.executable).resolve().parent]
    bundle = getattr(sys, "_MEIPASS", None)
    if isinstance(bundle, str) and Path(bundle).resolve() not in folders:
        folders.append(Path(bundle).resolve())
    return tuple(folders)
