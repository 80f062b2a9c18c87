"""The call state machine: every transition, ignored inputs, emit-only-on-change, injected time."""

from __future__ import annotations

import logging

import pytest

from app.call.events import CallState
from app.call.state import TRANSITIONS, CallInput, CallStateMachine

S, In = CallState, CallInput


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def machine() -> tuple[CallStateMachine, list[tuple[CallState, CallState, float]], Clock]:
    changes: list[tuple[CallState, CallState, float]] = []
    clock = Clock()
    m = CallStateMachine(lambda old, new, at: changes.append((old, new, at)), now=clock)
    return m, changes, clock


def drive_to(m: CallStateMachine, target: CallState) -> None:
    paths = {
        S.IDLE: [],
        S.JOINING: [In.JOIN],
        S.WAITING: [In.JOIN, In.WELCOMED],
        S.CONNECTED: [In.JOIN, In.WELCOMED, In.PEER_CONNECTED],
        S.LEFT: [In.LEAVE],
        S.FAILED: [In.JOIN, In.FAIL],
    }
    for event in paths[target]:
        m.handle(event)
    assert m.state is target


def test_starts_idle_at_injected_time() -> None:
    m, changes, _ = machine()
    assert m.state is S.IDLE
    assert m.since == 100.0
    assert not m.finished
    assert changes == []


def test_a_whole_call() -> None:
    m, changes, clock = machine()
    for t, event in (
        (1.0, In.JOIN),
        (2.0, In.WELCOMED),
        (3.0, In.PEER_CONNECTED),
        (4.0, In.NO_PEER_CONNECTED),
        (5.0, In.PEER_CONNECTED),
        (6.0, In.LEAVE),
    ):
        clock.t = t
        m.handle(event)
    assert changes == [
        (S.IDLE, S.JOINING, 1.0),
        (S.JOINING, S.WAITING, 2.0),
        (S.WAITING, S.CONNECTED, 3.0),
        (S.CONNECTED, S.WAITING, 4.0),
        (S.WAITING, S.CONNECTED, 5.0),
        (S.CONNECTED, S.LEFT, 6.0),
    ]
    assert m.finished
    assert m.since == 6.0


@pytest.mark.parametrize(
    ("start", "event"),
    [(state, event) for state in S for event in In],
)
def test_every_state_and_input(start: CallState, event: CallInput) -> None:
    m, changes, clock = machine()
    drive_to(m, start)
    before = len(changes)
    clock.t = 500.0
    result = m.handle(event)
    expected = TRANSITIONS.get((start, event), start)
    assert result is expected is m.state
    if expected is start:
        assert len(changes) == before  # no emit without a real change
    else:
        assert changes[-1] == (start, expected, 500.0)
        assert m.since == 500.0


def test_terminal_states_ignore_everything() -> None:
    for terminal in (S.LEFT, S.FAILED):
        m, changes, _ = machine()
        drive_to(m, terminal)
        count = len(changes)
        for event in In:
            assert m.handle(event) is terminal
        assert len(changes) == count
        assert m.finished


def test_logs_old_to_new(caplog: pytest.LogCaptureFixture) -> None:
    m, _, _ = machine()
    with caplog.at_level(logging.INFO, logger="app.call.state"):
        m.handle(In.JOIN)
    assert "idle -> joining" in caplog.text
