"""The audio-only rung on a fake clock: when it engages, when video returns, flaps, overrides."""

from __future__ import annotations

import pytest

from app.call.events import PeerStats
from app.call.media_mode import (
    AUDIO_ONLY_RUNG,
    RUNG_CAPS_KBPS,
    SMALLEST_VIDEO_KBPS,
    MediaMode,
    MediaModePolicy,
    ModeChange,
    ModeSettings,
    cap_kbps,
)
from app.call.video_profile import LADDER, VideoProfile, ladder_for

VIDEO, AUDIO = MediaMode.VIDEO, MediaMode.AUDIO_ONLY


def stats(
    loss: float | None = 0.0,
    rtt: float | None = 40.0,
    kbps: float | None = 700.0,
    out_kbps: float = 700.0,
) -> PeerStats:
    """One peer's second: `loss` is the loss of what we send, `kbps` the peer's estimate of the
    link for our video (None: no REMB yet), `out_kbps` what left for it."""
    return PeerStats(
        peer_id="p",
        bitrate_in_kbps=700.0,
        bitrate_out_kbps=out_kbps,
        estimate_out_kbps=kbps,
        packet_loss_pct=0.0,
        packet_loss_out_pct=loss,
        rtt_ms=rtt,
        jitter_ms=5.0,
        fps_in=15.0,
        since_last_frame_s=0.1,
        since_last_byte_s=0.0,
    )


CLEAN = stats()
LOSSY = stats(loss=12.0)
SLOW = stats(rtt=1500.0)
STARVED = stats(kbps=60.0)
MURKY = stats(loss=4.0)  # neither bad (10 %) nor clean (2 %)


class Call:
    """Feeds one stats second at a time, as the engine's stats loop does."""

    def __init__(self, policy: MediaModePolicy | None = None) -> None:
        self.policy = policy or MediaModePolicy()
        self.now = 0.0
        assert self.run(1, CLEAN) == []  # a first second, so later streaks have a start

    def run(
        self,
        seconds: int,
        second: PeerStats,
        *,
        camera_on: bool = True,
    ) -> list[tuple[float, ModeChange]]:
        changes = []
        for _ in range(seconds):
            self.now += 1.0
            change = self.policy.update(self.now, second, camera_on=camera_on)
            if change is not None:
                changes.append((self.now, change))
        return changes

    def go_audio_only(self) -> None:
        assert [c.mode for _, c in self.run(3, LOSSY)] == [AUDIO]

    def come_back(self) -> None:
        wait = int(self.policy.wait_s)
        back_at = self.now + wait
        assert self.run(wait, CLEAN) == [(back_at, ModeChange(VIDEO, "clean"))]


# --- the caps table ------------------------------------------------------------------------


def test_every_rung_has_its_cap_and_audio_only_sends_no_video() -> None:
    assert [RUNG_CAPS_KBPS[str(rung)] for rung in LADDER] == [600.0, 350.0, 200.0, 130.0]
    assert RUNG_CAPS_KBPS[AUDIO_ONLY_RUNG] == 0.0
    assert [cap_kbps(rung) for rung in LADDER] == [600.0, 350.0, 200.0, 130.0]
    assert cap_kbps(None) == 0.0
    assert SMALLEST_VIDEO_KBPS == 130.0


def test_a_rung_off_the_table_gets_the_top_cap_scaled_by_pixels_per_second() -> None:
    assert cap_kbps(ladder_for((1280, 720), 30)[0]) == 4800.0
    assert cap_kbps(VideoProfile(160, 90, 10, 30.0)) == 25.0


def test_each_cap_is_above_what_the_rung_needs() -> None:
    assert all(cap_kbps(rung) > rung.need_kbps for rung in LADDER)


# --- engaging audio only --------------------------------------------------------------------


def test_it_starts_on_video_with_the_short_wait() -> None:
    policy = MediaModePolicy()
    assert policy.mode is VIDEO
    assert policy.since is None
    assert not policy.pinned
    assert policy.wait_s == 30.0


def test_three_seconds_of_heavy_loss_engage_audio_only() -> None:
    call = Call()
    assert call.run(2, LOSSY) == []
    assert call.run(1, LOSSY) == [(4.0, ModeChange(AUDIO, "loss"))]
    assert call.policy.mode is AUDIO
    assert call.policy.since == 4.0
    assert call.run(20, LOSSY) == []  # said once


