"""A laptop's room in PulseAudio: the speakers' sound reaches the microphone late and quieter.

`make_room(lab)` adds, to a PulseLab, a loopback from the virtual speaker's monitor into a
second null sink ("the room") with a set latency and gain; the room's monitor becomes the
default microphone. The child (`python -m tests.lab.echo_room SECONDS NEAR_FROM_S`) then runs
the call's audio path for real through PortAudio: each 20 ms microphone block paces one 20 ms
block of far-end speech to the speaker and is itself echo-cancelled; as in a call, the
canceller's reference is what the speaker stream's callback takes to play;
the near end's voice is added to the microphone blocks as they arrive, from NEAR_FROM_S on, so
its level is known exactly. It prints the raw and cancelled levels as JSON.
"""

from __future__ import annotations

import json
import queue
import sys
import time

import numpy as np

from tests.lab.pulse import SINK, PulseLab

ROOM = "tandem_room"
ROOM_MIC = "tandem_room_mic"
BLOCK_TIMEOUT_S = 2.0
LOOPBACK_TIMEOUT_S = 5.0


def make_room(lab: PulseLab, *, latency_ms: int, volume_percent: int) -> None:
    """Route the virtual speaker into the microphone through a delayed, attenuated loopback."""
    lab.pactl("load-module", "module-null-sink", f"sink_name={ROOM}", "rate=48000", "channels=1")
    lab.pactl(
        "load-module",
        "module-loopback",
        f"source={SINK}.monitor",
        f"sink={ROOM}",
        f"latency_msec={latency_ms}",
        "source_dont_move=true",
        "sink_dont_move=true",
        "adjust_time=0",
    )
    lab.pactl("set-sink-input-volume", _loopback_input(lab), f"{volume_percent}%")
    lab.pactl(
        "load-module", "module-remap-source", f"source_name={ROOM_MIC}", f"master={ROOM}.monitor"
    )
    lab.pactl("set-default-source", ROOM_MIC)


def _loopback_input(lab: PulseLab) -> str:
    """The sink input the loopback module made (it appears a moment after loading)."""
    deadline = time.monotonic() + LOOPBACK_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in lab.pactl("list", "short", "sink-inputs").splitlines():
            fields = line.split("\t")
            # The owner column can read "-" here; the driver names the loopback.
            if len(fields) > 3 and fields[3] == "module-loopback.c":
                return fields[0]
        time.sleep(0.05)  # polling a condition with a deadline
    raise RuntimeError(
        f"the room's loopback did not appear: {lab.pactl('list', 'short', 'sink-inputs')!r}"
    )


def _level(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _child(seconds: float, near_from_s: float) -> int:
    from app.call.echo_canceller import EchoCanceller
    from app.devices.audio import SoundDeviceMicrophone, SoundDeviceSpeaker
    from tests.echo_signals import BLOCK, RATE, speech_like

    far = speech_like(seconds, 130, seed=1)
    near = np.zeros_like(far)
    start = int(near_from_s * RATE)
    near[start:] = speech_like(seconds - near_from_s, 210, seed=2)[: far.size - start] * 0.5
    canceller = EchoCanceller()
    blocks: queue.Queue[np.ndarray] = queue.Queue()
    speaker = SoundDeviceSpeaker("pulse").start_stream(
        lambda played: canceller.process_render(played, RATE), max_latency_s=0.2
    )
    microphone = SoundDeviceMicrophone("pulse").start(
        lambda block: blocks.put(block.reshape(-1).copy()), BLOCK
    )
    raw = np.zeros_like(far)
    out = np.zeros_like(far)
    try:
        for at in range(0, far.size - BLOCK + 1, BLOCK):
            heard = blocks.get(timeout=BLOCK_TIMEOUT_S)
            played = far[at : at + BLOCK]
            speaker.write(played)
            raw[at : at + BLOCK] = heard
            out[at : at + BLOCK] = canceller.process_capture(heard + near[at : at + BLOCK], RATE)
    finally:
        microphone.stop()
        speaker.stop()
    echo_only = slice(int(near_from_s * RATE) - 3 * RATE, start)  # the last 3 s before talk
    talk = slice(start + RATE // 2, None)
    print(
        json.dumps(
            {
                "active": canceller.active,
                "echo_dbfs": _level(raw[echo_only]),
                "residual_dbfs": _level(out[echo_only]),
                "near_dbfs": _level(near[talk]),
                "near_out_dbfs": _level(out[talk]),
                "erle_by_second": [
                    round(
                        _level(raw[i * RATE : (i + 1) * RATE])
                        - _level(out[i * RATE : (i + 1) * RATE]),
                        1,
                    )
                    for i in range(int(near_from_s))
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(_child(float(sys.argv[1]), float(sys.argv[2])))
