"""A `tandem` process ends with its command's status and every line it printed, even though it
skips the interpreter's teardown (app.process_exit explains why)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import logging, sys
from app.process_exit import run_and_exit

def main():
    logging.basicConfig(stream=sys.stderr)
    print("a line still in stdout's buffer", end="")
    logging.getLogger("app.demo").warning("a log line")
    {body}

run_and_exit(main)
"""


def run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM.format(body=body)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("return 0", 0),
        ("return 3", 3),
        ("sys.exit(2)", 2),  # argparse's usage errors
        ("sys.exit()", 0),
        ("sys.exit('tandem: a message')", 1),
        ("raise KeyboardInterrupt", 130),
    ],
)
def test_status_and_output_survive_the_fast_exit(body: str, status: int) -> None:
    finished = run(body)
    assert finished.returncode == status
    assert finished.stdout == "a line still in stdout's buffer"
    assert "a log line" in finished.stderr


def test_an_exit_message_reaches_stderr() -> None:
    assert "tandem: a message" in run("sys.exit('tandem: a message')").stderr