def test_the_very_first_second_has_nothing_before_it_so_a_fourth_is_needed() -> None:
    policy = MediaModePolicy()
    assert [policy.update(t, LOSSY) for t in (1.0, 2.0, 3.0)] == [None] * 3
    assert policy.update(4.0, LOSSY) == ModeChange(AUDIO, "loss")


def test_loss_of_exactly_ten_percent_is_heavy_and_just_under_is_not() -> None:
    assert Call().run(3, stats(loss=10.0))
    assert Call().run(60, stats(loss=9.9)) == []


def test_unknown_loss_is_not_loss() -> None:
    assert Call().run(60, stats(loss=None)) == []


def test_two_lossy_seconds_in_three_are_a_lossy_link_one_is_not() -> None:
    call = Call()
    for _ in range(10):
        assert call.run(1, LOSSY) == []
        assert call.run(2, MURKY) == []
    assert call.run(1, LOSSY) == []
    assert call.run(1, CLEAN) == []
    assert call.run(1, LOSSY) != []  # the median of 12, 0, 12 is 12


def test_a_round_trip_over_a_second_engages_audio_only() -> None:
    call = Call()
    assert call.run(3, SLOW) == [(4.0, ModeChange(AUDIO, "rtt"))]


def test_a_round_trip_of_exactly_a_second_or_none_is_not_slow() -> None:
    assert Call().run(60, stats(rtt=1000.0)) == []
    assert Call().run(60, stats(rtt=None)) == []


def test_loss_is_judged_by_the_median_second_of_the_window() -> None:
    # 15 % loss reads 5 to 21 % a second: a dip under 10 % must not reset the count.
    call = Call()
    assert call.run(1, stats(loss=21.0)) == []
    assert call.run(1, stats(loss=6.0)) == []
    assert call.run(1, stats(loss=18.0)) == [(4.0, ModeChange(AUDIO, "loss"))]
    # ... and a lossy second among clean ones does not engage it, however lossy (the report
    # that covers an outage can read 90 %).
    call = Call()
    for _ in range(10):
        assert call.run(1, stats(loss=90.0)) == []
        assert call.run(2, CLEAN) == []


def test_round_trips_count_on_their_own_streak() -> None:
    call = Call()
    call.run(1, LOSSY)
    call.run(1, SLOW)
    assert call.run(1, SLOW) == []  # two slow seconds: not yet
    assert call.run(1, SLOW) == [(5.0, ModeChange(AUDIO, "rtt"))]


def test_an_estimate_too_low_on_average_is_starved() -> None:
    call = Call()
    assert call.run(2, STARVED) == []
    assert call.run(1, STARVED) == [(4.0, ModeChange(AUDIO, "starved"))]


def test_one_starved_second_among_good_ones_is_not() -> None:
    call = Call()
    for _ in range(10):
        assert call.run(1, STARVED) == []
        assert call.run(2, CLEAN) == []


def test_the_starved_threshold_is_half_the_smallest_rung() -> None:
    assert ModeSettings().starved_kbps == SMALLEST_VIDEO_KBPS * 0.5 == 65.0
    assert Call().run(60, stats(kbps=65.0)) == []
    assert Call().run(3, stats(kbps=64.0))


def test_the_peers_estimate_decides_not_what_left() -> None:
    # Few bits leave (this machine short of CPU, a still picture) on a link the peer rates well.
    call = Call()
    assert call.run(60, stats(kbps=400.0, out_kbps=20.0)) == []
    # Plenty leaves, but the peer's estimator saw the link queue up.
    call = Call()
    assert call.run(3, stats(kbps=40.0, out_kbps=700.0)) == [(4.0, ModeChange(AUDIO, "starved"))]


def test_without_an_estimate_the_rate_gives_no_evidence() -> None:
    call = Call()
    assert call.run(60, stats(kbps=None, out_kbps=20.0)) == []
    # The first estimates start a fresh window; a second without one restarts it.
    assert call.run(1, stats(kbps=64.0)) + call.run(1, STARVED) == []  # 64 -> 60: a fall
    assert call.run(1, stats(kbps=None)) == []
    assert call.run(1, stats(kbps=64.0)) + call.run(1, STARVED) == []
    assert call.run(1, STARVED) == [(call.now, ModeChange(AUDIO, "starved"))]


