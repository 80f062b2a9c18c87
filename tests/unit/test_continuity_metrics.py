"""The continuity benchmark's definitions, on JSON lines written by hand in the headless contract
(today's client emits none of the new events, so the lab cannot exercise these yet)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from continuity_metrics import Line, Moments, media_back, side, summary  # noqa: E402

JOINED: Line = {"type": "joined", "t": 0.0, "peer_id": "A"}


def stats(t: float, fps_in: float, since: float | None) -> Line:
    return {"type": "stats", "t": t, "fps_in": fps_in, "since_last_frame_s": since}


def test_a_blackout_seen_through_the_new_events() -> None:
    lines = [
        JOINED,
        stats(9.5, 15, 0.05),
        {"type": "peer_interrupted", "t": 11.2, "peer_id": "B", "reason": "no_media"},
        {"type": "media_mode", "t": 12.5, "peer_id": "B", "direction": "send",
         "mode": "audio_only", "reason": "loss"},
        stats(14.0, 0, 4.0),
        {"type": "peer_restored", "t": 15.6, "peer_id": "B", "ms_interrupted": 4400},
        stats(16.0, 10, 0.1),
        {"type": "media_mode", "t": 20.5, "peer_id": "B", "direction": "send",
         "mode": "video", "reason": "clean"},
    ]  # fmt: skip
    result = side(lines, [], 0, Moments(start=10.0, ref=15.0, end=30.0))
    assert result.detect_s is not None and abs(result.detect_s - 1.2) < 1e-9
    assert result.back_s is not None and abs(result.back_s - 0.6) < 1e-9  # peer_restored first
    assert (result.audio_after_s, result.audio_for_s) == (2.5, 8.0)
    assert result.failover_s is None and not result.lost and result.how == "ok"


def test_media_back_is_the_first_frame_decoded_after_the_path_returned() -> None:
    lines = [stats(14.0, 15, 0.5), stats(15.0, 0, 1.5), stats(16.0, 3, 0.3)]
    # The line at 14 s speaks of a frame before the restore at 14.8 s; the one at 16 s of 15.7 s.
    back = media_back(lines, ref=14.8)
    assert back is not None and abs(back - 0.9) < 1e-9
    assert media_back(lines[:2], ref=14.8) is None


def test_with_a_fault_that_persists_frames_before_the_interruption_are_not_media_back() -> None:
    # UDP blocked from 10 s: a frame decoded at 10.02 s was sent before the block; the link
    # was rebuilt over TURN/TCP and its first frame came at 17.5 s.
    lines = [
        JOINED,
        stats(10.5, 15, 0.48),
        {"type": "peer_interrupted", "t": 11.0, "peer_id": "B", "reason": "no_media"},
        stats(12.0, 0, 1.98),
        stats(18.0, 5, 0.5),
    ]  # fmt: skip
    result = side(lines, [], 0, Moments(start=10.0, ref=10.0, end=30.0))
    assert result.back_s == pytest.approx(7.5)
    assert side(lines[:4], [], 0, Moments(start=10.0, ref=10.0, end=30.0)).back_s is None
    # A fault whose path returned (ref after the start) keeps the plain rule.
    assert media_back(lines, ref=10.0) == pytest.approx(0.02)


def test_server_faults_and_lost_participants() -> None:
    lines = [
        JOINED,
        {"type": "reconnecting", "t": 10.4, "what": "signaling", "attempt": 1},
        {"type": "server_switched", "t": 13.0, "from": "http://x:1", "to": "http://x:2"},
    ]
    other = [{"type": "peer_left", "t": 20.0, "peer_id": "A", "reason": "timeout"}]
    at = Moments(start=10.0, ref=10.0, end=30.0, server_fault=True, backup=True)
    result = side(lines, other, 0, at)
    assert result.detect_s == pytest.approx(0.4) and result.failover_s == 3.0
    assert result.lost and result.how == "peer_left timeout"
    assert side(lines, [], 1, at).how == "exit 1"


def test_summary_tells_not_emitted_from_not_seen() -> None:
    assert summary([1.0, None, 3.0], supported=True) == "2.0 (2/3)"
    assert summary([None, None], supported=False) == "n/a"
    assert summary([None], supported=True, never=">10") == ">10"
