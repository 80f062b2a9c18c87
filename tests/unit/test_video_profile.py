"""The video adapter on synthetic stats: start rung, every step down and up, backoff, peers."""

from __future__ import annotations

import pytest

from app.call.events import PeerStats
from app.call.video_profile import LADDER, AdaptSettings, VideoAdapter, VideoProfile, ladder_for

TOP, MID, SMALL, SLOW = LADDER


def stats(
    loss: float | None = 0.0,
    estimate_kbps: float | None = 900.0,
    peer: str = "p",
    loss_in: float = 0.0,
    out_kbps: float = 900.0,
) -> PeerStats:
    """One peer's second; `loss` is the loss of what we send and `estimate_kbps` the peer's
    estimate of the link for our video (what the adapter acts on); `out_kbps` what left."""
    return PeerStats(
        peer_id=peer,
        bitrate_in_kbps=900.0,
        bitrate_out_kbps=out_kbps,
        estimate_out_kbps=estimate_kbps,
        packet_loss_pct=loss_in,
        packet_loss_out_pct=loss,
        rtt_ms=40.0,
        jitter_ms=5.0,
        fps_in=15.0,
        since_last_frame_s=0.1,
        since_last_byte_s=0.0,
    )


class Clock:
    """Feeds one stats second at a time, as the engine's stats loop does."""

    def __init__(self, adapter: VideoAdapter) -> None:
        self.adapter = adapter
        self.now = 0.0

    def run(
        self, seconds: int, *peers: PeerStats, camera_on: bool = True
    ) -> list[VideoProfile | None]:
        results = []
        for _ in range(seconds):
            self.now += 1.0
            results.append(self.adapter.update(self.now, list(peers), camera_on=camera_on))
        return results


LOSSY = stats(loss=8.0)
CLEAN = stats(loss=0.5)
MURKY = stats(loss=3.5)  # between clean (2 %) and lossy (5 %)
STARVED = stats(estimate_kbps=100.0)  # the link, by the peer's estimate: below half of 640x360@15
FALLING = stats(estimate_kbps=110.0)  # a second before STARVED: the estimate then falls


def adapter_at(
    rung: VideoProfile,
    *,
    upload_kbps: float | None = None,
    peers: int = 1,
    settings: AdaptSettings | None = None,
) -> tuple[VideoAdapter, Clock]:
    """An adapter walked down to `rung` by lossy seconds (never on the way up: no probe)."""
    adapter = VideoAdapter(upload_kbps=upload_kbps, peers=peers, settings=settings)
    clock = Clock(adapter)
    while adapter.profile != rung:
        clock.run(3, LOSSY)
    return adapter, clock


# --- the ladder and the start ---------------------------------------------------------------


def test_the_ladder_goes_from_640x360_at_15_down_to_320x180_at_10() -> None:
    assert [str(r) for r in LADDER] == ["640x360@15", "480x270@15", "320x180@15", "320x180@10"]
    assert TOP.size == (640, 360)
    assert [r.need_kbps for r in LADDER] == sorted((r.need_kbps for r in LADDER), reverse=True)


def test_ladder_for_the_default_track_is_the_whole_ladder() -> None:
    assert ladder_for((640, 360), 15) == LADDER
    assert ladder_for((480, 270), 15) == LADDER[1:]


def test_ladder_for_a_size_off_the_ladder_puts_it_on_top() -> None:
    big = ladder_for((1280, 720), 30)
    assert big[0] == VideoProfile(1280, 720, 30, 4000.0)  # 8x the pixels per second of 640x360@15
    assert big[1:] == LADDER
    assert ladder_for((640, 360), 10) == (VideoProfile(640, 360, 10, 333.3), SLOW)


def test_a_track_smaller_than_every_rung_stays_as_it_is() -> None:
    (only,) = ladder_for((160, 90), 10)
    assert only.size == (160, 90) and only.fps == 10
    adapter = VideoAdapter(ladder_for((160, 90), 10))
    assert Clock(adapter).run(6, LOSSY) == [None] * 6
    assert adapter.profile == only


def test_an_empty_ladder_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one rung"):
        VideoAdapter(())


def test_without_a_measured_upload_it_starts_at_the_top() -> None:
    adapter = VideoAdapter()
    assert adapter.profile == adapter.ceiling == TOP


@pytest.mark.parametrize(
    ("upload_kbps", "peers", "start"),
    [
        (5000.0, 1, TOP),  # 4000 for one copy
        (5000.0, 3, TOP),  # 1333 - 50 audio each: still plenty
        (1000.0, 1, TOP),  # 800 - 50 = 750
        (1000.0, 2, MID),  # 400 - 50 = 350: not 500, but 300
        (600.0, 2, SMALL),  # 240 - 50 = 190
        (500.0, 2, SLOW),  # 200 - 50 = 150
        (200.0, 2, SLOW),  # 80 - 50 = 30: too little for any rung, the smallest still
        (1000.0, 0, TOP),  # alone in the room: planned for one copy
    ],
)
def test_start_rung_from_the_upload_shared_among_peers(
    upload_kbps: float, peers: int, start: VideoProfile
) -> None:
    adapter = VideoAdapter(upload_kbps=upload_kbps, peers=peers)
    assert adapter.profile == adapter.ceiling == start


