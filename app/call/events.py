"""What the call engine tells its listeners (the headless JSON printer, the Qt bridge, fallback).

Every event carries `at`, a monotonic timestamp in seconds. Peers are named by the server's
`peer_id`; `name` and `role` come from the roster and are shown in the UI, never logged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from app.devices.base import DeviceProblem, Frame


class CallState(enum.Enum):
    IDLE = "idle"
    JOINING = "joining"
    WAITING = "waiting"  # in the room, nobody else connected yet
    CONNECTED = "connected"
    # DEGRADED / RECONNECTING come with the fallback issue.
    LEFT = "left"
    FAILED = "failed"


@dataclass(frozen=True)
class Peer:
    peer_id: str
    name: str
    role: str  # "partner" | "therapist" | "oncall"


@dataclass(frozen=True)
class PeerStats:
    """Once per second per peer: what the quality indicator and fallback act on."""

    peer_id: str
    bitrate_in_kbps: float
    bitrate_out_kbps: float
    packet_loss_pct: float
    rtt_ms: float | None
    jitter_ms: float | None
    fps_in: float
    since_last_frame_s: float | None
    since_last_byte_s: float | None
    # Loss of what we send, as the peer last reported it (RTCP, about once a second); None
    # until its first report. packet_loss_pct above is what we receive.
    packet_loss_out_pct: float | None = None
    # What the local video is sent at right now (the same for every peer: one shared track);
    # None without local video. app.call.video_profile moves these with the link.
    sent_width: int | None = None
    sent_height: int | None = None
    sent_fps: int | None = None


@dataclass(frozen=True)
class Joined:
    """In the room. `peers` is the roster at that moment; PeerJoined follows only for
    participants who arrive later."""

    at: float
    peer_id: str
    room: str
    peers: tuple[Peer, ...]


@dataclass(frozen=True)
class StateChanged:
    at: float
    old: CallState
    new: CallState


@dataclass(frozen=True)
class PeerJoined:
    at: float
    peer: Peer


@dataclass(frozen=True)
class PeerConnected:
    at: float
    peer_id: str


@dataclass(frozen=True)
class FirstFrame:
    at: float
    peer_id: str
    ms_since_join: float


@dataclass(frozen=True)
class StatsReport:
    at: float
    stats: PeerStats


@dataclass(frozen=True)
class RemoteFrame:
    """A decoded remote video frame (BGR). Delivered off the GUI thread; never printed."""

    at: float
    peer_id: str
    frame: Frame = field(repr=False)


@dataclass(frozen=True)
class PeerLeft:
    at: float
    peer_id: str
    # "left" | "timeout" | "replaced" (from the server) | "failed" (media failed, or never
    # connected: a CallError `peer_unreachable` comes first)
    reason: str


@dataclass(frozen=True)
class Left:
    at: float
    reason: str


@dataclass(frozen=True)
class CallError:
    """Something the user must be told. `code` is stable (e.g. token_expired); `message` is
    plain words for a person.

    Codes: the server's (docs/protocol.md: token_invalid, token_expired, room_full, replaced,
    ...) and the engine's own: `server_unreachable` (no answer at the address), `server_closed`
    (closed before welcome), `server_lost` (the signaling connection dropped mid-call),
    `protocol_error` (a malformed server message: before welcome the join fails, after it the
    message is ignored and the call goes on), `peer_unreachable` (the connection to the peer
    `peer_id` did not come up within the negotiation deadline, or failed before it ever did).
    The engine is FAILED after every code except a `protocol_error` during the call and
    `peer_unreachable`: then the engine has closed only that peer's connection (a PeerLeft with
    reason "failed" follows) and the call goes on. app.call.refusal_words has the words a
    person is shown for each code."""

    at: float
    code: str
    message: str
    peer_id: str | None = None  # the peer concerned, for errors about one peer only


@dataclass(frozen=True)
class LocalDeviceProblem:
    """One of our own devices stopped working during the call; the call goes on without it.

    Today only `device == "camera"`: frames came, then none for CAMERA_LOST_AFTER_S (unplugged,
    taken by another program, a driver crash). Said once per loss; the video track keeps sending
    black frames. Switching the camera off and on again is the person's retry. Not a CallError:
    nothing about the connection failed, and the engine's state does not change."""

    at: float
    device: str  # "camera"
    problem: DeviceProblem  # what the last attempt to read it said


CallEvent = (
    Joined
    | StateChanged
    | PeerJoined
    | PeerConnected
    | FirstFrame
    | StatsReport
    | RemoteFrame
    | PeerLeft
    | Left
    | CallError
    | LocalDeviceProblem
)
CallListener = Callable[[CallEvent], None]
