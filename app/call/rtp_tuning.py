"""One call per peer connection to apply Tandem's media tuning to aiortc (Qt-free).

    tuning = tune_connection(pc, cap, shared=enc)  # after setLocal/RemoteDescription
    cap.set(200)                        # the video ladder, per rung (one BitrateCap per call)
    tuning.video_gate.pause()           # audio-only to this peer; .resume() brings video back

and in the loop that drains a remote video track, `await recv_fresh(track)` instead of
`await track.recv()`. `cap` and `enc` (a SharedVideoEncoder: one VP8 encode per frame for every
peer) belong to the local video track. See receive_tuning, send_tuning, shared_encoder and
bitrate_caps for what each part does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from app.call.bitrate_caps import BitrateCap
from app.call.receive_tuning import ReceiverTuning, recv_fresh, tune_receiver
from app.call.send_tuning import SenderTuning, VideoGate, tune_sender
from app.call.shared_encoder import SharedVideoEncoder

__all__ = ["ConnectionTuning", "recv_fresh", "tune_connection"]


@dataclass
class ConnectionTuning:
    """What was tuned on one connection; the counts are for stats, tests and benchmarks."""

    senders: list[SenderTuning] = field(default_factory=list)
    receivers: list[ReceiverTuning] = field(default_factory=list)
    video_gate: VideoGate | None = None

    def video_estimate_kbps(self) -> float | None:
        """The peer's last bandwidth estimate (REMB) for our video; None before one came."""
        for sender in self.senders:
            if sender.share is not None and sender.share.estimate_bps is not None:
                return sender.share.estimate_bps / 1000
        return None

    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        parts = [s.counts for s in self.senders] + [r.counts for r in self.receivers]
        for counts in parts + [r.jitter.counts for r in self.receivers]:
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
        return total


def tune_connection(
    pc: RTCPeerConnection,
    cap: BitrateCap | None = None,
    *,
    shared: SharedVideoEncoder | None = None,
    now: Callable[[], float] = time.monotonic,
) -> ConnectionTuning:
    """Tune every sender and receiver `pc` has now; call again after a later
    setRemoteDescription to pick up new ones (each part is tuned once). `shared` is the local
    video track's one encoder, for every connection that sends it."""
    tuning: ConnectionTuning | None = getattr(pc, "_tandem_tuning", None)
    if tuning is None:
        tuning = ConnectionTuning()
        pc._tandem_tuning = tuning  # type: ignore[attr-defined]
    for sender in pc.getSenders():
        sent = tune_sender(sender, cap, shared=shared, now=now)
        if sent not in tuning.senders:
            tuning.senders.append(sent)
        if sender.kind == "video" and tuning.video_gate is None:
            tuning.video_gate = VideoGate(sender)
    for receiver in pc.getReceivers():
        received = tune_receiver(receiver, now)
        if received is not None and received not in tuning.receivers:
            tuning.receivers.append(received)
    return tuning
