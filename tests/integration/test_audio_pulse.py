"""The real SoundDeviceMicrophone and SoundDeviceSpeaker through PortAudio and a virtual PulseAudio.

Each check runs in a child process started with the private daemon's environment, because
PortAudio reads the sound server once per process (tests/lab/pulse.py).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.checks.audio_analysis import sine
from tests.lab.pulse import PulseLab, write_wav

pytestmark = pytest.mark.lab


def test_microphone_hears_a_tone_at_its_level(pulse: PulseLab) -> None:
    tone = write_wav(pulse.base / "tone.wav", sine(440.0, 10.0, 48000, -9.0, fade_s=0.0))
    pulse.play(tone)
    result = pulse.run_check("microphone")
    assert result["status"] == "pass", result
    metrics = result["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["level_dbfs"] == pytest.approx(-9.0, abs=1.0)
    assert metrics["clipping_ratio"] == 0.0


def test_silence_fails_as_muted(pulse: PulseLab) -> None:
    result = pulse.run_check("microphone")
    assert result["status"] == "fail"
    assert "could not hear you" in str(result["reason"])


def test_speaker_heard_by_the_microphone_passes_as_echo_the_call_removes(
    pulse: PulseLab,
) -> None:
    result = pulse.run_check("speaker")
    assert result["status"] == "pass", result  # the call cancels echo (livekit is installed)
    assert "removes that echo" in str(result["reason"]) and "Headphones" in str(result["fix"])
    metrics = result["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["tone_heard"] is True
    assert metrics["echo_cancellation"] is True
    assert metrics["tone_level_dbfs"] == pytest.approx(-12.0, abs=3.0)


def test_without_a_sound_server_the_microphone_is_not_found() -> None:
    """No PulseAudio and no sound card: a plain failure, not a crash or a hang."""
    code = (
        "import json; from app.checks.microphone import check_microphone;"
        "from app.devices.audio import SoundDeviceMicrophone;"
        "print(json.dumps(check_microphone(SoundDeviceMicrophone()).to_json()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "PULSE_SERVER": "unix:/nonexistent/native", "HOME": "/"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert '"status": "fail"' in done.stdout
    # Without libportaudio2 the same situation reads as "the sound system is not working".
    assert "could not find a microphone" in done.stdout or "sound system" in done.stdout


def test_a_calls_audio_stream_plays_without_gaps_into_the_speaker(pulse: PulseLab) -> None:
    """The streaming output a call uses: 20 ms blocks written back to back reach the mic at the
    tone's level (gaps between blocks would pull the level well below it)."""
    result = pulse.run_check("stream")
    assert result["level_dbfs"] == pytest.approx(-12.0, abs=2.0), result
