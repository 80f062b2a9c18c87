"""Microphone and speaker checks on fake devices and sine waves (no devices, milliseconds)."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest

from app.call.echo_canceller import echo_cancellation_available
from app.checks.audio_analysis import (
    SILENCE_DBFS,
    as_mono,
    detect_tone,
    level_stats,
    sine,
    to_dbfs,
)
from app.checks.microphone import QUIET_LEVEL_DBFS, check_microphone
from app.checks.result import CheckResult, Status
from app.checks.speaker import (
    TONE_HZ,
    _Listener,
    check_speaker,
    confirm_heard,
    needs_confirmation,
)
from app.devices.base import AudioBlock, DeviceError, DeviceProblem
from app.devices.fakes import FakeMicrophone, FakeSpeaker, MicMode
from app.progress import Progress

JARGON = ("dbfs", "portaudio", "device", "error", "sample", "hz", "clipping", "exception")


def assert_plain(words: str) -> None:
    for jargon in JARGON:
        assert jargon not in words.lower(), f"{jargon!r} in {words!r}"


def mic(mode: MicMode = "tone", **options: object) -> FakeMicrophone:
    return FakeMicrophone(mode, realtime=False, **options)  # type: ignore[arg-type]


# --- numeric helpers ---------------------------------------------------------------------------


def test_sine_level_and_full_scale() -> None:
    samples = sine(440.0, 1.0, 48000, level_dbfs=-9.0, fade_s=0.0)
    assert level_stats(samples, 48000).level_dbfs == pytest.approx(-9.0, abs=0.05)
    full = sine(440.0, 1.0, 48000, level_dbfs=-3.0103, fade_s=0.0)
    assert float(np.abs(full).max()) == pytest.approx(1.0, abs=1e-3)


def test_silence_is_floored_not_minus_infinity() -> None:
    stats = level_stats(np.zeros(4800, np.float32), 48000)
    assert stats.level_dbfs == stats.peak_dbfs == stats.noise_floor_dbfs == SILENCE_DBFS
    assert to_dbfs(float("nan")) == SILENCE_DBFS


def test_nan_and_infinite_samples_are_counted_and_ignored() -> None:
    samples = sine(440.0, 0.1, 48000, -20.0)
    samples[:48] = np.nan
    samples[48:96] = np.inf
    stats = level_stats(samples, 48000)
    assert stats.invalid_ratio == pytest.approx(96 / samples.size)
    assert math.isfinite(stats.level_dbfs) and stats.peak_dbfs < 0


@pytest.mark.parametrize(
    "bad", [np.zeros(0), np.zeros((0, 2)), np.zeros((4, 0)), np.zeros((2, 2, 2))]
)
def test_malformed_audio_is_rejected(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        level_stats(bad, 48000)


def test_stereo_is_mixed_to_mono() -> None:
    stereo = np.stack([np.ones(10), -np.ones(10)], axis=1)
    mono, invalid = as_mono(stereo)
    assert invalid == 0 and mono.shape == (10,) and not mono.any()


def test_tone_detection_finds_a_quiet_tone_in_noise() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 10 ** (-30 / 20), 48000).astype(np.float32)
    tone = sine(TONE_HZ, 1.0, 48000, -40.0)
    found = detect_tone(noise + tone, 48000, TONE_HZ)
    assert found.heard and found.tone_level_dbfs == pytest.approx(-40.0, abs=1.5)
    assert not detect_tone(noise, 48000, TONE_HZ).heard


def test_tone_detection_ignores_other_frequencies_and_short_blips() -> None:
    assert not detect_tone(sine(440.0, 1.0, 48000, -10.0), 48000, TONE_HZ).heard
    blip = np.concatenate([sine(TONE_HZ, 0.15, 48000, -10.0), np.zeros(48000, np.float32)])
    assert not detect_tone(blip, 48000, TONE_HZ).heard
    assert not detect_tone(np.zeros(100, np.float32), 48000, TONE_HZ).heard


# --- microphone check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "level", "status", "words"),
    [
        ("tone", -20.0, Status.PASS, ""),
        ("noise", -30.0, Status.PASS, ""),
        ("silence", -20.0, Status.FAIL, "could not hear you"),
        ("clipping", -20.0, Status.WARN, "too loud"),
        ("tone", QUIET_LEVEL_DBFS - 5, Status.WARN, "very quiet"),
    ],
)
def test_microphone_verdicts(mode: MicMode, level: float, status: Status, words: str) -> None:
    result = check_microphone(mic(mode, level_dbfs=level), duration_s=0.5)
    assert result.status is status and words in result.reason
    assert_plain(result.reason + " " + result.fix)
    assert result.metrics["samplerate"] == 48000
    assert set(result.metrics) >= {
        "level_dbfs",
        "peak_dbfs",
        "clipping_ratio",
        "noise_floor_dbfs",
    }


def test_microphone_metrics_of_a_tone() -> None:
    result = check_microphone(mic("tone", level_dbfs=-20.0), duration_s=0.5)
    assert result.metrics["level_dbfs"] == pytest.approx(-20.0, abs=0.1)
    assert result.metrics["peak_dbfs"] == pytest.approx(-17.0, abs=0.1)
    assert result.metrics["clipping_ratio"] == 0.0
    clipped = check_microphone(mic("clipping"), duration_s=0.5)
    assert float(clipped.metrics["clipping_ratio"]) > 0.5  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        (DeviceProblem.NOT_FOUND, "could not find a microphone"),
        (DeviceProblem.NO_AUDIO_SYSTEM, "sound system"),
        (DeviceProblem.BUSY, "Another program"),
        (DeviceProblem.PERMISSION, "not allowed"),
        (DeviceProblem.TIMEOUT, "did not respond"),
        (DeviceProblem.FAILED, "not working"),
    ],
)
def test_microphone_device_problems(problem: DeviceProblem, words: str) -> None:
    result = check_microphone(mic(fail=problem))
    assert result.status is Status.FAIL and words in result.reason and result.fix
    assert_plain(result.reason + " " + result.fix)


class RecordingOf:
    """A microphone returning a fixed recording, for malformed input."""

    samplerate = 48000

    def __init__(self, samples: AudioBlock) -> None:
        self.samples = samples

    def record(self, seconds: float) -> AudioBlock:
        return self.samples

    def start(self, on_block: object, blocksize: int = 960) -> object:
        raise DeviceError(DeviceProblem.FAILED, "not used")


@pytest.mark.parametrize(
    "samples",
    [
        np.zeros(0, np.float32),
        np.full(4800, np.nan, np.float32),
        np.zeros((4, 4, 4), np.float32),
    ],
)
def test_malformed_recordings_fail_in_plain_words(samples: AudioBlock) -> None:
    result = check_microphone(RecordingOf(samples))  # type: ignore[arg-type]
    assert result.status is Status.FAIL and "not working" in result.reason


def test_microphone_progress() -> None:
    reports: list[Progress] = []
    check_microphone(mic(), duration_s=0.2, progress=reports.append)
    assert [r.fraction for r in reports] == [0.0, 1.0]
    assert reports[-1].figure.endswith("dB")


def test_fake_microphone_stream_delivers_blocks() -> None:
    enough = threading.Event()
    blocks: list[AudioBlock] = []

    def on_block(block: AudioBlock) -> None:
        blocks.append(block)
        if len(blocks) >= 3:
            enough.set()

    stream = mic().start(on_block, blocksize=480)
    try:
        assert enough.wait(timeout=5.0)
    finally:
        stream.stop()
    assert blocks[0].shape == (480,) and blocks[0].dtype == np.float32


def test_missing_portaudio_is_a_plain_failure_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.devices import audio

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # importing it now fails
    result = check_microphone(audio.SoundDeviceMicrophone())
    assert result.status is Status.FAIL and "sound system" in result.reason
    with pytest.raises(DeviceError) as raised:
        audio.list_outputs()
    assert raised.value.problem is DeviceProblem.NO_AUDIO_SYSTEM


# --- speaker check -----------------------------------------------------------------------------


def test_echo_heard_without_echo_cancellation_warns_about_headphones() -> None:
    microphone = mic("noise", level_dbfs=-45.0)
    speaker = FakeSpeaker(echo_into=microphone, realtime=False)
    result = check_speaker(speaker, microphone, echo_cancelled=lambda: False)
    assert result.status is Status.WARN
    assert "echo" in result.reason and "headphones" in result.fix
    assert result.metrics["tone_heard"] is True
    assert result.metrics["echo_cancellation"] is False
    assert result.metrics["tone_level_dbfs"] == pytest.approx(-12.0 - 10.5, abs=1.0)
    assert len(speaker.played) == 1
    assert_plain(result.reason + " " + result.fix)


def test_echo_heard_passes_when_the_call_cancels_it() -> None:
    microphone = mic("noise", level_dbfs=-45.0)
    speaker = FakeSpeaker(echo_into=microphone, realtime=False)
    result = check_speaker(speaker, microphone, echo_cancelled=lambda: True)
    assert result.status is Status.PASS
    assert "removes that echo" in result.reason and "Headphones" in result.fix
    assert result.metrics["echo_cancellation"] is True
    assert_plain(result.reason + " " + result.fix)


def test_echo_cancellation_is_available_here() -> None:
    # livekit is a dependency: a check on this computer says echo is handled.
    assert echo_cancellation_available()


def assert_unconfirmed(result: CheckResult) -> None:
    """Nothing proved the tone was heard: a warning in plain words, never a plain pass."""
    assert result.status is Status.WARN
    assert result.reason == "We played a test tone but could not confirm you heard it"
    assert "volume" in result.fix and "headphones" in result.fix
    assert_plain(result.reason + " " + result.fix)
    assert needs_confirmation(result)


def test_tone_not_heard_is_not_a_pass() -> None:
    microphone = mic("noise", level_dbfs=-45.0)
    result = check_speaker(FakeSpeaker(realtime=False), microphone)
    assert_unconfirmed(result)
    assert result.metrics["tone_heard"] is False


def test_without_a_microphone_the_speaker_check_only_plays() -> None:
    speaker = FakeSpeaker(realtime=False)
    result = check_speaker(speaker, None)
    assert_unconfirmed(result)
    assert result.metrics["tone_heard"] is None
    played = speaker.played[0]
    assert played.size == 48000 and detect_tone(played, 48000, TONE_HZ).heard


def test_a_broken_microphone_does_not_fail_the_speaker() -> None:
    result = check_speaker(FakeSpeaker(realtime=False), mic(fail=DeviceProblem.BUSY))
    assert_unconfirmed(result)
    assert result.metrics["listen_problem"] == "busy"


def test_a_tone_the_microphone_heard_needs_no_question() -> None:
    microphone = mic("noise", level_dbfs=-45.0)
    result = check_speaker(FakeSpeaker(echo_into=microphone, realtime=False), microphone)
    assert result.metrics["confirmed_by"] == "microphone"
    assert not needs_confirmation(result)


def test_the_person_hearing_the_tone_turns_it_into_a_pass() -> None:
    result = confirm_heard(check_speaker(FakeSpeaker(realtime=False), None), heard=True)
    assert result.status is Status.PASS and result.reason == "" and result.fix == ""
    assert result.metrics["confirmed_by"] == "person" and result.metrics["person_heard"] is True
    assert result.metrics["tone_hz"] == TONE_HZ  # the measured figures stay
    assert not needs_confirmation(result)


def test_the_person_not_hearing_the_tone_is_a_fail_with_a_fix() -> None:
    result = confirm_heard(check_speaker(FakeSpeaker(realtime=False), None), heard=False)
    assert result.status is Status.FAIL and result.reason
    for words in ("volume", "speakers or headphones", "plugged in"):
        assert words in result.fix
    assert_plain(result.reason + " " + result.fix)
    assert result.metrics["person_heard"] is False
    assert not needs_confirmation(result)


class _CountingMicrophone(FakeMicrophone):
    def __init__(self) -> None:
        super().__init__("silence", realtime=False)
        self.recordings = 0

    def record(self, seconds: float) -> AudioBlock:
        self.recordings += 1
        return super().record(seconds)


def test_the_listener_records_only_once_started() -> None:
    microphone = _CountingMicrophone()
    listener = _Listener(microphone, 0.1)
    assert not listener.join()  # nothing runs until start(): no device was opened
    assert microphone.recordings == 0
    listener.start()
    assert listener.join()
    assert microphone.recordings == 1 and listener.samples is not None


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        (DeviceProblem.NOT_FOUND, "could not find speakers"),
        (DeviceProblem.NO_AUDIO_SYSTEM, "sound system"),
        (DeviceProblem.TIMEOUT, "did not respond"),
        (DeviceProblem.FAILED, "could not play sound"),
    ],
)
def test_speaker_device_problems(problem: DeviceProblem, words: str) -> None:
    microphone = mic("silence")
    speaker = FakeSpeaker(fail=problem, echo_into=microphone, realtime=False)
    result = check_speaker(speaker, microphone)
    assert result.status is Status.FAIL and words in result.reason and result.fix
    assert_plain(result.reason + " " + result.fix)