def test_a_low_estimate_that_never_fell_is_not_starved() -> None:
    # aiortc's estimator starts from the first seconds' throughput (a sender short of CPU, a
    # still picture) and only climbs unless the link queues up: no evidence of a weak link.
    call = Call()
    assert call.run(1, stats(kbps=None)) == []
    assert [c for t in range(30) for c in call.run(1, stats(kbps=30.0 + t))] == []
    assert call.run(30, stats(kbps=59.0)) == []


def test_a_fall_counts_only_for_a_while() -> None:
    call = Call(MediaModePolicy(ModeSettings(fall_memory_s=1.0)))
    assert call.run(2, STARVED) == []  # it fell (700 -> 60) at the first of them
    assert call.run(10, STARVED) == []  # the window is full now, but the fall is old
    assert call.run(1, stats(kbps=50.0)) == [(call.now, ModeChange(AUDIO, "starved"))]


def test_with_the_camera_off_the_rate_says_nothing() -> None:
    call = Call()
    assert call.run(60, STARVED, camera_on=False) == []
    # The camera is back: its first seconds alone decide, not the black frames' rate.
    assert call.run(2, CLEAN) == []
    assert call.run(2, STARVED) == []
    assert call.run(1, STARVED) == [(call.now, ModeChange(AUDIO, "starved"))]


def test_with_the_camera_off_loss_still_counts() -> None:
    call = Call()
    assert call.run(3, LOSSY, camera_on=False) == [(4.0, ModeChange(AUDIO, "loss"))]


def test_repeated_updates_at_the_same_moment_are_not_more_time() -> None:
    policy = MediaModePolicy()
    policy.update(1.0, CLEAN)
    assert [policy.update(2.0, LOSSY) for _ in range(50)] == [None] * 50
    assert policy.update(4.0, LOSSY) == ModeChange(AUDIO, "loss")


# --- video coming back ------------------------------------------------------------------------


def test_video_returns_after_thirty_clean_seconds() -> None:
    call = Call()
    call.go_audio_only()
    assert call.run(29, CLEAN) == []
    assert call.run(1, CLEAN) == [(call.now, ModeChange(VIDEO, "clean"))]
    assert call.policy.since == call.now


@pytest.mark.parametrize("second", [MURKY, LOSSY, stats(rtt=600.0)])
def test_a_second_that_is_not_clean_restarts_the_wait(second: PeerStats) -> None:
    call = Call()
    call.go_audio_only()
    assert call.run(20, CLEAN) == []
    assert call.run(1, second) == []
    assert call.run(29, CLEAN) == []
    assert [c for _, c in call.run(1, CLEAN)] == [ModeChange(VIDEO, "clean")]


def test_without_a_round_trip_report_a_second_can_still_be_clean() -> None:
    call = Call()
    call.go_audio_only()
    assert [c.reason for _, c in call.run(30, stats(rtt=None))] == ["clean"]


def test_on_audio_only_a_low_rate_is_expected_and_does_not_hold_video_back() -> None:
    call = Call()
    call.go_audio_only()
    assert [c.reason for _, c in call.run(30, stats(kbps=40.0))] == ["clean"]


def test_each_flap_doubles_the_wait_up_to_five_minutes() -> None:
    call = Call()
    waits = []
    for _ in range(6):
        call.go_audio_only()
        waits.append(call.policy.wait_s)
        call.come_back()
        call.run(10, CLEAN)  # video for a while, then bad again: a flap
    assert waits == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]


def test_video_that_holds_for_the_flap_window_forgets_the_flaps() -> None:
    call = Call()
    for _ in range(3):
        call.go_audio_only()
        call.come_back()
    assert call.run(59, CLEAN) == []
    assert call.policy.wait_s == 120.0  # until it has held
    call.run(1, CLEAN)
    assert call.policy.wait_s == 30.0
    call.go_audio_only()
    assert call.policy.wait_s == 30.0  # bad again after holding: not a flap


def test_a_custom_flap_window_and_wait() -> None:
    settings = ModeSettings(clean_wait_s=5.0, max_wait_s=12.0, flap_window_s=4.0)
    call = Call(MediaModePolicy(settings))
    call.go_audio_only()
    call.come_back()
    call.go_audio_only()
    assert call.policy.wait_s == 10.0
    call.come_back()
    call.go_audio_only()
    assert call.policy.wait_s == 12.0


