"""Practice mode without Qt: the app's own local session server, a fresh practice room with its
tokens, and the simulated therapist (a headless participant, `tandem join --headless`, in a
subprocess) who joins the same room."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import threading
from dataclasses import dataclass
from typing import IO, Protocol

from app.call.setup import JOIN_TOKEN_ENV, CallSetup
from app.frozen import tandem_command
from app.server.tokens import mint_token

log = logging.getLogger(__name__)

PRACTICE_NAME = "You"
THERAPIST_NAME = "Practice therapist"
TOKEN_TTL_S = 4 * 3600


@dataclass(frozen=True)
class PracticeTokens:
    room: str
    user: str
    therapist: str


def practice_tokens(secret: str, user_name: str = PRACTICE_NAME) -> PracticeTokens:
    """Two tokens for a fresh practice room: the user as a partner, the simulated therapist."""
    room = f"practice-{secrets.token_hex(4)}"
    return PracticeTokens(
        room,
        mint_token(secret, room, "partner", user_name, TOKEN_TTL_S),
        mint_token(secret, room, "therapist", THERAPIST_NAME, TOKEN_TTL_S),
    )


class PracticeServer(Protocol):
    url: str

    def stop(self) -> None: ...


class _HasSecret(Protocol):
    secret: str


def start_practice_server() -> PracticeServer:
    """The session server on 127.0.0.1 that practice mode runs everything against (blocks
    until it listens: call it off the GUI thread)."""
    from app.server.embedded import start_practice_server as start

    return start()


def practice_secret(server: PracticeServer) -> str | None:
    """The embedded server's token secret (EmbeddedServer.config.secret), if it has one."""
    config: _HasSecret | None = getattr(server, "config", None)
    secret = getattr(config, "secret", None)
    return secret if isinstance(secret, str) and secret else None


def practice_call(server: PracticeServer, token: str | None = None) -> CallSetup | None:
    """A call in a fresh practice room with the simulated therapist; None when the server
    cannot mint tokens. `token` replaces the person's own (tests)."""
    secret = practice_secret(server)
    if secret is None:
        return None
    tokens = practice_tokens(secret)
    return CallSetup(
        server.url,
        token or tokens.user,
        allow_loopback=True,
        companion=SimulatedTherapist(server.url, tokens.therapist),
    )


def headless_command(server_url: str, *, camera: str = "pattern", mic: str = "tone") -> list[str]:
    """The participant's command line; its token goes in the environment (TOKEN_ENV), never
    here, because any local user can read another process's arguments. `tandem_command`: the
    installed app has no `python -m app`."""
    return [
        *tandem_command(), "join", "--headless",
        "--server", server_url,
        "--camera", camera, "--mic", mic, "--allow-loopback",
    ]  # fmt: skip


def _read_events(stream: IO[bytes], joined: threading.Event) -> None:
    """Reads the participant's JSON lines: `joined` is set once it is in the room, and a
    failure shows in our log (codes only: the messages may name people)."""
    with stream:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "joined":
                joined.set()
            elif kind == "error":
                log.warning("simulated therapist: error %s", event.get("code"))


def _log_stderr(stream: IO[bytes]) -> None:
    with stream:
        for line in stream:
            log.debug("simulated therapist: %s", line.decode(errors="replace").rstrip())


class SimulatedTherapist:
    """Starts and stops the headless participant. `start`/`stop` may block briefly: call them
    off the GUI thread (Bridge.run_blocking)."""

    def __init__(self, server_url: str, token: str) -> None:
        self._command = headless_command(server_url)
        self._token = token
        self.process: subprocess.Popen[bytes] | None = None
        self._readers: list[threading.Thread] = []
        self.joined = threading.Event()  # set once it is in the room
        # start() and stop() run on worker threads; without the lock a stop that overtakes a
        # start would leave a therapist in the room after the user left.
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.process is not None:
                return
            process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, JOIN_TOKEN_ENV: self._token},
            )
            self.process = process
        self.joined.clear()
        readers = (
            threading.Thread(target=_read_events, args=(process.stdout, self.joined), daemon=True),
            threading.Thread(target=_log_stderr, args=(process.stderr,), daemon=True),
        )
        for thread in readers:
            thread.start()
        self._readers.extend(readers)
        log.info("simulated therapist started (pid %d)", process.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to leave (SIGTERM: it says goodbye to the server), kill it if it will not."""
        with self._lock:
            process, self.process = self.process, None
            readers, self._readers = self._readers, []
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout)
        for reader in readers:  # the pipes end with the process: its last lines get logged
            reader.join(timeout)