# --- stepping down --------------------------------------------------------------------------


def test_three_lossy_seconds_in_a_row_step_down_one_rung() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(3, LOSSY) == [None, None, MID]
    assert adapter.profile == MID
    assert clock.run(3, LOSSY) == [None, None, SMALL]
    assert clock.run(3, LOSSY) == [None, None, SLOW]


def test_only_the_loss_of_what_we_send_counts() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(5, stats(loss=0.0, loss_in=30.0)) == [None] * 5  # their upload's problem
    assert clock.run(9, stats(loss=None)) == [None] * 9  # no report yet: nothing known lost
    assert adapter.profile == TOP


def test_loss_of_exactly_the_threshold_is_not_bad() -> None:
    adapter = VideoAdapter()
    assert Clock(adapter).run(5, stats(loss=5.0)) == [None] * 5
    assert adapter.profile == TOP


def test_a_murky_second_breaks_the_bad_streak() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(2, LOSSY) + clock.run(1, MURKY) + clock.run(2, LOSSY) == [None] * 5
    assert clock.run(1, LOSSY) == [MID]


def test_a_clean_second_breaks_the_bad_streak() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(2, LOSSY) + clock.run(1, CLEAN) + clock.run(2, LOSSY) == [None] * 5
    assert adapter.profile == TOP


def test_a_second_with_nobody_connected_breaks_the_streak() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(2, LOSSY) + clock.run(1) + clock.run(2, LOSSY) == [None] * 5
    assert clock.run(1, LOSSY) == [MID]


def test_the_worst_peer_decides() -> None:
    adapter = VideoAdapter(upload_kbps=10_000.0, peers=2)
    clock = Clock(adapter)
    assert clock.run(3, stats(peer="a"), stats(loss=12.0, peer="b")) == [None, None, MID]


def test_a_peer_estimate_far_below_the_need_on_average_steps_down() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    # Three seconds fill the average; from then on each second is bad, and three bad ones step.
    # The estimate fell on the way (110 -> 100): the peer's estimator saw the link queue up.
    assert clock.run(1, FALLING) + clock.run(4, STARVED) == [None] * 4 + [MID]
    assert clock.run(5, STARVED) == [None] * 4 + [SMALL]  # 480x270 needs 300: 100 < 150
    # 320x180@15 needs 180: 100 is above half of it, so the link counts as clean now.
    assert clock.run(5, STARVED) == [None] * 5
    assert adapter.profile == SMALL


def test_one_second_of_a_low_estimate_is_not_starved() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    for _ in range(6):  # a healthy link's figure swings; the three-second average does not
        assert clock.run(1, STARVED) + clock.run(2, CLEAN) == [None] * 3
    assert adapter.profile == TOP


def test_each_peer_has_its_own_average() -> None:
    adapter = VideoAdapter(upload_kbps=10_000.0, peers=2)
    low_a, low_b = stats(estimate_kbps=100.0, peer="a"), stats(estimate_kbps=100.0, peer="b")
    high_a, high_b = stats(peer="a"), stats(peer="b")
    # Each second one of the two is low: neither's own average is.
    pattern = [(low_a, high_b), (high_a, low_b)] * 4
    assert [adapter.update(float(t), pair) for t, pair in enumerate(pattern)] == [None] * 8
    assert adapter.profile == TOP


def test_a_peer_that_left_takes_its_average_along() -> None:
    adapter = VideoAdapter(upload_kbps=10_000.0, peers=2)
    clock = Clock(adapter)
    assert clock.run(3, stats(peer="a"), stats(estimate_kbps=100.0, peer="b")) == [None] * 3
    # b's low average (one bad second so far) leaves with b; c starts its own.
    assert clock.run(5, stats(peer="a"), stats(peer="c")) == [None] * 5
    assert adapter.profile == TOP


def test_with_the_camera_off_the_estimate_says_nothing() -> None:
    adapter = VideoAdapter(upload_kbps=500.0)  # 400 - 50 audio: MID, below the top
    clock = Clock(adapter)
    assert clock.run(9, STARVED, camera_on=False) == [None] * 9
    assert clock.run(1, STARVED, camera_on=False) == [None]  # MID is this upload's ceiling
    assert clock.run(3, LOSSY, camera_on=False) == [None, None, SMALL]  # loss still counts


