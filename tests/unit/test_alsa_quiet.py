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


@pytest.mark.parametrize("command", ["join", "emergency", "oncall"])
def test_headless_commands_quiet_alsa_first(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Their stdout is JSON lines for programs; ALSA's lines on stderr beside them would read as
    errors. Quieted before anything else, so even a refused start is quiet."""
    from app.cli import COMMANDS, build_parser

    calls: list[str] = []

    def quiet() -> bool:
        calls.append(command)
        return True

    monkeypatch.setattr(alsa_quiet, "quiet_alsa", quiet)
    monkeypatch.delenv("TANDEM_JOIN_TOKEN", raising=False)
    headless = [] if command == "emergency" else ["--headless"]
    args = build_parser().parse_args([command, *headless, "--server", "http://127.0.0.1:9"])
    assert COMMANDS[command].run(args) == 2  # no token: refused before any network
    assert calls == [command]
    assert "token" in capsys.readouterr().err
