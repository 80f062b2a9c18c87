"""Echo cancellation through a real sound path: PortAudio, a PulseAudio virtual speaker, a
delayed and attenuated loopback (the room), and a virtual microphone (tests/lab/echo_room.py).

Far-end speech plays on the speaker; the microphone hears it 60 ms later at about -10 dB.
Once converged the canceller must remove at least 20 dB of it (ERLE), and when the near end
talks over it its voice must come through nearly whole (less than 6 dB quieter; 1-4 dB here).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.lab.echo_room import make_room
from tests.lab.pulse import REPO_ROOT, PulseLab

pytestmark = pytest.mark.lab

SECONDS = 12.0
NEAR_FROM_S = 9.0  # echo only before this (converging, then measured), double talk after
CHILD_TIMEOUT_S = 60.0


def test_echo_is_cancelled_by_20_db_and_the_near_voice_passes(pulse: PulseLab) -> None:
    make_room(pulse, latency_ms=60, volume_percent=70)
    done = subprocess.run(
        [sys.executable, "-m", "tests.lab.echo_room", str(SECONDS), str(NEAR_FROM_S)],
        env=pulse.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["active"]
    assert figures["echo_dbfs"] > -40.0, figures  # the room really carried the echo
    erle = figures["echo_dbfs"] - figures["residual_dbfs"]
    assert erle >= 20.0, figures
    assert figures["near_dbfs"] - figures["near_out_dbfs"] < 6.0, figures
