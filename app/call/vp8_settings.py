"""aiortc's VP8 encoder with libvpx's speed and threads chosen by measurement (Qt-free).

aiortc's `Vp8Encoder` makes its libvpx context inside `encode()` with fixed options; the only
way to change them is to make the context ourselves, so `TunedVp8Encoder.encode` is aiortc's own
(same rate control, same packetizer, same picture ids) with two options taken from here:

- `cpu-used`, libvpx's speed (realtime deadline): a negative value is a fixed speed |n|, a
  positive one lets libvpx pick the speed from how long frames took (so it drifts with the
  machine's load). `benchmarks/vp8_encoder.py` (640x360, 15 fps, a moving textured picture, the
  top rung's 540 kbit/s target, 2 shared cores under load), CPU ms per frame and PSNR of the
  decoded luma, one thread:
      -4: 3.2 ms 39.9 dB   -6: 2.0 ms 39.7 dB   -8: 1.8 ms 39.2 dB   -10: 1.7 ms 39.2 dB
      -12: 1.6 ms 38.5 dB  -16: 1.6 ms 29.9 dB
  An encode at aiortc's -6 is ~2 ms, 3 % of a core at 15 fps; going faster saves at most
  0.4 ms a frame (under 1 % of a core, one shared encode) for 0.5-1.2 dB, and -16 wrecks the
  picture. So -6 stays, now pinned here rather than inherited.
- threads: the same runs with 2 threads cost 15-79 ms of CPU a frame (wall p95 0.13-0.7 s),
  most likely because libvpx's row threads wait for each other by spinning, ruinous on two
  busy cores. aiortc's own rule (`vpx.number_of_threads`: one thread up to 640x480 or below
  3 cores) is kept; it gives one thread here.

- the quantizer floor (rc_min_quantizer; aiortc sets 2, the finest): with it at 2, CBR spends
  the whole target on any picture, so a still talking head went out at the cap however little
  it needed, most of the bits on sensor noise. A floor of 12 lets a simple picture undershoot.
  `benchmarks/picture_quality.py` (the benchmarks' talking-head clip with webcam noise, 8 s,
  each rung at its cap): 640x360@15 at 600 kbit/s sends 171 instead of 621 kbit/s for 0.1 dB
  of PSNR (44.7 -> 44.6); 320x180 rungs lose ~1.5 dB (46.7 -> 45.2-45.4) at 52-76 kbit/s
  instead of 133-208. Without noise: 136 instead of 622. 16 loses another 0.3-0.7 dB on the
  small rungs. A moving or detailed picture still climbs to the cap: the floor only stops the
  bits the picture does not need.

`last_keyframe` says whether the latest `encode()` made a keyframe (the shared encoder needs to
know where a peer may start decoding).
"""

from __future__ import annotations

import multiprocessing

import av
from aiortc.codecs import vpx
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext

CPU_USED = -6
MIN_QUANTIZER = 12


def vp8_context(
    width: int,
    height: int,
    bitrate: int,
    *,
    cpu_used: int = CPU_USED,
    threads: int | None = None,
    min_quantizer: int = MIN_QUANTIZER,
) -> VideoCodecContext:
    """A libvpx VP8 context with aiortc's rate control (CBR, 1 s buffer, no lag) and our speed."""
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, VideoCodecContext)
    codec.width = width
    codec.height = height
    codec.bit_rate = bitrate
    codec.pix_fmt = "yuv420p"
    codec.gop_size = 3000  # kf_max_dist: keyframes only when asked for (PLI, new size)
    codec.qmin = min_quantizer
    codec.qmax = 56
    codec.options = {
        "bufsize": str(bitrate),  # FFmpeg: rc_buf_sz = bufsize * 1000 / bit_rate = 1000 ms
        "cpu-used": str(cpu_used),
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),  # minrate = maxrate = bit_rate: CBR
        "maxrate": str(bitrate),
        "noise-sensitivity": "4",
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
    }
    if threads is None:
        threads = vpx.number_of_threads(width * height, multiprocessing.cpu_count())
    codec.thread_count = threads
    return codec


class TunedVp8Encoder(vpx.Vp8Encoder):
    """aiortc's VP8 encoder, its context made by `vp8_context` (a `Vp8Encoder`, so
    `app.call.bitrate_caps.set_vp8_target` and aiortc's REMB setter work on it unchanged)."""

    def __init__(
        self,
        *,
        cpu_used: int = CPU_USED,
        threads: int | None = None,
        min_quantizer: int = MIN_QUANTIZER,
    ) -> None:
        super().__init__()
        self.cpu_used = cpu_used
        self.threads = threads
        self.min_quantizer = min_quantizer
        self.last_keyframe = False

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if frame.pts is None or frame.time_base is None:
            raise ValueError("a video frame to send has a timestamp (aiortc's tracks stamp them)")
        target = self.target_bitrate
        if self.codec and (
            frame.width != self.codec.width
            or frame.height != self.codec.height
            # aiortc's rule: a new context (so a keyframe) only when the target moves > 10 %.
            or abs(target - (self.codec.bit_rate or 1)) / (self.codec.bit_rate or 1) > 0.1
        ):
            self.codec = None
        if force_keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        if self.codec is None:
            self.codec = vp8_context(
                frame.width,
                frame.height,
                target,
                cpu_used=self.cpu_used,
                threads=self.threads,
                min_quantizer=self.min_quantizer,
            )
        # Before encoding: PyAV rebases the frame's pts to the codec's time base in place, and
        # aiortc's conversion after it is then off by a tick now and then.
        timestamp = convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)
        data = b""
        keyframe = False
        for packet in self.codec.encode(frame):
            data += bytes(packet)
            keyframe = keyframe or packet.is_keyframe
        self.last_keyframe = keyframe
        if not data:
            return [], timestamp  # nothing sent: the next picture keeps the id (no gap seen)
        payloads = self._packetize(data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads, timestamp
