"""What an aiortc RTCRtpSender sends beyond the picture itself: retransmissions, the encoder's
target and Opus's loss protection; and a gate that stops video to one peer (Qt-free).

aiortc 1.16 answers every NACK with every listed packet still in its 128-packet history, and
its receivers repeat the whole missing list at each new gap: on a 0.3 Mbit/s link that made
4-5 Mbit/s of retransmissions. Here a retransmission must be young enough to still be played
(the receive side drops what is older than ~0.3 s), is resent only once the last copy had time
to arrive, and all of them together stay within a share of the encoder's target. The hooks are
set on one sender instance (its methods are looked up on the instance first), never on aiortc's
classes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpSender, clock
from aiortc.codecs import get_encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RTCP_PSFB_APP, RTP_HISTORY_SIZE, RtcpPsfbPacket, unpack_remb_fci

from app.call.bitrate_caps import BitrateCap, CappedEncoderTarget, target_bps
from app.call.shared_encoder import EncoderPort, SharedVideoEncoder

log = logging.getLogger(__name__)

RTX_SHARE = 0.3  # retransmissions may add at most this share of the video target
RTX_BURST_S = 0.5  # ... with a bucket this deep, so a loss burst (a keyframe) is repaired at once
RTX_RETRY_S = 0.05  # a packet is resent again only this long (or 1.5 RTT) after the last time
RTX_MAX_AGE_S = 0.3  # the receive side's time bound: an older packet would be dropped there
RTX_OVERHEAD_BYTES = 40  # RTP, RTX and SRTP headers on top of the payload
OPUS_BITRATE = 48_000  # speech; aiortc's 96 kbit/s is a third of a 0.3 Mbit/s link
OPUS_EXPECTED_LOSS_PCT = 10  # libopus spends FEC bits in proportion to this hint


def abs_send_age_s(abs_send_time: int, now_ntp: int | None = None) -> float:
    """Seconds since a packet's abs-send-time extension (6.18 fixed point, wraps every 64 s)."""
    ntp = clock.current_ntp_time() if now_ntp is None else now_ntp
    return (((ntp >> 14) - abs_send_time) & 0xFFFFFF) / (1 << 18)


class RetransmitBudget:
    """A token bucket over retransmitted bytes, filled at `share` of the current target."""

    def __init__(self, now: Callable[[], float], share: float = RTX_SHARE) -> None:
        self._now = now
        self._share = share
        self._tokens = 0.0
        self._last: float | None = None

    def take(self, size: int, target_bps: int) -> bool:
        """Spend `size` bytes if the bucket holds them; the rate follows `target_bps`."""
        now = self._now()
        rate = self._share * target_bps / 8  # bytes per second
        if self._last is None:
            self._tokens = rate * RTX_BURST_S
        else:
            self._tokens = min(rate * RTX_BURST_S, self._tokens + rate * (now - self._last))
        self._last = now
        if self._tokens < size:
            return False
        self._tokens -= size
        return True


class SenderTuning:
    """The state behind one tuned sender; `counts` says what the retransmission rules did."""

    def __init__(
        self, sender: RTCRtpSender, cap: BitrateCap | None, now: Callable[[], float]
    ) -> None:
        self.sender = sender
        video = sender.kind == "video"
        self.share: CappedEncoderTarget | None = cap.target() if cap and video else None
        self.budget = RetransmitBudget(now)
        self.counts = {"rtx_sent": 0, "rtx_too_old": 0, "rtx_repeat": 0, "rtx_over_budget": 0}
        self._resent: dict[int, tuple[int, float]] = {}  # history slot -> (sequence, when)
        self._now = now

    def encoder(self) -> Any:
        return getattr(self.sender, "_RTCRtpSender__encoder", None)

    def video_target_bps(self) -> int:
        encoder = self.encoder()
        if self.share is not None and self.share.applied_bps is not None:
            return self.share.applied_bps
        return int(getattr(encoder, "target_bitrate", target_bps(None, None)))

    def max_age_s(self) -> float:
        """A resent packet still arrives within the receive side's bound (half an RTT on)."""
        rtt: float | None = getattr(self.sender, "_RTCRtpSender__rtt", None)
        return RTX_MAX_AGE_S if rtt is None else max(0.05, RTX_MAX_AGE_S - rtt / 2)

    def retry_s(self) -> float:
        rtt: float | None = getattr(self.sender, "_RTCRtpSender__rtt", None)
        return max(RTX_RETRY_S, 1.5 * rtt) if rtt is not None else RTX_RETRY_S

    def allow_retransmit(self, sequence_number: int) -> bool:
        """Whether aiortc may resend this packet now (counts every refusal by its reason)."""
        history: dict[int, Any] = getattr(self.sender, "_RTCRtpSender__rtp_history", {})
        slot = sequence_number % RTP_HISTORY_SIZE
        packet = history.get(slot)
        if packet is None or packet.sequence_number != sequence_number:
            return False  # aiortc would not find it either
        sent_at = packet.extensions.abs_send_time
        if sent_at is not None and abs_send_age_s(sent_at) > self.max_age_s():
            self.counts["rtx_too_old"] += 1
            return False
        # aiortc's receiver repeats its whole missing list at each new gap: resend only when
        # the last copy had time to arrive (it may have been lost too).
        last = self._resent.get(slot)
        now = self._now()
        if last is not None and last[0] == sequence_number and now - last[1] < self.retry_s():
            self.counts["rtx_repeat"] += 1
            return False
        if not self.budget.take(len(packet.payload) + RTX_OVERHEAD_BYTES, self.video_target_bps()):
            self.counts["rtx_over_budget"] += 1
            return False
        self._resent[slot] = (sequence_number, now)
        self.counts["rtx_sent"] += 1
        return True


