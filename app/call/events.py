"""What the call engine tells its listeners (the headless JSON printer, the Qt bridge, fallback).

Every event carries `at`, a monotonic timestamp in seconds. Peers are named by the server's
`peer_id`; `name` and `role` come from the roster and are shown in the UI, never logged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy as np

from app.devices.base import DeviceProblem, Frame


class CallState(enum.Enum):
    IDLE = "idle"
    JOINING = "joining"
    WAITING = "waiting"  # in the room, nobody else connected yet
    CONNECTED = "connected"
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
    packet_loss_pct: float | None  # None: no packet expected (app.call.stats)
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
    # "video" | "audio_only": what we send this peer now (app.call.media_mode decides).
    mode: str = "video"
    # Per stream, counted by SSRC (app.call.stats explains blackouts): loss of what the peer
    # sent us in the last interval, RTX excluded; None when no packet was expected.
    # packet_loss_pct above is video's figure (audio's when the peer sends no video).
    video_loss_pct: float | None = None
    audio_loss_pct: float | None = None
    audio_bitrate_in_kbps: float = 0.0  # RTP payload (Opus) bytes
    audio_packets_in: float = 0.0  # per second; ~50 while the peer's microphone track runs
    audio_since_last_packet_s: float | None = None
    # True: no RTCP receiver report for > 2 s, so rtt_ms is None rather than its last value
    # (packet_loss_out_pct then is that old report's figure).
    rtt_stale: bool = False
    video_rtx_packets_in: float = 0.0  # retransmissions per second, not part of the loss
    # What the peer's receiver estimates the link to it carries for our video (its last REMB,
    # kbit/s); None before its first one, or with no video sent to it. The honest figure for
    # "the link cannot carry this": what our encoder happened to produce (bitrate_out_kbps)
    # also falls when this machine is short of CPU or the picture is still.
    estimate_out_kbps: float | None = None


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
    """A decoded remote video frame, as the decoder made it (YUV 4:2:0): whoever shows it
    converts it once, straight to what it paints at the size it paints (app.ui.frame_pixels).
    Delivered off the GUI thread; never printed."""

    at: float
    peer_id: str
    video: av.VideoFrame = field(repr=False)

    @property
    def frame(self) -> Frame:
        """The picture as a BGR array, converted on each call: for tests and tools, not the GUI."""
        return np.asarray(self.video.to_ndarray(format="bgr24"), np.uint8)


@dataclass(frozen=True)
class PeerLeft:
    at: float
    peer_id: str
    # "left" | "timeout" | "replaced" | "revoked" (from the server) | "failed" (media failed,
    # or never connected: a CallError `peer_unreachable` comes first)
    reason: str


@dataclass(frozen=True)
class Left:
    at: float
    reason: str


@dataclass(frozen=True)
class CallError:
    """Something the user must be told. `code` is stable (e.g. token_expired); `message` is
    plain words for a person.

    Codes: the server's (docs/protocol.md: token_invalid, token_expired, token_revoked,
    room_full, replaced, ...) and the engine's own: `server_unreachable` (no answer at the
    address), `server_untrusted` (its TLS certificate failed verification), `server_not_https` (an
    https:// address answered without TLS: the address is wrong), `server_closed`
    (closed before welcome), `server_lost` (the signaling connection dropped mid-call),
    `protocol_error` (a malformed server message, or one past the protocol's limits: before
    welcome the join fails, after it the message is ignored and the call goes on, unless the
    server keeps sending them: more than 10 at once, or one every 6 s on end, and the call ends
    with a last protocol_error), `peer_unreachable` (the connection to the peer
    `peer_id` did not come up within the negotiation deadline, or failed before it ever did).
    The engine is FAILED after every code except an ignored `protocol_error` and
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


@dataclass(frozen=True)
class PeerInterrupted:
    """Nothing (no RTP bytes, no frames, no data-channel heartbeat) came from this peer for the
    watchdog's limit, or its connection failed. Not a departure: the tile dims and says
    "Reconnecting"; PeerRestored or (after the retries) PeerLeft follows.

    `reason`: "no_media" (the watchdog), "connection_failed" (the peer connection failed),
    "peer_reconnecting" (the server says the peer's signaling dropped and media stopped too)."""

    at: float
    peer_id: str
    reason: str


@dataclass(frozen=True)
class PeerRestored:
    at: float
    peer_id: str
    ms_interrupted: float


@dataclass(frozen=True)
class Reconnecting:
    """An attempt (1, 2, ...) to bring back the signaling socket or one peer connection
    (`peer_id` set when `what == "peer"`)."""

    at: float
    what: str  # "signaling" | "peer"
    attempt: int
    peer_id: str | None = None


@dataclass(frozen=True)
class Reconnected:
    at: float
    what: str  # "signaling" | "peer"
    ms: float  # from the loss being noticed to being back
    peer_id: str | None = None


@dataclass(frozen=True)
class MediaModeChanged:
    """Video to one peer (direction "send") or from one peer ("receive") paused or back."""

    at: float
    peer_id: str
    direction: str  # "send" | "receive"
    mode: str  # "video" | "audio_only"
    reason: str  # e.g. "loss", "rtt", "starved", "clean", "user", "peer"


@dataclass(frozen=True)
class ServerSwitched:
    """The call moved to another session server (the clinic's backup, or back). Addresses are
    scheme://host:port only: never a path, query or credentials."""

    at: float
    from_server: str
    to_server: str


@dataclass(frozen=True)
class ChatReceived:
    """A chat line from another participant. Shown, never logged."""

    at: float
    from_peer: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class ChatStatus:
    """Where one of our own chat lines stands: "sending", "delivered", "retrying"."""

    at: float
    message_id: str
    state: str


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
    | PeerInterrupted
    | PeerRestored
    | Reconnecting
    | Reconnected
    | MediaModeChanged
    | ServerSwitched
    | ChatReceived
    | ChatStatus
)
CallListener = Callable[[CallEvent], None]
