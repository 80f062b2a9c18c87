"""A headless `tandem` command as a subprocess whose JSON lines are read as they come.

The lines are read by a thread into a list; `wait_line` waits on a condition for a line of a
type (bounded), so a test awaits the line that proves a step, never the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 30.0


class HeadlessProcess:
    def __init__(
        self,
        args: list[str],
        *,
        token: str,
        env: dict[str, str] | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        """`prefix` runs the command through another (a network namespace's `ip netns exec`)."""
        # The token goes in the environment, as it should outside tests (out of `ps`).
        environment = {**os.environ, **(env or {}), "TANDEM_JOIN_TOKEN": token}
        self.process = subprocess.Popen(
            [*(prefix or []), sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.stderr = ""
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for raw in self.process.stdout:
                line = json.loads(raw)
                with self._changed:
                    self.lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self.stderr = self.process.stderr.read()

    def types(self) -> list[str]:
        with self._changed:
            return [line["type"] for line in self.lines]

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [line for line in self.lines if line["type"] == kind]

    def wait_line(self, kind: str, timeout: float = LINE_TIMEOUT_S) -> dict[str, Any]:
        """The first line of `kind`, waiting for it at most `timeout` s (AssertionError)."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: (
                    any(x["type"] == kind for x in self.lines) or self.process.poll() is not None
                ),
                timeout,
            )
            lines = [x for x in self.lines if x["type"] == kind]
        if not lines:
            raise AssertionError(f"no {kind!r} line (found={found}): {self.types()}\n{self.stderr}")
        return lines[0]

    def stop(self) -> None:
        """SIGTERM: the command ends as it does on Ctrl-C."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def finish(self, timeout: float = EXIT_TIMEOUT_S) -> int:
        """The exit status (AssertionError after `timeout`; the process is killed then)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running after {timeout} s: {self.types()}") from None
        for reader in self._readers:
            reader.join(timeout=5)
        assert "Traceback" not in self.stderr, self.stderr
        return code

    def kill(self) -> None:
        """Whatever happened, nothing is left running or open."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)
