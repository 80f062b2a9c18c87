"""The open-files limit: raised at start where allowed, and the headroom kept below it."""

from __future__ import annotations

import resource
import subprocess
import sys

from app.server.fd_limit import ACCEPT_BURST, MIN_HEADROOM, connection_ceiling


def test_the_ceiling_keeps_a_tenth_or_at_least_64_and_an_accept_burst() -> None:
    assert connection_ceiling(None) is None
    assert connection_ceiling(1024) == 1024 - 102 - ACCEPT_BURST
    assert connection_ceiling(200) == 200 - MIN_HEADROOM - ACCEPT_BURST
    assert connection_ceiling(10) == 1
    assert connection_ceiling(1_048_576) == 1_048_576 - 104_857 - ACCEPT_BURST


def _in_child(soft: int, hard: int) -> str:
    """raise_soft_limit() in a process started with (soft, hard); what it says and returns."""
    code = (
        "import logging, resource; logging.basicConfig(level=logging.DEBUG, format='%(message)s')\n"
        "from app.server.fd_limit import raise_soft_limit\n"
        "print(raise_soft_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, preexec_fn=limit
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() + "|" + done.stderr.strip()


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    hard = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 4096)
    assert _in_child(256, hard) == f"{hard} {hard}|open-files limit raised from 256 to {hard}"


def test_nothing_to_raise_when_soft_is_hard() -> None:
    assert _in_child(300, 300) == "300 300|"
