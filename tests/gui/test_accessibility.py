"""Screen-reader announcements: the helper, the verdict banner and the crisis card use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.checks.result import Verdict, VerdictSummary
from app.profile import ClinicProfile, PhoneNumber
from app.ui import crisis_card, verdict_banner
from app.ui.accessibility import Politeness, announce
from app.ui.crisis_card import CrisisCard
from app.ui.verdict_banner import VerdictBanner
from app.ui.wording import VERDICT_TITLES

pytestmark = pytest.mark.gui

Spoken = list[tuple[QObject, str, Politeness]]


@pytest.fixture
def sent_events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[QAccessible.Event, str, object]]:
    """What reached QAccessible.updateAccessibility, read while the event is still alive."""
    sent: list[tuple[QAccessible.Event, str, object]] = []

    def record(event: QAccessibleEvent) -> None:
        assert isinstance(event, QAccessibleAnnouncementEvent)
        sent.append((event.type(), event.message(), event.politeness()))

    monkeypatch.setattr(QAccessible, "updateAccessibility", record)
    return sent


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> Spoken:
    said: Spoken = []

    def record(source: QObject, text: str, politeness: Politeness = Politeness.Polite) -> None:
        said.append((source, text, politeness))

    monkeypatch.setattr(verdict_banner, "announce", record)
    monkeypatch.setattr(crisis_card, "announce", record)
    return said


@pytest.fixture
def screen_reader_on() -> Iterator[None]:
    """Make Qt build accessibility events for real, as it does when a screen reader runs."""
    QAccessible.setActive(True)
    yield
    QAccessible.setActive(False)


@pytest.mark.usefixtures("screen_reader_on")
def test_announce_runs_offscreen_with_accessibility_active(
    qtbot: QtBot, styled_app: object
) -> None:
    label = QLabel("Result")
    qtbot.addWidget(label)
    label.show()
    assert QAccessible.isActive()
    announce(label, "You're ready for your session.")
    announce(label, "Now, at once.", Politeness.Assertive)


def test_announce_sends_one_announcement_event(
    qtbot: QtBot, styled_app: object, sent_events: list[tuple[QAccessible.Event, str, object]]
) -> None:
    label = QLabel("Result")
    qtbot.addWidget(label)
    announce(label, "  You're   ready.\n")
    announce(label, "   ")  # nothing to say: no event at all
    assert sent_events == [
        (QAccessible.Event.Announcement, "You're ready.", Politeness.Polite),
    ]


def test_the_banner_announces_the_verdict(qtbot: QtBot, styled_app: object, spoken: Spoken) -> None:
    banner = VerdictBanner()
    qtbot.addWidget(banner)
    banner.show_summary(VerdictSummary(Verdict.NOT_READY, ("camera",)))
    assert len(spoken) == 1
    source, text, _ = spoken[0]
    assert source is banner
    assert text.startswith(VERDICT_TITLES[Verdict.NOT_READY])
    assert "Not working yet: Camera." in text
    banner.show_problem("The check could not finish.", "Press “Run again”.")
    assert spoken[-1][1] == "The check could not finish. Press “Run again”."


def test_the_crisis_card_announces_its_numbers_when_it_opens(
    qtbot: QtBot, styled_app: object, spoken: Spoken
) -> None:
    profile = ClinicProfile(
        crisis_line=PhoneNumber("Samaritans", "116 123"), emergency_number="999"
    )
    card = CrisisCard(profile)
    qtbot.addWidget(card)
    assert spoken == []  # building the card says nothing; opening it does
    card.show()
    qtbot.waitExposed(card)
    assert len(spoken) == 1
    source, text, politeness = spoken[0]
    assert source is card
    assert "Samaritans: 116 123." in text
    assert "call 999" in text
    assert politeness is Politeness.Assertive
