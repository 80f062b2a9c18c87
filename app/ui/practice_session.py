"""Practice mode's simulated therapist: a headless participant (`python -m app join --headless`)
in a subprocess, joining the same practice room on the app's own local server."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys
from dataclasses import dataclass

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


def headless_command(
    server_url: str, token: str, *, camera: str = "pattern", mic: str = "tone"
) -> list[str]:
    return [
        sys.executable, "-m", "app", "join", "--headless",
        "--server", server_url, "--token", token,
        "--camera", camera, "--mic", mic, "--allow-loopback",
    ]  # fmt: skip


class SimulatedTherapist:
    """Starts and stops the headless participant. `start`/`stop` may block briefly: call them
    off the GUI thread (Bridge.run_blocking)."""

    def __init__(self, server_url: str, token: str) -> None:
        self._command = headless_command(server_url, token)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is None:
            self.process = subprocess.Popen(
                self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            log.info("simulated therapist started (pid %d)", self.process.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to leave (SIGTERM: it says goodbye to the server), kill it if it will not."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
