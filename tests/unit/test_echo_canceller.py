"""Echo cancellation on a simulated room: the speakers' echo goes, the near-end voice stays."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from app.call import echo_canceller
from app.call.echo_canceller import EchoCanceller, RenderMix
from tests.echo_signals import RATE, cancel, level_db, room_echo, speech_like

CONVERGED_S = 3  # AEC3 settles within a second or two; measure after this


def test_removes_at_least_20_db_of_a_delayed_coloured_echo() -> None:
    far = speech_like(8, 130, seed=1)
    echo = room_echo(far, delay_s=0.06, gain=0.5)
    canceller = EchoCanceller()
    assert canceller.active
    out = cancel(canceller, far, echo)
    tail = slice(CONVERGED_S * RATE, None)
    erle = level_db(echo[tail]) - level_db(out[tail])
    assert erle >= 20.0, f"ERLE {erle:.1f} dB"


def test_near_end_voice_passes_during_double_talk() -> None:
    far = speech_like(8, 130, seed=1)
    echo = room_echo(far, delay_s=0.06, gain=0.5)
    near = np.zeros_like(far)
    near[5 * RATE :] = speech_like(3, 210, seed=2)  # the couple starts talking once converged
    out = cancel(EchoCanceller(), far, echo + near)
    talk = slice(5 * RATE + RATE // 2, None)
    drop = level_db(near[talk]) - level_db(out[talk])
    assert drop < 4.0, f"near-end voice dropped {drop:.1f} dB"
    # and what passed is the voice, not echo: the echo alone leaves far less behind
    residual = cancel(EchoCanceller(), far, echo)
    assert level_db(out[talk]) - level_db(residual[talk]) >= 15.0


def test_disabled_passes_audio_unchanged() -> None:
    block = speech_like(0.02, 150, seed=3)
    canceller = EchoCanceller(enabled=False)
    canceller.process_render(block, RATE)
    assert not canceller.active
    assert canceller.process_capture(block, RATE) is block


def test_missing_module_passes_through_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(echo_canceller, "_load_apm", lambda: "the livekit package is not installed")
    caplog.set_level(logging.INFO, "app.call.echo_canceller")
    canceller = EchoCanceller()
    block = speech_like(0.02, 150, seed=3)
    assert canceller.process_capture(block, RATE) is block
    EchoCanceller()._pass_through("again")  # another canceller may say it again; one may not
    canceller._pass_through("again")
    said = [r for r in caplog.records if r.name == "app.call.echo_canceller"]
    assert [r.levelname for r in said] == ["INFO", "INFO"]
    assert "not installed" in said[0].getMessage()


def test_a_module_that_cannot_start_passes_through(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import livekit.rtc

    def broken(**_: object) -> None:
        raise OSError("liblivekit_ffi.so: cannot open shared object file")

    monkeypatch.setattr(livekit.rtc, "AudioProcessingModule", broken)
    caplog.set_level(logging.INFO, "app.call.echo_canceller")
    canceller = EchoCanceller()
    assert not canceller.active
    block = speech_like(0.02, 150, seed=3)
    canceller.process_render(block, RATE)
    assert canceller.process_capture(block, RATE) is block
    assert "could not start: OSError" in caplog.text


def test_unsupported_rate_and_partial_frames_pass_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "app.call.echo_canceller")
    canceller = EchoCanceller()
    odd_rate = np.full(882, 0.1, np.float32)
    assert canceller.process_capture(odd_rate, 44_100) is odd_rate
    assert canceller.process_capture(odd_rate, 44_100) is odd_rate
    partial = np.full(500, 0.1, np.float32)
    assert canceller.process_capture(partial, RATE) is partial
    assert sum("44100 Hz" in r.getMessage() for r in caplog.records) == 1


def test_two_remote_voices_are_one_reference() -> None:
    """Two people on the speakers at once (two sinks): the echo of their sum is cancelled."""
    first = speech_like(8, 130, seed=1)
    second = speech_like(8, 190, seed=4) * np.float32(0.7)
    echo = room_echo(first + second, delay_s=0.05, gain=0.5)
    canceller = EchoCanceller()
    out = np.zeros_like(echo)
    odd = 1017  # a resampler's block size: not a whole number of 10 ms frames
    fed = 0
    for start in range(0, echo.size - 960 + 1, 960):
        canceller.process_render(first[start : start + 960], RATE, source="therapist")
        while fed < start + 960:
            canceller.process_render(second[fed : fed + odd], RATE, source="partner")
            fed += odd
        out[start : start + 960] = canceller.process_capture(echo[start : start + 960], RATE)
    tail = slice(CONVERGED_S * RATE, None)
    assert level_db(echo[tail]) - level_db(out[tail]) >= 20.0


def test_render_mix_sums_aligned_voices_and_pads_a_silent_one() -> None:
    mix = RenderMix(max_lag_s=0.02)
    assert mix.add("a", np.full(300, 0.1, np.float32), 48_000) == []  # not 10 ms yet
    (other_rate,) = mix.add("c", np.full(160, 0.4, np.float32), 16_000)  # not in 48 kHz mixes
    np.testing.assert_allclose(other_rate, 0.4)
    assert mix.add("b", np.full(500, 0.2, np.float32), 48_000) == []  # "a" has less than 10 ms
    (frame,) = mix.add("a", np.full(300, 0.1, np.float32), 48_000)
    np.testing.assert_allclose(frame, 0.3)  # both voices, aligned
    # "a" goes quiet: once "b" is 20 ms ahead, a frame goes on without waiting for "a"
    (padded,) = mix.add("b", np.full(960, 0.2, np.float32), 48_000)
    np.testing.assert_allclose(padded[:120], 0.3)  # what "a" still had, then silence
    np.testing.assert_allclose(padded[120:], 0.2)
    mix.end("b")
    (alone,) = mix.add("a", np.full(480, 0.5, np.float32), 48_000)
    np.testing.assert_allclose(alone, 0.5)
