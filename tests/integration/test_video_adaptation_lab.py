"""Real packet loss on one direction of a call: the sender on that side steps its video down.

Two headless participants in their own network namespaces, the server's namespace routing
between them (as in test_call_lab). nftables then drops a share of what arrives at b, so a's
upload to b loses packets while b's upload to a does not. a hears of it in b's receiver reports
and must send smaller video; b must keep its size. Every wait is on a JSON line, with a deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.call_lab import CallLab, started_lab
from tests.lab.netns import NetLab
from tests.lab.participant import Line

pytestmark = [pytest.mark.lab, pytest.mark.slow]

LOSS_PERCENT = 20  # well above the adapter's 5 %, so three seconds in a row are all lossy
NO_MIC = ("--mic", "none")  # the default 640x360 at 15 fps test pattern, and no sound


@pytest.fixture
def lab(netlab: NetLab, tmp_path: Path) -> Iterator[CallLab]:
    yield from started_lab(netlab, tmp_path, "va", NO_MIC)


def sent(line: Line) -> tuple[int, int, int]:
    return (line["sent_width"], line["sent_height"], line["sent_fps"])


def test_loss_on_one_direction_steps_only_that_senders_video_down(lab: CallLab) -> None:
    a = lab.join("va", lab.token("va"))
    a.wait_type("joined")
    b = lab.join("vb", lab.token("vb", role="therapist"))
    b_id = b.wait_type("joined")["peer_id"]
    a.wait_type("first_frame", peer_id=b_id)
    b.wait_for("a's video", lambda line: line["type"] == "stats" and line["fps_in"] > 0)
    clean = a.wait_for("a's clean stats", lambda line: line["type"] == "stats")
    assert sent(clean) == (640, 360, 15)

    NetLab.drop_percent(lab.ends["vb"], LOSS_PERCENT)  # what reaches b: a's upload
    lossy = a.wait_for(
        "a hearing of its loss",
        lambda line: line["type"] == "stats" and (line["packet_loss_out_pct"] or 0) > 5,
    )
    assert sent(lossy) == (640, 360, 15)  # not after a single second
    smaller = a.wait_for(
        "a sending smaller video",
        lambda line: line["type"] == "stats" and line["sent_width"] < 640,
    )
    assert sent(smaller) == (480, 270, 15)  # one rung at a time
    # b sees the loss too, on what it receives; its own upload is clean, so over more lossy
    # seconds than a needed to step down, b keeps sending its full size.
    b_lossy = [
        b.wait_for(
            "b receiving with loss",
            lambda line: line["type"] == "stats" and line["packet_loss_pct"] > 5,
        )
        for _ in range(6)
    ]
    assert {sent(line) for line in b_lossy} == {(640, 360, 15)}
    assert all(line["fps_in"] > 0 for line in b_lossy)  # a's smaller video keeps coming
    for participant in (b, a):
        assert participant.stop() == 0
