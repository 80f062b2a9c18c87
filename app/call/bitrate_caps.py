"""The one place that holds the video bitrate cap of the current rung (Qt-free).

aiortc has no `setParameters`: its VP8 encoder takes its target from the receiver's REMB,
clamped to the module bounds of `aiortc/codecs/vpx.py` (250-1500 kbit/s), so a 320x180 rung
still sends 250 kbit/s or more. `BitrateCap` keeps each attached sender's last REMB estimate and
gives its encoder min(estimate, cap), written past the setter's clamp so that small rungs may go
below 250 kbit/s. `app.call.send_tuning.tune_sender` routes REMB here; the video ladder calls
`cap.set(kbps)` when it changes rung. The encoder rebuilds its libvpx context (one keyframe) when
the target moves by more than 10 %, so the target is only written when it really changes.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from aiortc.codecs import vpx

from app.call.shared_encoder import EncoderPort

log = logging.getLogger(__name__)

# On a steady target libvpx (aiortc's CBR settings) sends 0.89-0.98 x its target, RTP headers
# included (noise picture, benchmarks/media_recovery.py); each keyframe (a PLI, a new size, a new
# context) comes on top. Aiming at this share of the cap leaves room for them within cap + 15 %.
CAP_HEADROOM = 0.9

# No cap goes below this: no picture is worth sending; the audio-only rung takes over before.
FLOOR_BPS = 60_000

# aiortc's encoder starts a new libvpx context, and so a keyframe, whenever its target moves by
# more than 10 %; REMB climbs ~4 % per report, so following each rise re-keyed about every second
# (measured: 530-600 kbit/s seconds under a 350 kbit/s cap). Rises wait this long; falls do not.
RAISE_INTERVAL_S = 5.0


def target_bps(estimate_bps: int | None, cap_kbps: float | None) -> int:
    """The encoder's target: what aiortc itself would aim at (the receiver's estimate, its
    default before one arrives, within 250-1500 kbit/s), no more than the cap less the encoder's
    overshoot, no less than FLOOR_BPS.

    The estimate keeps aiortc's 250 kbit/s floor: its estimator follows what arrives, so below
    that it would chase an undershooting encoder down, re-keying at each step. A cap under
    250 kbit/s therefore holds the target steady at the cap.
    """
    target = vpx.DEFAULT_BITRATE if estimate_bps is None else estimate_bps
    target = max(vpx.MIN_BITRATE, min(target, vpx.MAX_BITRATE))
    if cap_kbps is not None:
        target = min(target, int(cap_kbps * 1000 * CAP_HEADROOM))
    return max(FLOOR_BPS, target)


def set_vp8_target(encoder: Any, bps: int) -> bool:
    """Write `bps` into an aiortc Vp8Encoder (or a sender's port on the shared one), past its
    setter's 250 kbit/s floor.

    Returns False for any other encoder (Opus, H.264), which is left alone.
    """
    if isinstance(encoder, EncoderPort):
        encoder.set_target(bps)  # the shared encode takes the lowest of its senders' targets
        return True
    if not isinstance(encoder, vpx.Vp8Encoder):
        return False
    # The name-mangled field behind `target_bitrate`; encode() reads it for rate and buffer.
    encoder._Vp8Encoder__target_bitrate = bps  # type: ignore[attr-defined]
    return True


class CappedEncoderTarget:
    """One video sender's share of a cap: its last REMB and its encoder (set by send_tuning)."""

    def __init__(self, cap: BitrateCap, now: Callable[[], float]) -> None:
        self._cap = cap
        self._now = now
        self.estimate_bps: int | None = None
        self.encoder: Any = None
        self.applied_bps: int | None = None
        self.applied_at: float | None = None

    def on_estimate(self, bps: int) -> None:
        """A REMB for this sender arrived: aiortc would have set the target from it."""
        self.estimate_bps = bps
        self.apply()

    def on_encoder(self, encoder: Any) -> None:
        """The sender made its encoder (lazily, on its first frame)."""
        self.encoder = encoder
        self.apply()

    def apply(self, raise_now: bool = False) -> None:
        """Give the encoder its target: at once when it falls (or `raise_now`), a rise only
        RAISE_INTERVAL_S after the last change."""
        bps = target_bps(self.estimate_bps, self._cap.kbps)
        if self.encoder is None or bps == self.applied_bps:
            return
        now = self._now()
        if (
            self.applied_bps is not None
            and bps > self.applied_bps
            and not raise_now
            and self.applied_at is not None
            and now - self.applied_at < RAISE_INTERVAL_S
        ):
            return
        if set_vp8_target(self.encoder, bps):
            self.applied_bps = bps
            self.applied_at = now


class BitrateCap:
    """A video bitrate cap shared by the senders of one call (one profile serves all peers).

    `set(kbps)` takes effect on every attached sender at its next frame; `set(None)` lifts it.
    """

    def __init__(
        self, kbps: float | None = None, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._kbps = kbps
        self._now = now
        self._targets: weakref.WeakSet[CappedEncoderTarget] = weakref.WeakSet()

    @property
    def kbps(self) -> float | None:
        return self._kbps

    def set(self, kbps: float | None) -> None:
        if kbps is not None and kbps <= 0:
            raise ValueError("a bitrate cap is positive (use None for no cap)")
        if kbps != self._kbps:
            log.debug("video bitrate cap %s -> %s kbit/s", self._kbps, kbps)
        self._kbps = kbps
        for target in list(self._targets):
            target.apply(raise_now=True)  # a rung up changes the size: a new context anyway

    def target(self) -> CappedEncoderTarget:
        """A new per-sender share of this cap (send_tuning keeps it alive with the sender)."""
        share = CappedEncoderTarget(self, self._now)
        self._targets.add(share)
        return share
