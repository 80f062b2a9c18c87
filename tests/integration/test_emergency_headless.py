"""`tandem emergency` and `tandem oncall --headless` as subprocesses against the real server on
loopback: a couple reaches a clinician and both see the other's video, two clinicians race,
nobody answers (exit 5), nobody listens (exit 4). Real aiortc media, real SQLite records.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.server.tokens import mint_token
from tests.integration.headless_process import ROOT, HeadlessProcess
from tests.lab.health import wait_for_health

pytestmark = pytest.mark.slow

SECRET = secrets.token_urlsafe(32)
# Small video: up to three participants with media share two cores with the rest.
MEDIA = ["--camera", "pattern", "--mic", "tone"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TandemServer:
    def __init__(self, tmp: Path, emergency: str) -> None:
        config = tmp / "server.toml"
        config.write_text(f"[emergency]\n{emergency}\n")
        self.data_dir = tmp / "data"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--config",
                str(config),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "TANDEM_SECRET": SECRET, "HOME": str(tmp)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_health(self.url, process=self.process)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def audit(self) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "app", "audit", "--data-dir", str(self.data_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout


def partner(room: str, name: str = "Alex") -> str:
    return mint_token(SECRET, room, "partner", name, 600)


def oncall(name: str) -> str:
    return mint_token(SECRET, "oncall", "oncall", name, 600)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TandemServer]:
    # Escalation well after any accept here (the unanswered test has a server of its own).
    running = TandemServer(
        tmp_path_factory.mktemp("server"), "ring_again_s = 30\neveryone_s = 60\nunanswered_s = 90"
    )
    try:
        yield running
    finally:
        running.stop()


def clinician(server: TandemServer, name: str, *options: str) -> HeadlessProcess:
    process = HeadlessProcess(
        ["oncall", "--headless", "--server", server.url, *MEDIA, "--duration", "60", *options],
        token=oncall(name),
    )
    process.wait_line("available")
    return process


def couple(url: str, room: str, *options: str) -> HeadlessProcess:
    return HeadlessProcess(
        ["emergency", "--server", url, *MEDIA, "--duration", "60", *options], token=partner(room)
    )


def test_a_couple_reaches_the_clinician_and_both_see_each_other(server: TandemServer) -> None:
    lee = clinician(server, "Dr Lee", "--accept-after", "0.2")
    alex = couple(server.url, "couple-reached", "--location", "home")
    try:
        case_id = alex.wait_line("requested")["case_id"]
        assert alex.wait_line("ringing")["count"] == 1
        accepted = alex.wait_line("accepted")
        assert accepted["clinician"] == "Dr Lee" and accepted["ms_since_request"] > 0
        ring = lee.wait_line("ring")
        assert ring["case_id"] == case_id and ring["tier"] == 1 and ring["ms_since_request"] >= 0
        assert lee.wait_line("accepted")["case_id"] == case_id
        # Each side decodes the other's video in the case's call.
        assert alex.wait_line("first_frame")["role"] == "oncall"
        assert lee.wait_line("first_frame")["role"] == "partner"
        lee.stop()  # a clinician going off shift ends the case it holds
        assert lee.finish() == 0
        assert alex.finish() == 0
        ended = alex.of("ended")[0]
        assert (ended["case_id"], ended["by"], ended["outcome"]) == (case_id, "clinician", "safe")
        assert "offline" not in alex.types()
    finally:
        lee.kill()
        alex.kill()
    records = server.audit()
    assert f"{case_id}  connected" in records and "outcome=safe" in records
    assert "home" not in records  # the location is never recorded


def test_two_clinicians_race_one_accepts_the_other_hears_it_was_taken(
    server: TandemServer,
) -> None:
    lee = clinician(server, "Dr Lee", "--accept-after", "0")
    kim = clinician(server, "Dr Kim", "--accept-after", "0")
    alex = couple(server.url, "couple-race")
    try:
        case_id = alex.wait_line("requested")["case_id"]
        winner_name = alex.wait_line("accepted")["clinician"]
        winner, loser = (lee, kim) if winner_name == "Dr Lee" else (kim, lee)
        assert winner.wait_line("accepted")["case_id"] == case_id
        taken = loser.wait_line("case_taken")
        assert taken["case_id"] == case_id
        assert taken["by"] in (winner_name, None)  # None: its accept came after the win
        assert "accepted" not in loser.types()
        assert winner.wait_line("first_frame")["role"] == "partner"
        winner.stop()
        assert alex.finish() == 0 and winner.finish() == 0
        loser.stop()
        assert loser.finish() == 0
    finally:
        for process in (lee, kim, alex):
            process.kill()


def test_nobody_accepts_the_case_goes_unanswered_exit_5(tmp_path: Path) -> None:
    fast = TandemServer(tmp_path, "ring_again_s = 0.5\neveryone_s = 1.0\nunanswered_s = 1.5")
    lee: HeadlessProcess | None = None
    kim: HeadlessProcess | None = None
    alex: HeadlessProcess | None = None
    try:
        lee = clinician(fast, "Dr Lee", "--never-accept")
        kim = clinician(fast, "Dr Kim", "--never-accept")
        alex = couple(fast.url, "couple-unanswered")
        assert alex.finish() == 5
        types = alex.types()
        assert types[0] == "requested"
        assert [line["level"] for line in alex.of("escalated")] == [1, 2, 3]
        assert types.index("unanswered") > types.index("escalated")
        assert alex.of("ended")[0]["by"] == "couple"  # the leaving command cancelled it
        for clinician_process in (lee, kim):
            assert clinician_process.wait_line("case_cancelled")
            assert "accepted" not in clinician_process.types()
            assert len(clinician_process.of("ring")) >= 3
            clinician_process.stop()
            assert clinician_process.finish() == 0
        records = fast.audit()
        assert "unanswered" in records and "cancelled" in records
    finally:
        for left in (lee, kim, alex):
            if left is not None:
                left.kill()
        fast.stop()


def test_a_server_nobody_listens_on_exit_4() -> None:
    alex = couple(f"http://127.0.0.1:{free_port()}", "couple-alone", "--give-up", "1")
    try:
        assert alex.finish() == 4
        offline = alex.of("offline")
        assert offline and offline[0]["reason"] == "unreachable"
        assert set(alex.types()) == {"offline"}
    finally:
        alex.kill()


def test_a_refused_token_exit_3(server: TandemServer) -> None:
    alex = HeadlessProcess(
        ["emergency", "--server", server.url, "--give-up", "5"],
        token=mint_token("another-secret-entirely-0123456789", "couple-x", "partner", "A", 600),
    )
    try:
        assert alex.finish() == 3
        assert alex.of("error")[0]["code"] == "token_invalid"
    finally:
        alex.kill()