def test_estimates_from_while_the_camera_was_off_do_not_count_after() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    clock.run(1, FALLING, camera_on=False)
    clock.run(1, STARVED, camera_on=False)  # a fall while the camera was off
    assert clock.run(30, STARVED) == [None] * 30  # ... is forgotten with it, as its average
    # A fall with the camera on: bad from that second on, three bad seconds step.
    assert clock.run(1, FALLING) + clock.run(3, STARVED) == [None, None, None, MID]


def test_few_bits_leaving_on_a_link_the_peer_rates_well_are_not_starved() -> None:
    # This machine short of CPU (the encoder drops frames) or a still picture: few bits leave,
    # but the peer's estimate says the link carries the rung. Not the link's fault: no step.
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(30, stats(out_kbps=60.0, estimate_kbps=540.0)) == [None] * 30
    assert adapter.profile == TOP


def test_without_an_estimate_the_rate_gives_no_evidence_either_way() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    # No REMB yet from this peer (and few bits leave): nothing to judge starvation on.
    assert clock.run(30, stats(out_kbps=60.0, estimate_kbps=None)) == [None] * 30
    assert adapter.profile == TOP
    assert clock.run(3, stats(loss=8.0, estimate_kbps=None)) == [None, None, MID]  # loss counts


def test_a_second_without_an_estimate_restarts_that_peers_average() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    assert clock.run(1, FALLING) + clock.run(1, STARVED) == [None, None]
    assert clock.run(1, stats(estimate_kbps=None)) == [None]
    assert clock.run(1, FALLING) + clock.run(3, STARVED) == [None] * 4  # a fresh average
    assert clock.run(1, STARVED) == [MID]


def test_the_estimate_decides_not_the_bits_that_left() -> None:
    adapter = VideoAdapter()
    clock = Clock(adapter)
    # Plenty left, but the peer's estimator saw the link queue up and rates it at 100.
    falling, low = stats(out_kbps=900.0, estimate_kbps=110.0), stats(estimate_kbps=100.0)
    assert clock.run(1, falling) + clock.run(4, low) == [None] * 4 + [MID]


def test_a_low_estimate_that_never_fell_is_not_starved() -> None:
    # aiortc's estimator starts from the first seconds' throughput and then only climbs unless
    # the link queues up: measured with this machine short of CPU, 135 climbing to 271 over
    # 15 s. That says how little was sent, not what the link carries.
    adapter = VideoAdapter()
    clock = Clock(adapter)
    climbing = [stats(estimate_kbps=100.0 + 10 * t) for t in range(15)]  # 100 to 240
    assert [clock.run(1, second)[0] for second in climbing] == [None] * 15
    assert clock.run(30, stats(estimate_kbps=240.0)) == [None] * 30  # steady: never fell
    assert adapter.profile == TOP


def test_a_fall_counts_only_for_a_while() -> None:
    adapter = VideoAdapter(settings=AdaptSettings(fall_memory_s=3.0))
    clock = Clock(adapter)
    assert clock.run(1, FALLING) + clock.run(4, STARVED) == [None] * 4 + [MID]  # fell at 2 s
    assert clock.run(9, STARVED) == [None] * 9  # 480x270 is starved too, but that fall is old
    # A new fall (the link still at its limit): starved again, three seconds on.
    assert clock.run(1, stats(estimate_kbps=90.0)) + clock.run(2, STARVED) == [None, None, SMALL]


def test_at_the_smallest_rung_bad_seconds_change_nothing() -> None:
    adapter, clock = adapter_at(SLOW)
    assert clock.run(7, LOSSY) == [None] * 7
    assert adapter.profile == SLOW
    assert clock.run(10, CLEAN)[-1] == SMALL  # and the streaks still work after that


# --- stepping up ----------------------------------------------------------------------------


def test_ten_clean_seconds_step_up_one_rung() -> None:
    adapter, clock = adapter_at(SMALL)
    assert clock.run(10, CLEAN) == [None] * 9 + [MID]
    assert clock.run(10, CLEAN) == [None] * 9 + [TOP]


def test_a_murky_second_restarts_the_clean_count() -> None:
    adapter, clock = adapter_at(MID)
    assert clock.run(9, CLEAN) + clock.run(1, MURKY) + clock.run(9, CLEAN) == [None] * 19
    assert clock.run(1, CLEAN) == [TOP]


def test_a_bad_second_restarts_the_clean_count() -> None:
    adapter, clock = adapter_at(MID)
    assert clock.run(9, CLEAN) + clock.run(1, LOSSY) + clock.run(9, CLEAN) == [None] * 19
    assert clock.run(1, CLEAN) == [TOP]


def test_never_above_the_top_or_the_uploads_ceiling() -> None:
    adapter = VideoAdapter()
    assert Clock(adapter).run(25, CLEAN) == [None] * 25
    capped = VideoAdapter(upload_kbps=600.0, peers=2)
    assert capped.profile == SMALL
    assert Clock(capped).run(25, CLEAN, stats(peer="b")) == [None] * 25


