"""A headless `tandem join` child process whose JSON lines are read on a thread.

Every wait is on a line, with a deadline: a test fails with what the participant did say rather
than hanging.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DEADLINE_S = 30.0
Line = dict[str, Any]


@dataclass
class Participant:
    name: str
    proc: subprocess.Popen[str]
    err_path: Path | None = None
    lines: queue.Queue[Line | None] = field(default_factory=queue.Queue)
    seen: list[Line] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self.lines.put(json.loads(text))
        self.lines.put(None)

    def wait_for(
        self, what: str, match: Callable[[Line], bool], timeout: float = DEADLINE_S
    ) -> Line:
        """The first line (already seen or still to come) that matches; fails at the deadline."""
        for line in self.seen:
            if match(line):
                self.seen.remove(line)
                return line
        while True:
            try:
                next_line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"{self.name}: no {what} within {timeout} s; saw {self.seen}")
            if next_line is None:
                pytest.fail(f"{self.name} ended (rc {self.proc.wait()}) before {what}: {self.seen}")
            if match(next_line):
                return next_line
            self.seen.append(next_line)

    def wait_type(self, kind: str, **fields: Any) -> Line:
        """The first line of `kind` with these fields (already seen or still to come)."""

        def match(line: Line) -> bool:
            return line["type"] == kind and all(line.get(k) == v for k, v in fields.items())

        return self.wait_for(f"{kind} {fields}", match)

    def stop(self) -> int:
        """SIGTERM: the participant leaves cleanly, prints `left` and exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        self.wait_type("left")
        return self.proc.wait(timeout=DEADLINE_S)
