"""The call's audio path feeds the echo canceller: speaker blocks as its reference, microphone
blocks through it before they are sent."""

from __future__ import annotations

from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.call.audio_tracks import MicrophoneAudioTrack, RemoteAudioSink
from app.call.echo_canceller import EchoCanceller
from app.call.local_media import LocalMedia
from app.devices.base import AudioBlock
from app.devices.fakes import FakeMicrophone, FakeSpeaker


class RecordingCanceller(EchoCanceller):
    """Records what it is given; its capture output is silence, so its use is visible."""

    def __init__(self) -> None:
        super().__init__(enabled=False)
        self.rendered: list[tuple[int, int]] = []
        self.captured: list[tuple[int, int]] = []
        self.sources: set[object] = set()
        self.ended: set[object] = set()

    def process_render(self, block: AudioBlock, samplerate: int, source: object = None) -> None:
        self.rendered.append((block.size, samplerate))
        self.sources.add(source)

    def end_render(self, source: object = None) -> None:
        self.ended.add(source)

    def process_capture(self, block: AudioBlock, samplerate: int) -> AudioBlock:
        self.captured.append((block.size, samplerate))
        return np.zeros_like(block)


class ThreeFrames(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.sent == 3:
            raise MediaStreamError
        self.sent += 1
        pcm = np.full((1, 960), 1000, np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self.sent * 960
        return frame


async def test_microphone_blocks_go_through_the_canceller_before_sending() -> None:
    canceller = RecordingCanceller()
    track = MicrophoneAudioTrack(FakeMicrophone(level_dbfs=-6.0, realtime=False), canceller)
    try:
        for _ in range(3):
            frame = await track.recv()
            assert isinstance(frame, av.AudioFrame)
        assert canceller.captured[-1] == (960, 48_000)
        assert not frame.to_ndarray().any()  # what was sent is the canceller's output
    finally:
        await track.release()


async def test_remote_audio_played_is_the_cancellers_reference() -> None:
    canceller = RecordingCanceller()
    speaker = FakeSpeaker(realtime=False)
    sink = RemoteAudioSink(ThreeFrames(), speaker, canceller)
    await sink.run()
    assert sum(size for size, _ in canceller.rendered) > 0
    assert {rate for _, rate in canceller.rendered} == {48_000}
    assert canceller.sources == {sink} == canceller.ended  # its own voice in the mix, then gone


class PlayingStream:
    """A speaker stream that 'plays' each block at once, telling `on_played` (as PortAudio's
    callback does)."""

    def __init__(self, on_played: Callable[[AudioBlock], None] | None) -> None:
        self.on_played = on_played
        self.stopped = False

    def write(self, samples: AudioBlock) -> None:
        if self.on_played is not None:
            self.on_played(samples)

    def stop(self) -> None:
        self.stopped = True


class StreamSpeaker:
    samplerate = 48_000

    def __init__(self) -> None:
        self.streams: list[PlayingStream] = []

    def play(self, samples: AudioBlock) -> None:
        raise AssertionError("a streaming speaker's stream is used, not play()")

    def start_stream(self, on_played: Callable[[AudioBlock], None] | None = None) -> PlayingStream:
        self.streams.append(PlayingStream(on_played))
        return self.streams[-1]


async def test_a_streaming_speaker_gives_the_reference_as_the_device_plays_it() -> None:
    canceller = RecordingCanceller()
    speaker = StreamSpeaker()
    sink = RemoteAudioSink(ThreeFrames(), speaker, canceller)
    await sink.run()
    (stream,) = speaker.streams
    assert stream.stopped
    # Each block reached the canceller once, from the device's side (not again from the pump).
    assert sum(size for size, _ in canceller.rendered) == 3 * 960
    assert canceller.sources == {sink} == canceller.ended


def test_local_media_shares_one_canceller_with_its_microphone_track() -> None:
    media = LocalMedia(microphone=FakeMicrophone(realtime=False))
    assert media.echo is None
    media.start(peers=1)
    assert isinstance(media.audio, MicrophoneAudioTrack)
    assert media.echo is not None and media.echo.active
    media.audio.stop()
