"""ALSA's own messages stay off stderr once `quiet_alsa` ran (item 13 of issue 10). A real
libasound is asked to open a PCM that does not exist, which makes it print by itself."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from app.devices import alsa_quiet


def _open_a_missing_pcm() -> int:
    library = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    handle = ctypes.c_void_p()
    result: int = library.snd_pcm_open(ctypes.byref(handle), b"no_such_tandem_pcm", 0, 0)
    if result == 0:
        library.snd_pcm_close(handle)
    return result


@pytest.mark.skipif(ctypes.util.find_library("asound") is None, reason="no ALSA here")
def test_alsa_prints_nothing_once_quieted(capfd: pytest.CaptureFixture[str]) -> None:
    assert alsa_quiet.quiet_alsa()
    before = alsa_quiet.messages_hidden
    assert _open_a_missing_pcm() < 0
    assert capfd.readouterr().err == ""
    assert alsa_quiet.messages_hidden > before  # ALSA did speak; the handler took it
    assert alsa_quiet.quiet_alsa()  # a second call keeps the same handler
