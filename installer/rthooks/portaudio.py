"""Runtime hook: sounddevice finds the PortAudio inside the bundle.

sounddevice asks `ctypes.util.find_library("portaudio")`, which on Linux only looks at the
system's library cache, so without this a computer lacking libportaudio2 would have no sound even
though the bundle carries the library. Runs before any of Tandem's code is imported.
"""

import ctypes.util
import glob
import os
import sys


def _bundled_portaudio() -> str | None:
    found = sorted(glob.glob(os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so*")))
    return found[0] if found else None


_bundled = _bundled_portaudio() if sys.platform.startswith("linux") else None
if _bundled is not None:
    _system_find_library = ctypes.util.find_library

    def _find_library(name: str) -> str | None:
        return _bundled if name == "portaudio" else _system_find_library(name)

    ctypes.util.find_library = _find_library
