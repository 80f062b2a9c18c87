"""Stats arithmetic on synthetic snapshots: rates, loss, ages, and reading an aiortc report."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.call.events import StatsReport
from app.call.headless import event_to_json
from app.call.stats import StatsSnapshot, StatsTracker, snapshot_from_report


def test_rates_between_two_snapshots() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=10.0))
    stats = tracker.update(
        StatsSnapshot(
            at=12.0,
            bytes_received=250_000,
            bytes_sent=125_000,
            packets_received=90,
            packets_lost=10,
            rtt_s=0.042,
            jitter_ms=3.5,
            frames_received=30,
            last_frame_at=11.75,
        )
    )
    assert stats.peer_id == "p"
    assert stats.bitrate_in_kbps == pytest.approx(1000.0)  # 250 kB in 2 s
    assert stats.bitrate_out_kbps == pytest.approx(500.0)
    assert stats.packet_loss_pct == pytest.approx(10.0)
    assert stats.rtt_ms == pytest.approx(42.0)
    assert stats.jitter_ms == 3.5
    assert stats.fps_in == pytest.approx(15.0)
    assert stats.since_last_frame_s == pytest.approx(0.25)
    assert stats.since_last_byte_s == 0.0


def test_a_silent_peer_ages_and_rates_fall_to_zero() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0))
    tracker.update(
        StatsSnapshot(
            at=1.0, bytes_received=1000, packets_received=10, frames_received=15, last_frame_at=0.9
        )
    )
    silent = StatsSnapshot(
        at=2.0, bytes_received=1000, packets_received=10, frames_received=15, last_frame_at=0.9
    )
    stats = tracker.update(silent)
    assert stats.bitrate_in_kbps == 0.0
    assert stats.fps_in == 0.0
    assert stats.packet_loss_pct == 0.0  # nothing expected, nothing lost
    assert stats.since_last_byte_s == pytest.approx(1.0)
    assert stats.since_last_frame_s == pytest.approx(1.1)
    later = tracker.update(
        StatsSnapshot(
            at=5.0, bytes_received=1000, packets_received=10, frames_received=15, last_frame_at=0.9
        )
    )
    assert later.since_last_byte_s == pytest.approx(4.0)


def test_nothing_received_yet() -> None:
    stats = StatsTracker("p").update(StatsSnapshot(at=3.0))
    assert stats.since_last_frame_s is None
    assert stats.since_last_byte_s is None
    assert stats.rtt_ms is None
    assert stats.bitrate_in_kbps == 0.0  # no interval yet: no division by zero


def test_start_snapshot_with_bytes_counts_as_last_byte() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=1.0, bytes_received=5))
    assert tracker.update(StatsSnapshot(at=3.0, bytes_received=5)).since_last_byte_s == 2.0


def test_counters_going_backwards_never_give_negative_figures() -> None:
    tracker = StatsTracker(
        "p", StatsSnapshot(at=0.0, bytes_received=900, packets_lost=5, packets_received=100)
    )
    stats = tracker.update(
        StatsSnapshot(at=1.0, bytes_received=100, packets_lost=3, packets_received=110)
    )
    assert stats.bitrate_in_kbps == 0.0
    assert stats.packet_loss_pct == 0.0


def test_all_lost() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0))
    assert tracker.update(StatsSnapshot(at=1.0, packets_lost=7)).packet_loss_pct == 100.0


@dataclass
class Entry:
    type: str
    kind: str = ""
    bytesReceived: int = 0  # noqa: N815 (aiortc's names)
    bytesSent: int = 0  # noqa: N815
    packetsReceived: int = 0  # noqa: N815
    packetsLost: int = 0  # noqa: N815
    jitter: int = 0
    roundTripTime: float | None = None  # noqa: N815
    fractionLost: int | None = None  # noqa: N815


def test_snapshot_from_an_aiortc_shaped_report() -> None:
    report = {
        "t": Entry("transport", bytesReceived=5000, bytesSent=4000),
        "iv": Entry("inbound-rtp", kind="video", packetsReceived=100, packetsLost=2, jitter=900),
        "ia": Entry("inbound-rtp", kind="audio", packetsReceived=50, packetsLost=1, jitter=48),
        "ix": Entry("inbound-rtp", kind="data", packetsReceived=1),
        "rv": Entry("remote-inbound-rtp", roundTripTime=0.030),
        "ra": Entry("remote-inbound-rtp", roundTripTime=0.050),
        "rn": Entry("remote-inbound-rtp"),
        "o": Entry("outbound-rtp"),
    }
    snap = snapshot_from_report(report, at=7.0, frames_received=3, last_frame_at=6.5)
    assert snap == StatsSnapshot(
        at=7.0,
        bytes_received=5000,
        bytes_sent=4000,
        packets_received=151,
        packets_lost=3,
        rtt_s=0.050,
        jitter_ms=10.0,
        frames_received=3,
        last_frame_at=6.5,
    )  # video jitter 900 / 90 kHz = 10 ms beats audio 48 / 48 kHz = 1 ms


def test_snapshot_from_an_empty_report() -> None:
    snap = snapshot_from_report({}, at=1.0, frames_received=0, last_frame_at=None)
    assert snap == StatsSnapshot(at=1.0)


def test_the_sent_video_profile_is_reported() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0))
    stats = tracker.update(StatsSnapshot(at=1.0), sent_size=(480, 270), sent_fps=15)
    assert (stats.sent_width, stats.sent_height, stats.sent_fps) == (480, 270, 15)
    without = tracker.update(StatsSnapshot(at=2.0))
    assert (without.sent_width, without.sent_height, without.sent_fps) == (None, None, None)


def test_the_headless_stats_line_carries_the_sent_profile() -> None:
    stats = StatsTracker("p", StatsSnapshot(at=0.0)).update(
        StatsSnapshot(at=1.0), sent_size=(320, 180), sent_fps=10
    )
    line = event_to_json(StatsReport(1.0, stats))
    assert line is not None
    assert (line["type"], line["sent_width"], line["sent_height"], line["sent_fps"]) == (
        "stats",
        320,
        180,
        10,
    )


def test_outgoing_loss_is_the_peers_last_reported_fraction() -> None:
    report = {
        "rv": Entry("remote-inbound-rtp", kind="video", roundTripTime=0.03, fractionLost=64),
        "ra": Entry("remote-inbound-rtp", kind="audio", roundTripTime=0.03, fractionLost=3),
    }
    snap = snapshot_from_report(report, at=1.0, frames_received=0, last_frame_at=None)
    assert snap.lost_out == 0.25  # RTCP's 64/256 beats the audio's 3/256
    stats = StatsTracker("p", StatsSnapshot(at=0.0)).update(snap)
    assert stats.packet_loss_out_pct == 25.0
    assert stats.packet_loss_pct == 0.0  # what we receive is another matter


def test_no_receiver_report_yet_means_outgoing_loss_unknown() -> None:
    report = {"rv": Entry("remote-inbound-rtp", roundTripTime=0.03)}
    snap = snapshot_from_report(report, at=1.0, frames_received=0, last_frame_at=None)
    assert snap.lost_out is None
    assert StatsTracker("p").update(snap).packet_loss_out_pct is None
