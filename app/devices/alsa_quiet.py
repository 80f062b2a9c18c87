"""Keep ALSA's own messages off stderr.

alsa-lib prints to stderr by itself ("ALSA lib pcm.c:8545:(snd_pcm_recover) underrun
occurred", "Unknown PCM cards.pcm.rear") whenever PortAudio probes devices or a stream
underruns. Those lines mean nothing to a person, interleave with `tandem check`'s output and
look like errors. The audio checks already judge what matters (silence, a device that fails), so
ALSA's error handler is replaced, process-wide, by one that only counts (`messages_hidden`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
# The variadic tail is never read, so a fixed signature is safe to hand to C.
_HANDLER_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
messages_hidden = 0
_installed: object | None = None  # the C callback must outlive every call ALSA makes


def _count(file: bytes, line: int, function: bytes, err: int, fmt: bytes) -> None:
    global messages_hidden
    messages_hidden += 1


def quiet_alsa() -> bool:
    """Install the quiet handler once; False where there is no ALSA (other systems)."""
    global _installed
    if _installed is not None:
        return True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("asound")
    if name is None:
        return False
    try:
        library = ctypes.CDLL(name)
        handler = _HANDLER_TYPE(_count)
        library.snd_lib_error_set_handler(handler)
    except (OSError, AttributeError) as exc:
        log.debug("ALSA's messages stay on stderr: %s", exc)
        return False
    _installed = handler
    return True
