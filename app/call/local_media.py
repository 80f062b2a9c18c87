"""The local side of a call (Qt-free): our video and audio tracks, mute, camera and video size.

One `LocalMedia` lives for the whole call. Peer connections come and go (a rebuild after an
outage, a move to the backup server), each subscribing to the same tracks through one
MediaRelay, so the devices behind them are opened once and closed once, when the call ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from app.call.audio_tracks import LocalAudioTrack, MicrophoneAudioTrack
from app.call.bitrate_caps import BitrateCap
from app.call.echo_canceller import EchoCanceller
from app.call.events import PeerStats
from app.call.media_mode import cap_kbps
from app.call.shared_encoder import SharedVideoEncoder
from app.call.video_profile import AdaptSettings, VideoAdapter, VideoProfile, ladder_for
from app.call.video_tracks import CameraVideoTrack, LocalVideoTrack
from app.devices.base import Camera, DeviceError, Microphone

log = logging.getLogger(__name__)

CameraLostCallback = Callable[[DeviceError], None]


class LocalMedia:
    """Tracks made from devices (or given ready-made, e.g. a test pattern), and the person's
    choices about them. `start()` makes the tracks; `release()` lets the devices go, once."""

    def __init__(
        self,
        *,
        camera: Camera | None = None,
        microphone: Microphone | None = None,
        video_track: LocalVideoTrack | None = None,
        audio_track: LocalAudioTrack | None = None,
        video_size: tuple[int, int] = (640, 360),
        fps: int = 15,
        upload_mbps: float | None = None,
        video_adaptation: AdaptSettings | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """`upload_mbps` (the equipment check's upload) picks the video's starting size;
        `video_adaptation` replaces the thresholds that move it during the call (tests)."""
        self._camera = camera
        self._microphone = microphone
        self.video: LocalVideoTrack | None = video_track
        self.audio: LocalAudioTrack | None = audio_track
        self._video_size = video_size
        self._fps = fps
        self._upload_mbps = upload_mbps
        self._video_adaptation = video_adaptation
        self._now = now
        self._relay = MediaRelay()
        # The ladder's rung holds every peer's video encoder to its bitrate (one shared track,
        # one profile, one cap).
        self.bitrate_cap = BitrateCap(now=now)
        # ... and one VP8 encode per frame serves them all (app.call.shared_encoder).
        self.video_encoder = SharedVideoEncoder(now=now)
        self._adapter: VideoAdapter | None = None
        self._muted = False
        self._camera_enabled = True
        self._released = False
        # Shared by the microphone track and every remote audio sink (its reference).
        self.echo: EchoCanceller | None = None
        self.on_camera_lost: CameraLostCallback | None = None

    @property
    def released(self) -> bool:
        """Whether the devices were let go (the call is over)."""
        return self._released

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def camera_enabled(self) -> bool:
        return self._camera_enabled

    def start(self, peers: int) -> None:
        """Make the tracks (idempotent); `peers` is how many copies the first video shares the
        upload among."""
        if self.video is None and self._camera is not None:
            self.video = CameraVideoTrack(
                self._camera,
                self._video_size,
                self._fps,
                on_lost=self._camera_lost,
                now=self._now,
            )
        if self.audio is None and self._microphone is not None:
            # Echo cancellation belongs to a real microphone (a test tone has no room).
            self.echo = EchoCanceller()
            self.audio = MicrophoneAudioTrack(self._microphone, self.echo)
        self.set_muted(self._muted)
        self.set_camera_enabled(self._camera_enabled)
        if self.video is not None and self._adapter is None:
            # Never above the track's own size; start where the upload allows for those here.
            video = self.video
            self._adapter = VideoAdapter(
                ladder_for(video.size, video.fps),
                upload_kbps=None if self._upload_mbps is None else self._upload_mbps * 1000,
                peers=peers,
                settings=self._video_adaptation,
            )
            self._apply(self._adapter.profile)

    def _apply(self, profile: VideoProfile) -> None:
        assert self.video is not None
        self.video.set_profile(profile.size, profile.fps)
        self.bitrate_cap.set(cap_kbps(profile))

    def subscribe(self, kind: str) -> MediaStreamTrack | None:
        """A new reader of our `kind` ("audio"/"video") track for one peer connection."""
        track = self.audio if kind == "audio" else self.video
        return None if track is None else self._relay.subscribe(track, buffered=False)

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if self.audio is not None:
            self.audio.muted = muted

    def set_camera_enabled(self, enabled: bool) -> None:
        self._camera_enabled = enabled
        if self.video is not None:
            self.video.enabled = enabled

    @property
    def sent_size(self) -> tuple[int, int] | None:
        return None if self.video is None else self.video.size

    @property
    def sent_fps(self) -> int | None:
        return None if self.video is None else self.video.fps

    def adapt(self, connected: Sequence[PeerStats]) -> VideoProfile | None:
        """One stats second for the video ladder; a new profile applies from the next frame."""
        if self._adapter is None or self.video is None:
            return None
        picture = self._camera_enabled and self.video.sending_picture
        profile = self._adapter.update(self._now(), connected, camera_on=picture)
        if profile is not None:
            self._apply(profile)
        return profile

    def _camera_lost(self, exc: DeviceError) -> None:
        if not self._released and self.on_camera_lost is not None:
            self.on_camera_lost(exc)

    async def release(self) -> None:
        """Stop the tracks and let the devices go (idempotent)."""
        if self._released:
            return
        self._released = True
        for track in (self.video, self.audio):
            if isinstance(track, CameraVideoTrack | MicrophoneAudioTrack):
                await track.release()
            elif track is not None:
                track.stop()
