"""Per-SSRC receive counters on synthetic packet sequences: loss, wrap, outages, jitter."""

from __future__ import annotations

import pytest

from app.call.stream_counters import (
    OUTAGE_S,
    SsrcCounter,
    StreamTotals,
    interval_loss_pct,
    totals,
)

AUDIO_RATE = 48_000
PACKET_S = 0.02  # one Opus packet every 20 ms
TS_STEP = int(AUDIO_RATE * PACKET_S)


def feed(counter: SsrcCounter, seqs: list[int], start: float = 0.0) -> float:
    """Packets numbered `seqs`, sent and received every 20 ms (perfect timing); returns the
    time of the last one."""
    at = start
    for seq in seqs:
        at = start + (seq - seqs[0]) * PACKET_S
        counter.add(seq % 65536, (seq * TS_STEP) % (1 << 32), 100, at)
    return at


def snapshot(counter: SsrcCounter) -> StreamTotals:
    return totals([counter])


def test_loss_is_expected_minus_received_from_the_highest_number() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    seqs = [s for s in range(1000, 1100) if s % 10 != 3]  # every tenth packet lost
    last = feed(counter, seqs)
    got = snapshot(counter)
    assert (got.packets_expected, got.packets_received, got.packets_lost) == (100, 90, 10)
    assert got.bytes_received == 9000
    assert got.last_packet_at == last
    assert interval_loss_pct(StreamTotals(), got) == pytest.approx(10.0)


def test_sequence_numbers_wrap() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    feed(counter, list(range(65530, 65540)))  # 65530 .. 65535, 0 .. 3
    assert (counter.expected, counter.received) == (10, 10)


def test_late_and_duplicate_packets_do_not_move_the_highest_number() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    for seq, at in [(10, 0.0), (12, 0.04), (11, 0.05), (12, 0.06)]:
        counter.add(seq, seq * TS_STEP, 10, at)
    assert counter.expected == 3
    assert counter.received == 4  # a duplicate is received twice: loss clamps at zero
    assert snapshot(counter).packets_lost == 0


def test_a_blackout_is_an_outage_not_loss() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    end = feed(counter, list(range(0, 50)))
    before = snapshot(counter)
    # 5 s of silence: the sender kept numbering (250 packets), none arrived.
    during = snapshot(counter)
    assert interval_loss_pct(before, during) is None  # nothing expected: unknown, not 0 %
    feed(counter, list(range(300, 350)), start=end + 5.0 + PACKET_S)
    after = snapshot(counter)
    assert after.packets_lost == 250  # RTP's own count keeps them
    assert after.outage_packets == 250
    assert interval_loss_pct(during, after) == 0.0  # what arrives now arrives whole


def test_loss_after_a_blackout_is_the_loss_of_what_arrives_now() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    end = feed(counter, list(range(0, 50)))
    before = snapshot(counter)
    feed(counter, [s for s in range(300, 400) if s % 5 != 0], start=end + 3.0)
    assert interval_loss_pct(before, snapshot(counter)) == pytest.approx(20.0, abs=1.0)


def test_a_short_gap_is_loss() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    end = feed(counter, list(range(0, 50)))
    before = snapshot(counter)
    counter.add(60, 60 * TS_STEP, 100, end + OUTAGE_S / 2)  # 50-59 missing, in half a second
    after = snapshot(counter)
    assert after.outage_packets == 0
    assert interval_loss_pct(before, after) == pytest.approx(100 * 10 / 11)


def test_jitter_is_zero_for_perfect_timing_and_grows_with_variation() -> None:
    steady = SsrcCounter(AUDIO_RATE)
    feed(steady, list(range(100)))
    assert steady.jitter_ms == pytest.approx(0.0, abs=1e-6)
    shaky = SsrcCounter(AUDIO_RATE)
    for seq in range(200):
        late = 0.010 if seq % 2 else 0.0  # every other packet 10 ms late
        shaky.add(seq, seq * TS_STEP, 100, seq * PACKET_S + late)
    # RFC 3550's running mean of |D| = 10 ms converges to 10 ms.
    assert shaky.jitter_ms == pytest.approx(10.0, rel=0.05)


def test_packets_of_one_video_frame_share_a_timestamp_and_add_no_jitter() -> None:
    counter = SsrcCounter(90_000)
    for frame in range(30):
        for part in range(3):  # three packets a frame, sent back to back
            counter.add(frame * 3 + part, frame * 3000, 1000, frame / 30 + part * 0.001)
    assert counter.jitter_ms == pytest.approx(0.0, abs=0.01)


def test_nothing_counted_yet() -> None:
    counter = SsrcCounter(AUDIO_RATE)
    assert counter.jitter_ms is None
    assert snapshot(counter) == StreamTotals()
    assert totals([]) == StreamTotals()


def test_totals_add_streams_of_one_kind() -> None:
    a, b = SsrcCounter(AUDIO_RATE), SsrcCounter(AUDIO_RATE)
    feed(a, [0, 1, 3])
    feed(b, [7, 8], start=1.0)
    got = totals([a, b])
    assert (got.packets_expected, got.packets_received, got.bytes_received) == (6, 5, 500)
    assert got.last_packet_at == pytest.approx(1.02)


def test_counters_that_restart_give_no_loss_figure() -> None:
    assert interval_loss_pct(StreamTotals(10, 12), StreamTotals(3, 3)) is None