def test_a_step_up_that_fails_doubles_the_wait_before_the_next_try() -> None:
    adapter, clock = adapter_at(MID)
    assert clock.run(10, CLEAN)[-1] == TOP
    assert clock.run(3, LOSSY)[-1] == MID  # within the probe window: TOP did not hold
    assert clock.run(19, CLEAN) == [None] * 19
    assert clock.run(1, CLEAN) == [TOP]  # after 20 clean seconds, not 10
    assert clock.run(3, LOSSY)[-1] == MID  # failed again: 40 now
    assert clock.run(39, CLEAN) == [None] * 39
    assert clock.run(1, CLEAN) == [TOP]


def test_the_backoff_stops_growing_at_its_cap() -> None:
    settings = AdaptSettings(up_after=10, max_up_after=15)
    adapter, clock = adapter_at(MID, settings=settings)
    for attempt in range(3):
        up = clock.run(30, CLEAN)
        assert up.index(TOP) == (9 if attempt == 0 else 14)  # 10 clean seconds, then 15
        clock.run(3, LOSSY)
        assert adapter.profile == MID


def test_a_step_up_that_holds_for_the_window_clears_the_backoff() -> None:
    adapter, clock = adapter_at(MID)
    clock.run(10, CLEAN)
    clock.run(3, LOSSY)  # failed once: 20 to get back up
    assert clock.run(20, CLEAN)[-1] == TOP
    clock.run(30, CLEAN)  # TOP held past the 30 s window
    assert clock.run(3, LOSSY)[-1] == MID  # an ordinary step down now, not a failed probe
    assert clock.run(10, CLEAN) == [None] * 9 + [TOP]  # back to 10


def test_the_backoff_belongs_to_the_rung_that_failed() -> None:
    adapter, clock = adapter_at(SMALL)
    clock.run(10, CLEAN)
    assert adapter.profile == MID
    clock.run(3, LOSSY)  # MID failed: 20 before trying MID again
    assert adapter.profile == SMALL
    assert clock.run(20, CLEAN)[-1] == MID
    assert clock.run(10, CLEAN) == [None] * 9 + [TOP]  # TOP never failed: 10


# --- peers coming and going -----------------------------------------------------------------


def test_a_new_peer_moves_down_to_the_new_ceiling_at_once() -> None:
    adapter = VideoAdapter(upload_kbps=1000.0, peers=1)
    clock = Clock(adapter)
    assert adapter.profile == TOP
    assert clock.run(1, CLEAN, stats(peer="b")) == [MID]  # 400 - 50 each: 350
    assert adapter.ceiling == MID and adapter.peers == 2
    assert clock.run(1, CLEAN, stats(peer="b"), stats(peer="c")) == [SMALL]


def test_a_new_peer_within_the_ceiling_changes_nothing() -> None:
    adapter, clock = adapter_at(SMALL, upload_kbps=1000.0, peers=1)
    assert clock.run(1, CLEAN, stats(peer="b")) == [None]
    assert adapter.ceiling == MID and adapter.profile == SMALL


def test_a_peer_leaving_raises_the_ceiling_and_clean_seconds_climb_to_it() -> None:
    adapter = VideoAdapter(upload_kbps=1000.0, peers=2)
    clock = Clock(adapter)
    assert adapter.profile == MID
    assert clock.run(1, CLEAN) == [None]  # one peer now: TOP allowed, but not at once
    assert adapter.ceiling == TOP
    assert clock.run(9, CLEAN) == [None] * 8 + [TOP]


def test_a_peer_change_with_a_step_in_the_same_second_reports_the_step() -> None:
    settings = AdaptSettings(down_after=1)
    adapter = VideoAdapter(upload_kbps=1000.0, peers=1, settings=settings)
    clock = Clock(adapter)
    assert clock.run(1, LOSSY, stats(loss=9.0, peer="b")) == [SMALL]  # TOP -> MID -> SMALL
    assert clock.run(1, MURKY, stats(peer="b"), stats(peer="c")) == [None]  # SMALL is c's too
    assert clock.run(1, MURKY) == [None]


def test_a_ceiling_drop_after_a_step_up_is_not_a_failed_step_up() -> None:
    adapter, clock = adapter_at(SMALL, upload_kbps=1000.0, peers=1)
    assert clock.run(10, CLEAN)[-1] == MID  # stepped up into MID
    assert clock.run(1, CLEAN, stats(peer="b"), stats(peer="c")) == [SMALL]  # ceiling: SMALL
    assert clock.run(3, LOSSY, stats(peer="b"), stats(peer="c"))[-1] == SLOW
    assert clock.run(10, CLEAN, stats(peer="b"), stats(peer="c"))[-1] == SMALL  # no backoff
