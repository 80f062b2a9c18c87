"""`tandem join --upload-mbps`: the equipment check's upload figure picks the first video size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.server.embedded import EmbeddedServer
from app.server.tokens import mint_token
from tests.lab.participant import Line, Participant

ROOT = Path(__file__).resolve().parents[2]
ROOM = "couple-7"


def join(server: EmbeddedServer, role: str, *extra: str) -> Participant:
    token = mint_token(server.config.secret, ROOM, role, role.title(), 600)
    command = [
        sys.executable, "-m", "app", "join", "--headless", "--server", server.url,
        "--token", token, "--allow-loopback", "--duration", "30", *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    return Participant(role, process)


def first_stats(participant: Participant) -> Line:
    return participant.wait_for("stats with video sent", lambda line: line["type"] == "stats"
                                and line.get("sent_width") is not None)  # fmt: skip


def test_a_slow_upload_starts_small_and_a_fast_one_at_640x360(server: EmbeddedServer) -> None:
    slow = join(server, "partner", "--upload-mbps", "0.4")
    fast = join(server, "therapist", "--upload-mbps", "20")
    try:
        # 0.4 Mbit/s: 80 % of it for one peer, less 50 kbit/s of audio, fits 320x180 at 15 fps.
        slow_stats, fast_stats = first_stats(slow), first_stats(fast)
        assert (slow_stats["sent_width"], slow_stats["sent_height"]) == (320, 180)
        assert (fast_stats["sent_width"], fast_stats["sent_height"]) == (640, 360)
    finally:
        for participant in (slow, fast):
            participant.proc.terminate()
            participant.proc.wait(15)
            if participant.proc.stdout is not None:
                participant.proc.stdout.close()


def test_a_nonsense_upload_figure_is_refused() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "app", "join", "--headless", "--server", "http://127.0.0.1:9",
         "--token", "t", "--upload-mbps", "-1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    assert "--upload-mbps: must be a positive number of Mbps" in run.stderr
