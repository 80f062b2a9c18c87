"""The per-peer media watchdog on a fake clock: arming, every transition, heartbeats, rebuilds."""

from __future__ import annotations

import pytest

from app.call.watchdog import (
    CONNECTION_FAILED,
    NO_MEDIA,
    Interrupted,
    MediaWatchdog,
    Restored,
    WatchdogEvent,
)

TICK = 0.25  # how often the engine looks


class Peer:
    """A remote peer's running totals as the engine would see them, and the watchdog they feed."""

    def __init__(self, watchdog: MediaWatchdog | None = None) -> None:
        self.watchdog = watchdog or MediaWatchdog()
        self.now = 0.0
        self.bytes = 0
        self.frames = 0
        self.beat_at: float | None = None

    def run(
        self,
        seconds: float,
        *,
        kbps: float = 0.0,
        fps: float = 0.0,
        beat_every: float | None = None,
    ) -> list[tuple[float, WatchdogEvent]]:
        """Advance `seconds` in ticks with media at this rate; return the events with times."""
        events = []
        for _ in range(round(seconds / TICK)):
            self.now = round(self.now + TICK, 6)
            self.bytes += round(kbps * 1000 / 8 * TICK)
            self.frames += round(fps * TICK)
            if beat_every is not None and (
                self.beat_at is None or self.now - self.beat_at >= beat_every
            ):
                self.beat_at = self.now
            event = self.watchdog.observe(self.now, self.bytes, self.frames, self.beat_at)
            if event is not None:
                events.append((self.now, event))
        return events


def flowing_peer() -> Peer:
    peer = Peer()
    assert peer.run(5, kbps=500, fps=15) == []
    assert peer.watchdog.armed
    return peer


# --- arming --------------------------------------------------------------------------------


def test_before_the_first_byte_it_is_not_armed_however_long_nothing_comes() -> None:
    peer = Peer()
    assert peer.run(120) == []
    assert not peer.watchdog.armed
    assert not peer.watchdog.interrupted
    assert peer.watchdog.interrupted_for(peer.now) == 0.0


def test_a_failure_before_the_first_byte_is_left_to_the_negotiation_deadline() -> None:
    peer = Peer()
    peer.run(3)
    assert peer.watchdog.connection_failed(peer.now) is None
    assert not peer.watchdog.interrupted


def test_a_heartbeat_alone_does_not_arm_it() -> None:
    peer = Peer()
    assert peer.run(10, beat_every=0.5) == []
    assert not peer.watchdog.armed
    assert peer.run(10) == []  # the heartbeats stopped: still nothing to say


def test_the_first_byte_arms_it_and_silence_after_it_counts() -> None:
    peer = Peer()
    peer.run(TICK, kbps=64)
    assert peer.watchdog.armed
    assert peer.run(1.0) == [(1.25, Interrupted(NO_MEDIA, since=0.25))]


def test_the_first_frame_arms_it_too() -> None:
    watchdog = MediaWatchdog()
    assert watchdog.observe(1.0, 0, 1) is None
    assert watchdog.armed


def test_a_watchdog_made_late_arms_on_totals_already_counted() -> None:
    watchdog = MediaWatchdog()
    assert watchdog.observe(30.0, 1_000_000, 450) is None
    assert watchdog.armed
    assert watchdog.observe(31.0, 1_000_000, 450) == Interrupted(NO_MEDIA, since=30.0)


# --- interrupted and restored ----------------------------------------------------------------


def test_one_second_with_nothing_at_all_interrupts_once() -> None:
    peer = flowing_peer()
    last_byte = peer.now
    events = peer.run(30)
    assert events == [(last_byte + 1.0, Interrupted(NO_MEDIA, since=last_byte))]
    assert peer.watchdog.interrupted
    assert peer.watchdog.reason == NO_MEDIA
    assert peer.watchdog.interrupted_for(peer.now) == pytest.approx(30.0)


def test_just_under_the_limit_is_not_an_interruption() -> None:
    peer = flowing_peer()
    assert peer.run(1.0 - TICK) == []
    assert not peer.watchdog.interrupted
    assert peer.watchdog.interrupted_for(peer.now) == 0.0


def test_media_again_restores_once_with_how_long_it_was_gone() -> None:
    peer = flowing_peer()
    last_byte = peer.now
    peer.run(5)
    events = peer.run(10, kbps=500, fps=15)
    assert events == [(last_byte + 5.25, Restored(ms_interrupted=5250.0))]
    assert not peer.watchdog.interrupted
    assert peer.watchdog.reason is None
    assert peer.watchdog.interrupted_for(peer.now) == 0.0


def test_audio_silence_with_bytes_flowing_is_not_an_interruption() -> None:
    peer = flowing_peer()
    assert peer.run(600, kbps=24, fps=0) == []  # ten minutes of a quiet voice, camera off


def test_frames_alone_count_as_media() -> None:
    peer = flowing_peer()
    assert peer.run(60, kbps=0, fps=15) == []


def test_it_interrupts_and_restores_again_on_every_outage() -> None:
    peer = flowing_peer()
    kinds = []
    for _ in range(20):
        kinds += [type(event) for _, event in peer.run(3)]
        kinds += [type(event) for _, event in peer.run(3, kbps=500)]
    assert kinds == [Interrupted, Restored] * 20


