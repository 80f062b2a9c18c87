"""`tandem check` from the bundle against `tandem server` from the bundle, as a couple runs it.

The camera is a generated video file through the frozen OpenCV; the microphone is PortAudio's
`pulse` device on a private PulseAudio daemon with a tone playing (tests/lab/pulse.py), through
the PortAudio the bundle carries and the system's ALSA; the bandwidth is measured against the
frozen server. Every check that runs passes, so the verdict is "ready".
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app import __version__
from app.checks.audio_analysis import sine
from tests.bundle.frozen import frozen_env, run_frozen
from tests.lab.health import wait_for_health
from tests.lab.pulse import PulseLab, write_wav

pytestmark = [pytest.mark.bundle, pytest.mark.lab, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def frozen_server(bundle: Path) -> Iterator[str]:
    """`tandem server` from the bundle on 127.0.0.1; its URL."""
    port = free_port()
    env = frozen_env(TANDEM_SECRET=secrets.token_urlsafe(32))
    process = subprocess.Popen(
        [str(bundle / "tandem"), "server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_frozen_check_is_ready_with_a_camera_a_microphone_and_the_frozen_server(
    bundle: Path, frozen_server: str, pulse: PulseLab, video_file: Callable[..., Path]
) -> None:
    # Longer than the whole check (~8 s), at a level the microphone check calls good.
    pulse.play(write_wav(pulse.base / "voice.wav", sine(440.0, 30.0, 48000, -20.0, fade_s=0.0)))
    camera = video_file("pattern", size=(640, 480), fps=30.0, seconds=2.0)
    args = ["check", "--json", "--camera", str(camera), "--mic", "pulse", "--no-speaker"]
    done = run_frozen(bundle, [*args, "--server", frozen_server], env=frozen_env(pulse.env))
    report = json.loads(done.stdout)
    statuses = {name: check["status"] for name, check in report["checks"].items()}
    assert statuses == {
        "camera": "pass",
        "microphone": "pass",
        "speaker": "skipped",
        "bandwidth": "pass",
    }, report
    assert (report["verdict"], done.returncode) == ("ready", 0)
    assert report["app_version"] == __version__
    assert report["server"] == frozen_server
