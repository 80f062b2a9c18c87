"""The real microphone and speaker: PortAudio through sounddevice.

sounddevice is imported inside each call, never at import: a computer without PortAudio must get a
plain DeviceError(NO_AUDIO_SYSTEM), not a crash. Every call waits with a deadline.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from app.devices.base import (
    AudioBlock,
    AudioStream,
    DeviceError,
    DeviceInfo,
    DeviceProblem,
    SpeakerStream,
)

log = logging.getLogger(__name__)

START_MARGIN_S = 3.0  # opening a stream on a busy sound server can take a moment
MAX_RECORD_S = 600.0


def _sd() -> Any:
    try:
        import sounddevice
    except (OSError, ImportError) as error:  # "PortAudio library not found", or no sounddevice
        raise DeviceError(DeviceProblem.NO_AUDIO_SYSTEM, str(error)) from None
    return sounddevice


def _problem(error: Exception) -> DeviceError:
    """Translate PortAudio's and sounddevice's errors into our problems."""
    text = str(error)
    lower = text.lower()
    if (
        "no input device" in lower
        or "no output device" in lower
        or "error querying device" in lower
    ):
        return DeviceError(DeviceProblem.NOT_FOUND, text)
    if "invalid device" in lower or "no device" in lower:
        return DeviceError(DeviceProblem.NOT_FOUND, text)
    if "unavailable" in lower or "busy" in lower:
        return DeviceError(DeviceProblem.BUSY, text)
    if "permission" in lower or "denied" in lower:
        return DeviceError(DeviceProblem.PERMISSION, text)
    if "not initialized" in lower or "host api" in lower:
        return DeviceError(DeviceProblem.NO_AUDIO_SYSTEM, text)
    return DeviceError(DeviceProblem.FAILED, text)


def _device(device: str | int | None) -> str | int | None:
    """An id from list_inputs()/list_outputs() is an index written as a string."""
    return int(device) if isinstance(device, str) and device.strip().isdigit() else device


def _check_device(sd: Any, device: str | int | None, kind: str) -> None:
    """Raise NOT_FOUND early when there is no such device (clearer than a failed stream)."""
    try:
        info = sd.query_devices(device, kind=kind)
    except (ValueError, sd.PortAudioError) as error:
        raise _problem(error) from None
    channels = info.get("max_input_channels" if kind == "input" else "max_output_channels", 0)
    if channels < 1:
        raise DeviceError(DeviceProblem.NOT_FOUND, f"{info.get('name')} has no {kind} channels")


def _run_with_deadline(
    fn: Callable[[], Any],
    timeout: float,
    what: str,
    release_late: Callable[[Any], None] | None = None,
) -> Any:
    """Run a possibly blocking PortAudio call on a daemon thread, waiting at most `timeout`.

    A call that succeeds after the caller gave up has opened something nobody will ever close:
    `release_late` is then called with its value on the worker thread, so a stream that opened
    too late does not keep the microphone or the speakers busy for the life of the process.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()
    lock = threading.Lock()  # decides, once, whether the value goes to the caller or is released
    abandoned = False

    def run() -> None:
        try:
            value = fn()
        except Exception as error:  # handed to the caller
            outcome["error"] = error
            done.set()
            return
        with lock:
            late = abandoned
            if not late:
                outcome["value"] = value
                done.set()
        if late and release_late is not None:
            log.info("%s finished after its deadline; releasing what it opened", what)
            try:
                release_late(value)
            except Exception as error:  # nobody is waiting for it any more
                log.warning("releasing after %s failed: %s", what, error)

    threading.Thread(target=run, name=f"audio-{what}", daemon=True).start()
    if not done.wait(timeout):
        with lock:
            if not done.is_set():
                abandoned = True
        if abandoned:
            raise DeviceError(DeviceProblem.TIMEOUT, f"{what} took longer than {timeout:g} s")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, DeviceError):
            raise error
        raise _problem(error) from error
    return outcome.get("value")


class _Stream:
    def __init__(self, stream: Any, what: str) -> None:
        self._stream = stream
        self._what = what

    def stop(self) -> None:
        try:
            _run_with_deadline(self._stream.close, START_MARGIN_S, f"closing {self._what}")
        except DeviceError as error:
            log.warning("%s did not close: %s", self._what, error)


def _open_stream(
    sd: Any, kind: str, device: str | int | None, samplerate: int, **options: Any
) -> _Stream:
    """Open and start a mono float32 PortAudio stream ("input" or "output") within a deadline."""
    stream_class = sd.InputStream if kind == "input" else sd.OutputStream
    what = "the microphone" if kind == "input" else "the speakers"

    def start() -> Any:
        stream = stream_class(
            device=device, channels=1, samplerate=samplerate, dtype="float32", **options
        )
        stream.start()
        return stream

    def close_late(stream: Any) -> None:
        stream.close()

    return _Stream(
        _run_with_deadline(start, START_MARGIN_S, f"opening {what}", release_late=close_late),
        what,
    )