def test_repeated_looks_at_the_same_moment_say_nothing_twice() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 100, 1)
    assert watchdog.observe(2.0, 100, 1) == Interrupted(NO_MEDIA, since=1.0)
    assert watchdog.observe(2.0, 100, 1) is None
    assert watchdog.observe(3.0, 200, 1) == Restored(2000.0)
    assert watchdog.observe(3.0, 200, 1) is None
    assert watchdog.observe(3.0, 300, 1) is None  # more bytes at the same moment: still flowing


def test_the_limit_is_configurable() -> None:
    peer = Peer(MediaWatchdog(limit_s=0.5))
    peer.run(1, kbps=100)
    assert peer.run(2) == [(1.5, Interrupted(NO_MEDIA, since=1.0))]


@pytest.mark.parametrize("limit", [0.0, -1.0])
def test_a_limit_that_is_not_positive_is_refused(limit: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        MediaWatchdog(limit_s=limit)


# --- the data-channel heartbeat ---------------------------------------------------------------


def test_heartbeats_keep_a_peer_without_media_from_looking_gone() -> None:
    peer = flowing_peer()
    assert peer.run(60, beat_every=0.5) == []  # microphone gone, camera off, data channel up
    assert not peer.watchdog.interrupted


def test_interrupted_one_second_after_the_last_heartbeat() -> None:
    peer = flowing_peer()
    peer.run(10, beat_every=0.5)
    last_beat = peer.beat_at
    assert last_beat is not None
    assert peer.run(5) == [(last_beat + 1.0, Interrupted(NO_MEDIA, since=last_beat))]


def test_the_same_heartbeat_seen_again_is_not_a_new_one() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 100, 0, datachannel_beat_at=1.0)
    assert watchdog.observe(1.5, 100, 0, datachannel_beat_at=1.5) is None
    assert watchdog.observe(2.0, 100, 0, datachannel_beat_at=1.5) is None
    assert watchdog.observe(2.5, 100, 0, datachannel_beat_at=1.5) == Interrupted(NO_MEDIA, 1.5)


def test_an_older_heartbeat_than_the_last_is_ignored() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 100, 0, datachannel_beat_at=1.0)
    assert watchdog.observe(1.9, 100, 0, datachannel_beat_at=0.9) is None
    assert watchdog.observe(2.0, 100, 0, datachannel_beat_at=0.9) == Interrupted(NO_MEDIA, 1.0)


def test_a_heartbeat_alone_does_not_end_an_interruption() -> None:
    peer = flowing_peer()
    peer.run(2)
    assert peer.run(10, beat_every=0.5) == []
    assert peer.watchdog.interrupted
    (event,) = peer.run(1, kbps=100)
    assert isinstance(event[1], Restored)


# --- connection failure and rebuilds ---------------------------------------------------------


def test_a_failed_connection_interrupts_at_once() -> None:
    peer = flowing_peer()
    event = peer.watchdog.connection_failed(peer.now)
    assert event == Interrupted(CONNECTION_FAILED, since=peer.now)
    assert peer.watchdog.reason == CONNECTION_FAILED
    assert peer.watchdog.connection_failed(peer.now) is None  # said once
    assert peer.run(5) == []  # and not again as no_media


def test_a_failure_during_an_interruption_is_not_a_second_one() -> None:
    peer = flowing_peer()
    peer.run(2)
    assert peer.watchdog.connection_failed(peer.now) is None
    assert peer.watchdog.reason == NO_MEDIA


def test_a_rebuilt_connection_counts_from_zero() -> None:
    """The new RTCPeerConnection's totals start again at zero: zero is not media, more is."""
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 50_000, 100)
    assert watchdog.connection_failed(1.1) == Interrupted(CONNECTION_FAILED, since=1.0)
    assert watchdog.observe(4.0, 0, 0) is None
    assert watchdog.interrupted_for(4.0) == pytest.approx(3.0)
    assert watchdog.observe(4.25, 1_200, 0) == Restored(3250.0)


def test_a_rebuilt_connection_already_counting_restores_at_once() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 50_000, 100)
    watchdog.observe(2.0, 50_000, 100)
    assert watchdog.observe(3.0, 400, 0) == Restored(2000.0)


def test_a_rebuilt_connection_that_stays_silent_stays_interrupted() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(1.0, 50_000, 100)
    watchdog.observe(2.0, 50_000, 100)
    for step in range(40):
        assert watchdog.observe(3.0 + step * TICK, 0, 0) is None
    assert watchdog.interrupted_for(13.0) == pytest.approx(12.0)


def test_interrupted_for_never_runs_negative() -> None:
    watchdog = MediaWatchdog()
    watchdog.observe(5.0, 100, 0, datachannel_beat_at=None)
    watchdog.connection_failed(5.0)
    assert watchdog.interrupted_for(4.0) == 0.0


def test_ten_minutes_of_a_call_with_a_blackout_in_the_middle() -> None:
    peer = Peer()
    assert peer.run(300, kbps=600, fps=15, beat_every=0.5) == []
    before = peer.now
    blackout = peer.run(5)
    after = peer.run(295, kbps=600, fps=15, beat_every=0.5)
    assert [e for _, e in blackout] == [Interrupted(NO_MEDIA, since=before)]
    assert after == [(before + 5.25, Restored(5250.0))]
