"""The peer's bandwidth estimate for our video (its REMB), as the stats carry it: a real aiortc
sender handed real REMB packets, read back through the connection's tuning."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from app.call.bitrate_caps import BitrateCap
from app.call.peer import rtc_configuration
from app.call.rtp_tuning import tune_connection


def remb(bitrate: int, ssrcs: list[int]) -> RtcpPsfbPacket:
    return RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
    )


async def test_the_last_remb_for_our_video_is_the_estimate() -> None:
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="sendrecv")
        tuning = tune_connection(pc, BitrateCap(600))
        assert tuning.video_estimate_kbps() is None  # before the peer's first REMB
        video = next(s for s in pc.getSenders() if s.kind == "video")
        await video._handle_rtcp_packet(remb(540_000, [video._ssrc]))
        assert tuning.video_estimate_kbps() == 540.0
        await video._handle_rtcp_packet(remb(310_000, [video._ssrc]))
        assert tuning.video_estimate_kbps() == 310.0  # the last one, not the best
        await video._handle_rtcp_packet(remb(90_000, [video._ssrc + 1]))
        assert tuning.video_estimate_kbps() == 310.0  # about another stream: not ours
    finally:
        await pc.close()


async def test_without_a_cap_there_is_no_estimate() -> None:
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        pc.addTransceiver("video", direction="sendrecv")
        tuning = tune_connection(pc)
        video = pc.getSenders()[0]
        await video._handle_rtcp_packet(remb(540_000, [video._ssrc]))
        assert tuning.video_estimate_kbps() is None  # aiortc's own handler took it
    finally:
        await pc.close()
