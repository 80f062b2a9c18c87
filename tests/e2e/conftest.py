"""End-to-end fixtures: a session server on loopback, join tokens, headless participants and a
real Chromium (Debian's, driven by Playwright) with fake camera and microphone.

Everything here is on 127.0.0.1: `http://127.0.0.1` is a secure context, so getUserMedia works
without TLS; Chromium offers 127.0.0.1 candidates with `--allow-loopback-in-peer-connection` and
the headless participant with TANDEM_ICE_LOOPBACK=1.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.server.config import ServerConfig
from app.server.embedded import EmbeddedServer
from tests.lab.requirements import need

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]

# ../shared/PLATFORM.md: the flags that worked for a WebRTC call in headless Chromium here
# (Playwright adds --headless itself, which is the new headless mode in this Chromium).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--log-level=3",
]

Event = dict[str, Any]


@pytest.fixture(scope="session")
def session_server() -> Iterator[EmbeddedServer]:
    """The real session server (console included) on 127.0.0.1, on its own thread."""
    server = EmbeddedServer(
        ServerConfig(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))
    )
    server.start(timeout=15)
    try:
        yield server
    finally:
        server.stop()


def http_get(url: str) -> tuple[int, str]:
    """Status and body; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:  # its response holds a socket
            return error.code, ""


def mint_token(server: EmbeddedServer, role: str, name: str, room: str) -> str:
    """A join token from the real `tandem token` command, signed with the server's secret."""
    env = {**os.environ, "TANDEM_SECRET": server.config.secret}
    argv = [sys.executable, "-m", "app", "token", "--room", room, "--role", role, "--name", name]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"tandem token failed: {done.stderr.strip()[-500:]}"
    return done.stdout.strip().splitlines()[-1].strip()


class HeadlessParticipant:
    """`tandem join --headless` as a subprocess; its JSON lines are read on a thread."""

    def __init__(self, server_url: str, token: str, *extra: str) -> None:
        """`extra`: more `tandem join` arguments (e.g. --chat TEXT --chat-echo)."""
        env = {**os.environ, "TANDEM_ICE_LOOPBACK": "1", "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "app", "join", "--headless", "--server", server_url]
        argv += ["--token", token, "--camera", "pattern", "--mic", "tone", *extra]
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self.stderr_tail: list[str] = []
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                self.events.put(event)
        self.events.put(None)  # end of output

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail = [*self.stderr_tail[-40:], line.rstrip()]

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, what: str) -> Event:
        """The first event (seen before or arriving before the deadline) matching `predicate`."""
        for event in self.seen:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                arrived = self.events.get(timeout=left)
            except queue.Empty:
                break
            if arrived is None:  # the process ended; keep the marker for the next caller
                self.events.put(None)
                break
            self.seen.append(arrived)
            if predicate(arrived):
                return arrived
        raise AssertionError(
            f"headless participant: no {what} within {timeout:.0f} s; exit code "
            f"{self.proc.poll()}; events {[kind(e) for e in self.seen]}; stderr tail:\n"
            + "\n".join(self.stderr_tail[-15:])
        )

    def drain(self) -> list[Event]:
        """Every event so far (those already arrived are taken in without waiting)."""
        while True:
            try:
                arrived = self.events.get_nowait()
            except queue.Empty:
                break
            if arrived is None:
                self.events.put(None)
                break
            self.seen.append(arrived)
        return list(self.seen)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a test may have left it stopped
            self.proc.send_signal(signal.SIGINT)  # leave the room cleanly
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def kind(event: Event) -> str:
    """An event's name, whichever key the printer uses for it."""
    return str(event.get("event") or event.get("type") or "?")


@pytest.fixture
def headless_participants() -> Iterator[Callable[..., HeadlessParticipant]]:
    """Start headless participants (`start(server_url, token, *extra_args)`); every one is
    stopped afterwards, even on failure."""
    started: list[HeadlessParticipant] = []

    def start(server_url: str, token: str, *extra: str) -> HeadlessParticipant:
        participant = HeadlessParticipant(server_url, token, *extra)
        started.append(participant)
        return participant

    try:
        yield start
    finally:
        for participant in started:
            participant.stop()


@pytest.fixture
def chromium_page(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh Chromium profile with fake camera and microphone; closed afterwards.

    Parametrize indirectly with "camera_denied" to have every permission prompt refused.
    """
    need(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "Playwright for Python (pip install -e '.[dev]')")
        raise
    args = list(CHROMIUM_ARGS)
    if getattr(request, "param", None) == "camera_denied":
        args.remove("--use-fake-ui-for-media-stream")
        args.append("--deny-permission-prompts")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport={"width": 1280, "height": 760},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()