def tune_sender(
    sender: RTCRtpSender,
    cap: BitrateCap | None = None,
    *,
    shared: SharedVideoEncoder | None = None,
    now: Callable[[], float] = time.monotonic,
    opus_bitrate: int = OPUS_BITRATE,
    opus_loss_pct: int = OPUS_EXPECTED_LOSS_PCT,
) -> SenderTuning:
    """Bound a sender's retransmissions, route its REMB through `cap` (video), encode its VP8
    once with the other senders of the same track through `shared` (app.call.shared_encoder),
    and give its Opus encoder in-band FEC (audio). Call once the sender exists (after addTrack /
    setLocalDescription), before media flows; calling again returns the first tuning unchanged."""
    existing: SenderTuning | None = getattr(sender, "_tandem_tuning", None)
    if existing is not None:
        return existing
    tuning = SenderTuning(sender, cap, now)
    sender._tandem_tuning = tuning  # type: ignore[attr-defined]

    original_retransmit: Callable[[int], Awaitable[None]] = sender._retransmit

    async def retransmit(sequence_number: int) -> None:
        if tuning.allow_retransmit(sequence_number):
            await original_retransmit(sequence_number)

    original_rtcp: Callable[[Any], Awaitable[None]] = sender._handle_rtcp_packet

    async def handle_rtcp(packet: Any) -> None:
        if (
            tuning.share is not None
            and isinstance(packet, RtcpPsfbPacket)
            and packet.fmt == RTCP_PSFB_APP
        ):
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if sender._ssrc in ssrcs:
                tuning.share.on_estimate(bitrate)  # instead of aiortc's clamped setter
            return
        await original_rtcp(packet)

    original_next: Callable[[Any], Awaitable[Any]] = sender._next_encoded_frame

    async def next_encoded_frame(codec: Any) -> Any:
        # aiortc makes its encoder on the first frame; make it here first so it is tuned
        # before it encodes anything (Opus options only count before the codec opens).
        if tuning.encoder() is None:
            vp8 = codec.mimeType.lower() == "video/vp8"
            encoder = shared.port() if shared is not None and vp8 else get_encoder(codec)
            if isinstance(encoder, OpusEncoder):
                tune_opus(encoder, opus_bitrate, opus_loss_pct)
            sender._RTCRtpSender__encoder = encoder  # type: ignore[attr-defined]
            if tuning.share is not None:
                tuning.share.on_encoder(encoder)
        port = tuning.encoder()
        if isinstance(port, EncoderPort) and port.backlog and sender._enabled:
            # Pictures of the shared encoder this peer missed, in order, before a new frame.
            picture = port.backlog.popleft()
            level = None  # video has no audio level (aiortc passes None too, typed int)
            return RTCEncodedFrame(picture.payloads, picture.timestamp, level)  # type: ignore[arg-type]
        return await original_next(codec)

    sender._retransmit = retransmit  # type: ignore[method-assign]
    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
    sender._next_encoded_frame = next_encoded_frame  # type: ignore[method-assign]
    return tuning


def tune_opus(encoder: OpusEncoder, bitrate: int, loss_pct: int) -> None:
    """In-band FEC with an expected-loss hint, on an encoder that has not encoded yet.

    libopus (through FFmpeg's `fec` and `packet_loss` options) only takes them when the codec
    opens, so the hint is fixed for the encoder's life; aiortc's decoder is FFmpeg's libopus,
    which does not use the FEC data (a browser's does): it protects what we send to browsers
    and costs bits, not what we receive.
    """
    encoder.codec.bit_rate = bitrate
    encoder.codec.options = {
        **encoder.codec.options,
        "fec": "1",
        "packet_loss": str(loss_pct),
    }


class VideoGate:
    """Stops and resumes our video to one peer on the same connection (no renegotiation).

    Paused, the sender has no track: aiortc's RTP loop idles and sends no video packets (RTCP
    goes on). Resumed, the next frame is a keyframe, so the picture is back at once.
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        self.sender = sender
        self._held: MediaStreamTrack | None = None

    @property
    def paused(self) -> bool:
        return self._held is not None

    def pause(self) -> None:
        if self._held is None and self.sender.track is not None:
            self._held = self.sender.track
            self.sender.replaceTrack(None)

    def resume(self) -> None:
        if self._held is not None:
            self.sender.replaceTrack(self._held)
            self._held = None
            self.sender._send_keyframe()
