"""Stats arithmetic on synthetic snapshots: rates, loss, ages, and reading an aiortc report."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from app.call.events import StatsReport
from app.call.headless import event_to_json
from app.call.quality import assess
from app.call.stats import StatsSnapshot, StatsTracker, snapshot_from_report
from app.call.stream_counters import StreamTotals


def video(received: int, lost: int = 0) -> StreamTotals:
    return StreamTotals(packets_received=received, packets_expected=received + lost)


def test_rates_between_two_snapshots() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=10.0))
    stats = tracker.update(
        StatsSnapshot(
            at=12.0,
            bytes_received=250_000,
            bytes_sent=125_000,
            video=video(90, lost=10),
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
            at=1.0, bytes_received=1000, video=video(10), frames_received=15, last_frame_at=0.9
        )
    )
    silent = StatsSnapshot(
        at=2.0, bytes_received=1000, video=video(10), frames_received=15, last_frame_at=0.9
    )
    stats = tracker.update(silent)
    assert stats.bitrate_in_kbps == 0.0
    assert stats.fps_in == 0.0
    # Nothing arrived after media had flowed: a blackout, never "0 % loss, all fine".
    assert stats.video_loss_pct is None
    assert stats.packet_loss_pct is None
    assert stats.since_last_byte_s == pytest.approx(1.0)
    assert stats.since_last_frame_s == pytest.approx(1.1)
    later = tracker.update(
        StatsSnapshot(
            at=5.0, bytes_received=1000, video=video(10), frames_received=15, last_frame_at=0.9
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
    tracker = StatsTracker("p", StatsSnapshot(at=0.0, bytes_received=900, video=video(100, lost=5)))
    stats = tracker.update(StatsSnapshot(at=1.0, bytes_received=100, video=video(110, lost=3)))
    assert stats.bitrate_in_kbps == 0.0
    assert stats.packet_loss_pct == 0.0


def test_all_lost() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0, video=video(1)))
    stats = tracker.update(StatsSnapshot(at=1.0, video=video(1, lost=7)))
    assert stats.packet_loss_pct == stats.video_loss_pct == 100.0


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
        rtt_s=0.050,
        jitter_ms=10.0,
        frames_received=3,
        last_frame_at=6.5,
        video=StreamTotals(packets_received=100, packets_expected=102, jitter_ms=10.0),
        audio=StreamTotals(packets_received=50, packets_expected=51, jitter_ms=1.0),
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


def test_outgoing_loss_is_the_mean_of_the_peers_last_reported_fractions() -> None:
    report = {
        "rv": Entry("remote-inbound-rtp", kind="video", roundTripTime=0.03, fractionLost=64),
        "ra": Entry("remote-inbound-rtp", kind="audio", roundTripTime=0.03, fractionLost=3),
    }
    snap = snapshot_from_report(report, at=1.0, frames_received=0, last_frame_at=None)
    # The streams' mean: RTCP's 64/256 for video and 3/256 for audio (each on its own reads
    # high or low; the path loses both alike).
    assert snap.lost_out == (64 + 3) / 2 / 256
    stats = StatsTracker("p", StatsSnapshot(at=0.0)).update(snap)
    assert stats.packet_loss_out_pct == 100.0 * (64 + 3) / 2 / 256
    assert stats.packet_loss_pct is None  # what we receive is another matter: nothing yet


def test_no_receiver_report_yet_means_outgoing_loss_unknown() -> None:
    report = {"rv": Entry("remote-inbound-rtp", roundTripTime=0.03)}
    snap = snapshot_from_report(report, at=1.0, frames_received=0, last_frame_at=None)
    assert snap.lost_out is None
    assert StatsTracker("p").update(snap).packet_loss_out_pct is None


# --- per stream: video, its RTX and audio apart ------------------------------------------------


def test_retransmissions_are_neither_loss_nor_receipt() -> None:
    start = StatsSnapshot(at=0.0, video=video(1000), video_rtx=StreamTotals(5, 5))
    # 100 numbered, 90 arrived; 40 retransmissions (a NACK storm) on the RTX stream.
    after = StatsSnapshot(at=1.0, video=video(1090, lost=10), video_rtx=StreamTotals(45, 45))
    stats = StatsTracker("p", start).update(after)
    assert stats.video_loss_pct == stats.packet_loss_pct == pytest.approx(10.0)
    assert stats.video_rtx_packets_in == 40.0


def test_audio_figures() -> None:
    start = StatsSnapshot(at=0.0, audio=StreamTotals(100, 100, bytes_received=8_000))
    after = StatsSnapshot(
        at=2.0,
        audio=StreamTotals(180, 200, bytes_received=18_000, last_packet_at=1.9),
        video=video(50),
    )
    stats = StatsTracker("p", start).update(after)
    assert stats.audio_loss_pct == pytest.approx(20.0)  # 80 of 100 expected arrived
    assert stats.audio_packets_in == 40.0
    assert stats.audio_bitrate_in_kbps == pytest.approx(40.0)  # 10 kB in 2 s
    assert stats.audio_since_last_packet_s == pytest.approx(0.1)


def test_audio_only_reports_the_audio_loss_as_the_headline() -> None:
    start = StatsSnapshot(at=0.0, video=video(500), audio=StreamTotals(100, 100))
    after = StatsSnapshot(at=1.0, video=video(500), audio=StreamTotals(145, 150))
    stats = StatsTracker("p", start).update(after)
    assert stats.video_loss_pct is None  # the peer paused its video: nothing was expected
    assert stats.packet_loss_pct == pytest.approx(10.0)


def test_after_a_blackout_the_outage_is_not_loss() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0, video=video(100)))
    during = tracker.update(StatsSnapshot(at=1.0, video=video(100)))
    assert during.video_loss_pct is None and during.packet_loss_pct is None
    back = StatsSnapshot(
        at=2.0, video=StreamTotals(packets_received=200, packets_expected=700, outage_packets=500)
    )
    assert tracker.update(back).video_loss_pct == 0.0  # not 83 %: the outage is set aside


def test_rtt_is_stale_without_a_fresh_receiver_report() -> None:
    tracker = StatsTracker("p", StatsSnapshot(at=0.0))
    fresh = tracker.update(StatsSnapshot(at=10.0, rtt_s=0.04, rtt_at=8.5))
    assert fresh.rtt_ms == pytest.approx(40.0)
    assert fresh.rtt_stale is False
    stale = tracker.update(StatsSnapshot(at=11.0, rtt_s=0.04, rtt_at=8.5))
    assert (stale.rtt_ms, stale.rtt_stale) == (None, True)
    unknown_age = tracker.update(StatsSnapshot(at=12.0, rtt_s=0.04))
    assert unknown_age.rtt_ms == pytest.approx(40.0)
    assert unknown_age.rtt_stale is False
    never = tracker.update(StatsSnapshot(at=13.0))
    assert (never.rtt_ms, never.rtt_stale) == (None, False)


@dataclass
class StampedEntry:
    type: str
    timestamp: datetime.datetime
    roundTripTime: float = 0.03  # noqa: N815 (aiortc's names)
    fractionLost: int = 0  # noqa: N815


def test_the_receiver_reports_age_gives_when_the_rtt_was_measured() -> None:
    wall = datetime.datetime(2026, 12, 3, 12, 0, 0, tzinfo=datetime.UTC)
    report = {
        "rv": StampedEntry("remote-inbound-rtp", wall - datetime.timedelta(seconds=3.0)),
        "ra": StampedEntry("remote-inbound-rtp", wall - datetime.timedelta(seconds=0.5)),
    }
    snap = snapshot_from_report(
        report, at=100.0, frames_received=0, last_frame_at=None, wall_now=wall
    )
    assert snap.rtt_at == pytest.approx(99.5)  # the newest report counts
    assert StatsTracker("p").update(snap).rtt_stale is False


def test_the_headless_stats_line_keeps_every_key_and_adds_the_stream_figures() -> None:
    stats = StatsTracker("p", StatsSnapshot(at=0.0)).update(StatsSnapshot(at=1.0))
    line = event_to_json(StatsReport(1.0, stats))
    assert line is not None
    old_keys = {
        "type", "peer_id", "bitrate_in_kbps", "bitrate_out_kbps", "packet_loss_pct", "rtt_ms",
        "jitter_ms", "fps_in", "since_last_frame_s", "since_last_byte_s", "packet_loss_out_pct",
        "sent_width", "sent_height", "sent_fps", "mode",
    }  # fmt: skip
    new_keys = {
        "video_loss_pct", "audio_loss_pct", "audio_bitrate_in_kbps", "audio_packets_in",
        "audio_since_last_packet_s", "rtt_stale", "video_rtx_packets_in", "estimate_out_kbps",
    }  # fmt: skip
    assert set(line) == old_keys | new_keys


def test_a_blackout_is_worded_as_a_pause_not_as_packet_loss() -> None:
    tracker = StatsTracker(
        "p", StatsSnapshot(at=0.0, video=video(100), frames_received=30, last_frame_at=0.0)
    )
    dark = tracker.update(
        StatsSnapshot(at=3.0, video=video(100), frames_received=30, last_frame_at=0.0)
    )
    assert dark.packet_loss_pct is None
    assert assess(dark).reason.startswith("Their video has paused")
