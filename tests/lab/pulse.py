"""A private PulseAudio daemon with a virtual microphone, and a child that runs audio checks.

The daemon has its own HOME and XDG_RUNTIME_DIR under a temporary folder. A null sink
("tandem_sink") is the virtual speaker; a remap source on its monitor ("tandem_mic") is an exact
virtual microphone: whatever is played into the sink is what the microphone records.

PortAudio reads the sound server once, when it is initialised, so the checks run in a child
process started with this daemon's environment (`python -m tests.lab.pulse CHECK`), which prints
the CheckResult as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

SINK = "tandem_sink"
SOURCE = "tandem_mic"
START_TIMEOUT_S = 10.0
CHILD_TIMEOUT_S = 30.0
REPO_ROOT = Path(__file__).resolve().parents[2]


class PulseLab:
    """One PulseAudio daemon for a test; `close()` stops it and everything it played."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.runtime = base / "runtime"
        self.home = base / "home"
        for folder in (self.runtime, self.home):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self.socket = self.runtime / "native"
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.runtime / "pulse"),
        }
        self.env.pop("PULSE_SINK", None)
        self.env.pop("PULSE_SOURCE", None)
        self._players: list[subprocess.Popen[bytes]] = []
        script = base / "tandem.pa"
        script.write_text(
            f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n"
            f"load-module module-null-sink sink_name={SINK} rate=48000 channels=1\n"
            f"load-module module-remap-source source_name={SOURCE} master={SINK}.monitor\n"
            f"set-default-sink {SINK}\n"
            f"set-default-source {SOURCE}\n"
        )
        self.log_path = base / "pulseaudio.log"
        self._log = self.log_path.open("wb")
        self.daemon = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                "--system=no",
                "-n",
                "-F",
                str(script),
                "--log-target=stderr",
            ],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {self.log_path.read_text()[-2000:]}")
            if SOURCE in self.pactl("list", "short", "sources", check=False):
                return
            time.sleep(0.05)  # polling a condition with a deadline, not a synchronisation sleep
        raise RuntimeError(f"pulseaudio not ready: {self.log_path.read_text()[-2000:]}")

    def pactl(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=5, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr}")
        return done.stdout

    def play(self, wav: Path) -> subprocess.Popen[bytes]:
        """Start playing `wav` into the virtual sink; returns once the sound is flowing."""
        before = self.pactl("list", "short", "sink-inputs").count("\n")
        player = subprocess.Popen(
            ["paplay", f"--device={SINK}", str(wav)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._players.append(player)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.pactl("list", "short", "sink-inputs").count("\n") <= before:
            if time.monotonic() > deadline or player.poll() is not None:
                raise RuntimeError("paplay did not start playing")
            time.sleep(0.02)  # polling a condition with a deadline
        return player

    def run_check(self, check: str, *args: str) -> dict[str, object]:
        """Run `python -m tests.lab.pulse CHECK ARGS…` with this daemon's environment."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.lab.pulse", check, *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"child check failed ({done.returncode}): {done.stderr[-3000:]}")
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def close(self) -> None:
        for player in self._players:
            player.kill()
            player.wait(timeout=5)
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait(timeout=5)
        self._log.close()


def write_wav(path: Path, samples: np.ndarray, samplerate: int = 48000) -> Path:
    """Write float samples in [-1, 1] as a mono 16-bit WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(samplerate)
        out.writeframes(pcm.tobytes())
    return path


def _child(argv: list[str]) -> int:
    """Child side: run one check against PortAudio's "pulse" device and print it as JSON."""
    from app.checks.microphone import check_microphone
    from app.checks.speaker import check_speaker
    from app.devices.audio import SoundDeviceMicrophone, SoundDeviceSpeaker, list_inputs

    check = argv[0]
    device = argv[1] if len(argv) > 1 else "pulse"
    if check == "microphone":
        result = check_microphone(SoundDeviceMicrophone(device), duration_s=1.0)
    elif check == "speaker":
        result = check_speaker(SoundDeviceSpeaker(device), SoundDeviceMicrophone(device))
    elif check == "stream":
        # A call's remote audio: 20 ms blocks through one continuous stream, heard by the mic.
        from app.checks.audio_analysis import sine

        speaker = SoundDeviceSpeaker(device)
        stream = speaker.start_stream(max_latency_s=2.0)
        tone = sine(1000.0, 1.5, speaker.samplerate, -12.0)
        for start in range(0, tone.size, 960):
            stream.write(tone[start : start + 960])
        heard = SoundDeviceMicrophone(device).record(1.0)
        stream.stop()
        level = float(20 * np.log10(max(float(np.sqrt(np.mean(heard**2))), 1e-9)))
        print(json.dumps({"name": "stream", "level_dbfs": level}))
        return 0
    elif check == "list":
        print(json.dumps({"inputs": [info.name for info in list_inputs()]}))
        return 0
    else:
        print(f"unknown check {check}", file=sys.stderr)
        return 2
    print(json.dumps({"name": result.name, **result.to_json()}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
