"""Emergency connect across network namespaces (tests/lab): the couple's computer offline.

The server runs on the lab's router; the couple and the clinician on hosts of their own. A
blackholed link drops every packet arriving at the couple (a silent network, as a dead Wi-Fi
is): the couple's command must say `offline` while it keeps trying, send the request once the
network is back, and reach the clinician in a real call across the namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.headless_process import HeadlessProcess
from tests.lab.call_lab import CallLab
from tests.lab.netns import NetLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab(netlab: NetLab, tmp_path: Path) -> Iterator[CallLab]:
    running = CallLab(netlab, tmp_path)
    running.server_args = ("--data-dir", str(tmp_path / "data"))
    try:
        running.start_server("couple")
        running.host("clinic")
        yield running
    finally:
        running.close()


def command(lab: CallLab, host: str, args: list[str], token: str) -> HeadlessProcess:
    media = ["--camera", "pattern", "--mic", "tone"]
    return HeadlessProcess(
        [*args, "--server", lab.server_url, *media],
        token=token,
        env=lab.env,
        prefix=lab.host(host).command([]),
    )


def clinician(lab: CallLab, *options: str) -> HeadlessProcess:
    process = command(
        lab,
        "clinic",
        ["oncall", "--headless", "--duration", "90", *options],
        lab.token("Dr Lee", role="oncall", room="oncall"),
    )
    process.wait_line("available")
    return process


def test_an_offline_couple_is_told_at_once_and_reaches_help_when_back(lab: CallLab) -> None:
    lee = clinician(lab)
    link = lab.ends["couple"]
    lab.netlab.blackhole(link)
    alex = command(
        lab,
        "couple",
        ["emergency", "--duration", "90", "--give-up", "60"],
        lab.token("Alex", room="couple-lab"),
    )
    try:
        offline = alex.wait_line("offline")
        assert offline["reason"] == "timeout" and offline["retry_in_s"] == 0.0
        assert alex.types()[0] == "offline"  # said before anything else
        assert "ring" not in lee.types()  # nothing got through
        lab.netlab.restore(link)
        # The request made offline is sent once the network is back.
        case_id = alex.wait_line("requested")["case_id"]
        assert lee.wait_line("ring")["case_id"] == case_id
        assert alex.wait_line("accepted")["clinician"] == "Dr Lee"
        assert alex.wait_line("first_frame")["role"] == "oncall"
        assert lee.wait_line("first_frame")["role"] == "partner"
        lee.stop()
        assert lee.finish() == 0
        assert alex.finish() == 0
    finally:
        alex.kill()
        lee.kill()


def test_a_couple_losing_the_network_mid_case_comes_back_to_the_same_case(
    lab: CallLab,
) -> None:
    alex = command(
        lab, "couple", ["emergency", "--duration", "90"], lab.token("Alex", room="couple-lab-2")
    )
    lee: HeadlessProcess | None = None
    try:
        case_id = alex.wait_line("requested")["case_id"]  # nobody on call yet: it rings on
        link = lab.ends["couple"]
        lab.netlab.blackhole(link)
        assert alex.wait_line("offline")["reason"] in ("timeout", "lost")
        lab.netlab.restore(link)
        lee = clinician(lab)  # comes on duty: rung at once for the open case
        assert lee.wait_line("ring")["case_id"] == case_id
        accepted = alex.wait_line("accepted")
        assert accepted["case_id"] == case_id
        assert len(alex.of("requested")) == 1  # the same case, not a new one
        assert alex.wait_line("first_frame")["role"] == "oncall"
        lee.stop()
        assert lee.finish() == 0
        assert alex.finish() == 0
    finally:
        alex.kill()
        if lee is not None:
            lee.kill()