class SoundDeviceMicrophone:
    """A microphone by PortAudio device name or index (None: the system's default input)."""

    def __init__(self, device: str | int | None = None, samplerate: int = 48000) -> None:
        self.device = _device(device)
        self.samplerate = samplerate

    def record(self, seconds: float) -> AudioBlock:
        if not 0 < seconds <= MAX_RECORD_S:
            raise DeviceError(DeviceProblem.FAILED, f"cannot record {seconds} seconds")
        sd = _sd()
        _check_device(sd, self.device, "input")
        wanted = int(round(seconds * self.samplerate))
        buffer = np.zeros(wanted, np.float32)
        filled = 0
        done = threading.Event()

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            nonlocal filled
            count = min(frames, wanted - filled)
            buffer[filled : filled + count] = indata[:count, 0]
            filled += count
            if filled >= wanted:
                done.set()
                raise sd.CallbackStop

        stream = _open_stream(sd, "input", self.device, self.samplerate, callback=callback)
        try:
            if not done.wait(seconds + START_MARGIN_S):
                raise DeviceError(
                    DeviceProblem.TIMEOUT, f"recorded {filled} of {wanted} samples in time"
                )
        finally:
            stream.stop()
        return buffer

    def start(self, on_block: Callable[[AudioBlock], None], blocksize: int = 960) -> AudioStream:
        sd = _sd()
        _check_device(sd, self.device, "input")

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            on_block(indata[:, 0].copy())

        return _open_stream(
            sd, "input", self.device, self.samplerate, blocksize=blocksize, callback=callback
        )


class SoundDeviceSpeaker:
    """A speaker by PortAudio device name or index (None: the system's default output)."""

    def __init__(self, device: str | int | None = None, samplerate: int = 48000) -> None:
        self.device = _device(device)
        self.samplerate = samplerate

    def play(self, samples: AudioBlock) -> None:
        sd = _sd()
        _check_device(sd, self.device, "output")
        data = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        position = 0
        finished = threading.Event()

        def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
            nonlocal position
            count = min(frames, data.size - position)
            outdata[:count, 0] = data[position : position + count]
            outdata[count:, 0] = 0.0
            position += count
            if position >= data.size:
                raise sd.CallbackStop

        stream = _open_stream(
            sd,
            "output",
            self.device,
            self.samplerate,
            callback=callback,
            finished_callback=finished.set,
        )
        try:
            if not finished.wait(data.size / self.samplerate + START_MARGIN_S):
                raise DeviceError(DeviceProblem.TIMEOUT, "the sound did not finish playing")
        finally:
            stream.stop()

    def start_stream(
        self,
        on_played: Callable[[AudioBlock], None] | None = None,
        max_latency_s: float = 0.3,
    ) -> SpeakerStream:
        """A continuous output for a call's remote audio: one stream, no gaps between blocks;
        `on_played` hears each block as PortAudio takes it (silence included)."""
        sd = _sd()
        _check_device(sd, self.device, "output")
        fifo = SampleFifo(max_samples=int(max_latency_s * self.samplerate))

        def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
            block = fifo.read(frames)
            outdata[:, 0] = block
            if on_played is not None:
                on_played(block)

        stream = _open_stream(sd, "output", self.device, self.samplerate, callback=callback)
        return _PlaybackStream(stream, fifo)


class SampleFifo:
    """Samples waiting for the audio callback. The network side writes, the callback reads.

    Bounded: when more than `max_samples` wait (the network delivered a burst), the oldest are
    dropped, because a call must stay live rather than fall behind. An underrun plays silence.
    """

    def __init__(self, max_samples: int) -> None:
        self._max = max(max_samples, 1)
        self._blocks: deque[AudioBlock] = deque()
        self._queued = 0
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return self._queued

    def write(self, samples: AudioBlock) -> None:
        block = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self._blocks.append(block)
            self._queued += block.size
            while self._queued > self._max:
                excess = self._queued - self._max
                oldest = self._blocks[0]
                if oldest.size <= excess:
                    self._blocks.popleft()
                    self._queued -= oldest.size
                else:
                    self._blocks[0] = oldest[excess:]
                    self._queued -= excess

    def read(self, count: int) -> AudioBlock:
        out = np.zeros(count, dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < count and self._blocks:
                block = self._blocks[0]
                take = min(count - filled, block.size)
                out[filled : filled + take] = block[:take]
                filled += take
                self._queued -= take
                if take == block.size:
                    self._blocks.popleft()
                else:
                    self._blocks[0] = block[take:]
        return out


class _PlaybackStream:
    def __init__(self, stream: AudioStream, fifo: SampleFifo) -> None:
        self._stream = stream
        self._fifo = fifo

    def write(self, samples: AudioBlock) -> None:
        self._fifo.write(samples)

    def stop(self) -> None:
        self._stream.stop()


def _list(kind: str) -> list[DeviceInfo]:
    sd = _sd()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as error:
        raise _problem(error) from None
    return [
        DeviceInfo(str(index), str(info["name"]))
        for index, info in enumerate(devices)
        if info.get(key, 0) > 0
    ]


def list_inputs() -> list[DeviceInfo]:
    """Microphones PortAudio can see (raises DeviceError(NO_AUDIO_SYSTEM) without PortAudio),
    by the names a person knows (app.devices.audio_names)."""
    from app.devices.audio_names import person_names, sound_server_default

    return person_names(_list("input"), lambda: sound_server_default("source"))


def list_outputs() -> list[DeviceInfo]:
    """Speakers and headphones PortAudio can see, by the names a person knows."""
    from app.devices.audio_names import person_names, sound_server_default

    return person_names(_list("output"), lambda: sound_server_default("sink"))
