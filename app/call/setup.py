"""What one call is made of, decided without Qt: the server, the join token, whether ICE must
offer 127.0.0.1, and (practice mode) the simulated participant that comes along.

The window asks the person for a join code when the clinic's server needs one; every other
choice about a call is made here, so it can be tested without a display.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from app.devices.base import Camera, Microphone, Speaker

# Shared with `tandem join`: the token in the environment keeps it out of the process list.
JOIN_TOKEN_ENV = "TANDEM_JOIN_TOKEN"
LOOPBACK_ENV = "TANDEM_ICE_LOOPBACK"


class Companion(Protocol):
    """Someone who joins with us (practice mode's simulated therapist). May block briefly:
    called off the GUI thread."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 5.0) -> None: ...


@dataclass(frozen=True)
class CallSetup:
    """Everything one call needs. Device factories may block; they run off the GUI thread."""

    server_url: str
    token: str
    make_camera: Callable[[], Camera] | None = None
    make_microphone: Callable[[], Microphone] | None = None
    make_speaker: Callable[[], Speaker] | None = None
    allow_loopback: bool = False
    # Practice mode: started once we are in the room, stopped when we leave.
    companion: Companion | None = None
    video_size: tuple[int, int] = (640, 360)
    fps: int = 15
    # The equipment check's upload figure: the video starts at a size this link can carry.
    upload_mbps: float | None = None
    # The clinic's backup session server (same secret): used when the first cannot be reached.
    backup_url: str | None = None
    # The clinic's own certificate authority (PEM, the profile's ca_file), trusted for wss://.
    ca_file: Path | None = None


def needs_loopback_ice(server_url: str) -> bool:
    """A session server on this very machine (tests, a local demo): ICE must offer 127.0.0.1.
    Also on request, like `tandem join`: TANDEM_ICE_LOOPBACK=1."""
    host = urlsplit(server_url).hostname or ""
    forced = os.environ.get(LOOPBACK_ENV, "") not in ("", "0")
    return forced or host in ("127.0.0.1", "localhost", "::1")


def clinic_call(
    server_url: str, token: str, backup_url: str | None = None, ca_file: Path | None = None
) -> CallSetup:
    """A call on the clinic's server with the join code the person was given."""
    return CallSetup(
        server_url,
        token.strip(),
        allow_loopback=needs_loopback_ice(server_url),
        backup_url=backup_url,
        ca_file=ca_file,
    )


def environment_token() -> str | None:
    """A join code handed over in the environment (kiosk set-ups, tests), if any."""
    return os.environ.get(JOIN_TOKEN_ENV) or None