# --- the person's overrides -------------------------------------------------------------------


def test_try_video_again_brings_video_back_at_once() -> None:
    call = Call()
    call.go_audio_only()
    assert call.policy.try_video(call.now) == ModeChange(VIDEO, "user")
    assert call.policy.mode is VIDEO
    assert call.policy.try_video(call.now) is None  # already on video


def test_try_video_going_bad_again_is_a_flap() -> None:
    call = Call()
    call.go_audio_only()
    call.policy.try_video(call.now)
    call.go_audio_only()
    assert call.policy.wait_s == 60.0


def test_try_video_during_the_back_off_then_holding_clears_it() -> None:
    call = Call()
    for _ in range(2):
        call.go_audio_only()
        call.come_back()
    call.go_audio_only()
    assert call.policy.wait_s == 120.0
    call.run(5, CLEAN)
    assert call.policy.try_video(call.now) == ModeChange(VIDEO, "user")
    assert call.run(60, CLEAN) == []
    assert call.policy.wait_s == 30.0


def test_stay_on_audio_pins_it_until_the_person_asks_for_video() -> None:
    call = Call()
    assert call.policy.stay_on_audio(call.now) == ModeChange(AUDIO, "user")
    assert call.policy.pinned
    assert call.run(600, CLEAN) == []  # ten clean minutes: still audio only
    assert call.policy.try_video(call.now) == ModeChange(VIDEO, "user")
    assert not call.policy.pinned


def test_stay_on_audio_while_already_on_audio_only_keeps_it_there() -> None:
    call = Call()
    call.go_audio_only()
    assert call.policy.stay_on_audio(call.now) is None
    assert call.policy.pinned
    assert call.run(600, CLEAN) == []


def test_leaving_video_by_choice_soon_after_it_returned_is_not_a_flap() -> None:
    call = Call()
    call.go_audio_only()
    call.come_back()
    call.run(5, CLEAN)
    assert call.policy.stay_on_audio(call.now) == ModeChange(AUDIO, "user")
    assert call.policy.wait_s == 30.0
    call.policy.try_video(call.now)
    call.run(10, CLEAN)
    call.go_audio_only()  # after try_video: a flap
    assert call.policy.wait_s == 60.0


def test_a_whole_fragile_session_in_milliseconds() -> None:
    """Forty minutes: good, a bad spell, video back, then a flapping link that keeps it on audio
    only (the wait doubled), then a clean end."""
    call = Call()
    changes: list[tuple[float, str, str]] = []
    plan = [(600, CLEAN), (20, LOSSY), (40, CLEAN)] + [(10, SLOW), (20, CLEAN)] * 5
    for seconds, second in [*plan, (1800, CLEAN)]:
        changes += [(t, c.mode.value, c.reason) for t, c in call.run(seconds, second)]
    assert changes == [
        (603.0, "audio_only", "loss"),  # the seconds 601, 602 and 603 lossy
        (651.0, "video", "clean"),  # clean since 621
        (664.0, "audio_only", "rtt"),  # 13 s after video returned: a flap
        (851.0, "video", "clean"),  # 60 s after the last slow second (791)
    ]
    assert call.policy.mode is VIDEO


def test_seconds_before_a_stretch_without_evidence_do_not_join_those_after_it() -> None:
    policy = MediaModePolicy()
    assert policy.update(0.0, CLEAN) is None
    policy.no_evidence()  # e.g. the peer was interrupted for a minute
    # One bad second right after must not count as "bad since the last update a minute ago",
    # and one slow second on a new connection must not count as a starved window.
    assert policy.update(60.0, LOSSY) is None
    assert policy.update(61.0, stats(kbps=10.0)) is None
    assert policy.mode is VIDEO


def test_a_clean_spell_is_broken_by_a_stretch_without_evidence() -> None:
    policy = MediaModePolicy()
    for second in range(5):
        policy.update(float(second), LOSSY)
    assert policy.mode is AUDIO
    for second in range(5, 25):
        policy.update(float(second), CLEAN)
    policy.no_evidence()
    for second in range(40, 55):  # 20 + 15 clean seconds, but not 30 in one stretch
        assert policy.update(float(second), CLEAN) is None
    assert policy.mode is AUDIO
