"""What the call page shows while a call rides out a bad network (app.ui.continuity_state):
the interrupted counters and the dial-in numbers' timing, the paused-video banner's states and
the chat status words. Times are plain numbers (the engine's monotonic clock)."""

from __future__ import annotations

from app.ui.continuity_state import (
    DIAL_IN_AFTER_S,
    Interruptions,
    PauseView,
    VideoPause,
    chat_status_words,
    reconnecting_words,
)


def test_the_counter_counts_whole_seconds_from_the_event() -> None:
    out = Interruptions()
    assert out.seconds("sam", 100.0) is None
    out.interrupted("sam", 100.0)
    assert out.seconds("sam", 100.0) == 0
    assert out.seconds("sam", 104.9) == 4
    assert out.seconds("sam", 99.5) == 0  # an event stamped a little after the tick
    out.interrupted("sam", 103.0)  # reported again while still out: the first time counts
    assert out.seconds("sam", 105.0) == 5
    assert reconnecting_words("Sam", 5) == "Reconnecting to Sam… 5 s"


def test_dial_in_numbers_come_after_ten_seconds_and_stay_until_everyone_is_back() -> None:
    out = Interruptions()
    assert not out.dial_in_shown(0.0)
    out.interrupted("sam", 100.0)
    assert not out.dial_in_shown(100.0 + DIAL_IN_AFTER_S - 0.1)
    out.interrupted("rivera", 105.0)
    assert out.dial_in_shown(100.0 + DIAL_IN_AFTER_S)
    assert out.restored("sam")
    # Rivera has been out only 5 s, but numbers that vanish would fail someone dialling.
    assert out.dial_in_shown(110.0)
    assert out.peers == ("rivera",)
    assert out.restored("rivera")
    assert not out.dial_in_shown(200.0)
    assert not out.restored("rivera")  # not interrupted (twice restored, or gone)


def test_a_new_interruption_waits_its_own_ten_seconds() -> None:
    out = Interruptions()
    out.interrupted("sam", 0.0)
    assert out.dial_in_shown(DIAL_IN_AFTER_S)
    out.restored("sam")
    out.interrupted("sam", 50.0)
    assert not out.dial_in_shown(55.0)
    assert out.dial_in_shown(60.0)
    out.clear()
    assert out.peers == () and not out.dial_in_shown(100.0)


def test_the_banner_shows_while_any_peer_gets_no_video_from_us() -> None:
    pause = VideoPause()
    assert pause.view is PauseView.HIDDEN
    assert pause.mode_changed("sam", "audio_only") is PauseView.PAUSED
    assert pause.mode_changed("rivera", "audio_only") is PauseView.PAUSED
    assert pause.mode_changed("sam", "video") is PauseView.PAUSED
    assert pause.peer_gone("rivera") is PauseView.HIDDEN


def test_try_video_keeps_the_banner_until_video_is_really_back() -> None:
    pause = VideoPause()
    pause.mode_changed("sam", "audio_only")
    assert pause.choose("try_video") is PauseView.PAUSED
    assert pause.mode_changed("sam", "video") is PauseView.HIDDEN


def test_stay_on_audio_keeps_a_way_back_until_the_person_takes_it() -> None:
    pause = VideoPause()
    pause.mode_changed("sam", "audio_only")
    assert pause.choose("audio_only") is PauseView.STAYING
    assert pause.mode_changed("sam", "video") is PauseView.STAYING
    assert pause.mode_changed("sam", "audio_only") is PauseView.STAYING
    assert pause.choose("auto") is PauseView.PAUSED  # still paused: the choice is theirs again
    pause.choose("audio_only")
    pause.clear()
    assert pause.view is PauseView.HIDDEN


def test_chat_status_words() -> None:
    assert chat_status_words("sending") == "Sending…"
    assert chat_status_words("delivered") == "Delivered"
    assert chat_status_words("retrying") == "Not delivered — retrying"
    assert chat_status_words("failed") == "Not delivered"
    assert chat_status_words("queued") == "Queued"  # a state added later still says something
