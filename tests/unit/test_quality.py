"""The quality indicator's rules: bars and words from one PeerStats, no Qt."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.call.events import PeerStats
from app.call.quality import (
    CHECKING,
    FPS_WORDS,
    GOOD,
    JITTER_WORDS,
    LOSS_WORDS,
    MAX_BARS,
    MINOR,
    RTT_WORDS,
    WAITING_FOR_VIDEO,
    Quality,
    assess,
)

HEALTHY = PeerStats(
    peer_id="p1",
    bitrate_in_kbps=600.0,
    bitrate_out_kbps=600.0,
    packet_loss_pct=0.0,
    rtt_ms=20.0,
    jitter_ms=5.0,
    fps_in=15.0,
    since_last_frame_s=0.05,
    since_last_byte_s=0.01,
)


def test_no_report_yet_is_checking() -> None:
    quality = assess(None)
    assert quality == Quality(None, CHECKING)
    assert quality.label == "Connection: checking"


def test_a_healthy_call_has_five_bars() -> None:
    quality = assess(HEALTHY)
    assert quality == Quality(MAX_BARS, GOOD)
    assert quality.label == "Connection: 5 of 5 bars"


def test_unknown_rtt_and_jitter_do_not_cost_bars() -> None:
    assert assess(replace(HEALTHY, rtt_ms=None, jitter_ms=None)).bars == MAX_BARS


@pytest.mark.parametrize(
    ("loss", "bars"), [(1.9, 5), (2.0, 4), (5.0, 3), (10.0, 2), (20.0, 1), (60.0, 1)]
)
def test_packet_loss(loss: float, bars: int) -> None:
    quality = assess(replace(HEALTHY, packet_loss_pct=loss))
    assert quality.bars == bars
    if bars == 4:
        assert quality.reason == MINOR
    elif bars < 4:
        assert quality.reason == LOSS_WORDS


@pytest.mark.parametrize(("rtt", "bars"), [(249.0, 5), (250.0, 4), (400.0, 3), (900.0, 2)])
def test_round_trip_time(rtt: float, bars: int) -> None:
    quality = assess(replace(HEALTHY, rtt_ms=rtt))
    assert quality.bars == bars
    assert quality.reason == {5: GOOD, 4: MINOR}.get(bars, RTT_WORDS)


@pytest.mark.parametrize(("jitter", "bars"), [(29.0, 5), (30.0, 4), (60.0, 3), (150.0, 2)])
def test_jitter(jitter: float, bars: int) -> None:
    quality = assess(replace(HEALTHY, jitter_ms=jitter))
    assert quality.bars == bars
    assert quality.reason == {5: GOOD, 4: MINOR}.get(bars, JITTER_WORDS)


@pytest.mark.parametrize(("fps", "bars"), [(9.0, 5), (8.0, 4), (4.0, 3), (0.5, 2)])
def test_frame_rate(fps: float, bars: int) -> None:
    quality = assess(replace(HEALTHY, fps_in=fps))
    assert quality.bars == bars
    assert quality.reason == {5: GOOD, 4: MINOR}.get(bars, FPS_WORDS)


def test_a_stalled_video_says_how_long_and_ignores_the_frame_rate() -> None:
    quality = assess(replace(HEALTHY, fps_in=0.0, since_last_frame_s=3.4))
    assert quality.bars == 2
    assert quality.reason == "Their video has paused: nothing has arrived for 3 seconds"
    stopped = assess(replace(HEALTHY, fps_in=0.0, since_last_frame_s=12.0))
    assert stopped.bars == 0
    assert "12 seconds" in stopped.reason
    assert assess(replace(HEALTHY, since_last_frame_s=1.0)).bars == 4


def test_two_problems_cost_one_more_bar_and_name_the_worst() -> None:
    quality = assess(replace(HEALTHY, packet_loss_pct=12.0, rtt_ms=300.0))
    assert quality == Quality(MAX_BARS - 3 - 1, LOSS_WORDS)
    assert assess(replace(HEALTHY, packet_loss_pct=90.0, rtt_ms=2000.0, jitter_ms=500.0)).bars == 0


def test_before_the_first_frame() -> None:
    waiting = replace(HEALTHY, fps_in=0.0, since_last_frame_s=None)
    assert assess(waiting) == Quality(None, WAITING_FOR_VIDEO)
    lossy = assess(replace(waiting, packet_loss_pct=25.0))
    assert lossy == Quality(1, LOSS_WORDS)
