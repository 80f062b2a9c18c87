"""Each sender's share of what waits for one client (app/server/shares.py)."""

from __future__ import annotations

from app.server.shares import HeldFrames, Shares


def test_a_sender_gets_its_share_of_frames_and_no_more() -> None:
    shares = Shares(frames_each=2, bytes_each=1000, frames_all=10)
    assert [shares.admit("a", 1) for _ in range(3)] == [True, True, False]
    assert shares.admit("b", 1)  # another sender is untouched
    assert (shares.of("a"), shares.of("b"), shares.frames) == (2, 1, 3)


def test_a_sender_gets_its_share_of_bytes_and_no_more() -> None:
    shares = Shares(frames_each=10, bytes_each=100, frames_all=None)
    assert shares.admit("a", 60)
    assert not shares.admit("a", 41)
    assert shares.admit("a", 40)
    assert shares.admit("b", 100)


def test_all_senders_together_are_bounded() -> None:
    shares = Shares(frames_each=5, bytes_each=100, frames_all=3)
    assert [shares.admit(s, 1) for s in "abcd"] == [True, True, True, False]


def test_release_gives_the_share_back() -> None:
    shares = Shares(frames_each=1, bytes_each=100, frames_all=None)
    assert shares.admit("a", 100)
    assert not shares.admit("a", 1)
    shares.release("a", 100)
    assert (shares.of("a"), shares.frames) == (0, 0)
    assert shares.admit("a", 100)


def test_release_of_one_of_several_keeps_the_rest() -> None:
    shares = Shares(frames_each=3, bytes_each=30, frames_all=None)
    for _ in range(3):
        assert shares.admit("a", 10)
    shares.release("a", 10)
    assert shares.of("a") == 2
    assert shares.admit("a", 10) and not shares.admit("a", 1)


def test_clear_forgets_everyone() -> None:
    shares = Shares(frames_each=1, bytes_each=10, frames_all=1)
    assert shares.admit("a", 1)
    shares.clear()
    assert (shares.of("a"), shares.frames) == (0, 0)
    assert shares.admit("b", 1)


def test_held_frames_keep_order_and_refuse_a_sender_past_its_share() -> None:
    held = HeldFrames(limit=10, share=2, share_bytes=100)
    assert held.append("a", "a1") and held.append("b", "b1") and held.append("a", "a2")
    assert not held.append("a", "a3")
    assert len(held) == 3
    assert held.take() == ["a1", "b1", "a2"]
    assert len(held) == 0 and held.append("a", "a4")  # taken: the share is free again


def test_held_frames_past_the_limit_lose_the_oldest() -> None:
    """Only with senders that left (their frames stay): the shares alone stay under it."""
    held = HeldFrames(limit=3, share=2, share_bytes=100)
    for sender, text in (("a", "a1"), ("b", "b1"), ("c", "c1"), ("d", "d1")):
        assert held.append(sender, text)
    assert held.take() == ["b1", "c1", "d1"]


def test_held_frames_cleared() -> None:
    held = HeldFrames(limit=3, share=1, share_bytes=100)
    assert held.append("a", "x")
    held.clear()
    assert len(held) == 0 and held.append("a", "y")
