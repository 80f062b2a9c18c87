"""One call as the person at this computer lives it (Qt-free): the supervisor of a call. It opens
the devices and makes the local media once, builds and joins the engine, keeps the person's
choices from their first click, and lets the devices go once, when the call ends: nothing the
engine does to survive a bad network (reconnects, rebuilt connections, a move to the backup
server) opens or closes a device.

The call page forwards clicks here and renders what comes back. Three things can happen while
the call is still connecting, and each must count: muting or switching the camera off (kept
and applied to the engine when it exists; a camera switched off is never opened), and leaving
(the join stops, and the server no longer counts this person in the room). Every method runs
on the asyncio loop, so the steps of one call never interleave mid-step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.call.engine import CallEngine
from app.call.local_media import LocalMedia
from app.devices.base import Camera, DeviceError, Microphone, Speaker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalDevices:
    """What the engine is built with; None where the person has no such device. `media` holds
    the camera and microphone as tracks for the whole call (owned by the session)."""

    camera: Camera | None
    microphone: Microphone | None
    speaker: Speaker | None
    media: LocalMedia | None = None


@dataclass(frozen=True)
class MediaSettings:
    """The video the call starts with: size, frame rate, and the checked upload (Mbps)."""

    video_size: tuple[int, int] = (640, 360)
    fps: int = 15
    upload_mbps: float | None = None


@dataclass(frozen=True)
class DeviceFactories:
    """Device makers; they may block (they run on worker threads, never on the loop)."""

    camera: Callable[[], Camera] | None = None
    microphone: Callable[[], Microphone] | None = None
    speaker: Callable[[], Speaker] | None = None


EngineFactory = Callable[[LocalDevices], CallEngine]
CameraProblemCallback = Callable[[DeviceError], None]


class CallSession:
    """Devices, engine and the person's choices for one call; every method runs on the loop."""

    def __init__(
        self,
        devices: DeviceFactories,
        make_engine: EngineFactory,
        on_camera_problem: CameraProblemCallback,
        media_settings: MediaSettings | None = None,
    ) -> None:
        """`on_camera_problem` runs on the loop when the camera cannot start (at the start of
        the call, or when the person switches it on again). The engine is built with the
        session's local media (`LocalDevices.media`): pass it on as `CallEngine(media=...)`."""
        self._factories = devices
        self._media_settings = media_settings or MediaSettings()
        self.media: LocalMedia | None = None
        self._make_engine = make_engine
        self._on_camera_problem = on_camera_problem
        self.muted = False
        self.camera_on = True
        self.leaving = False
        self.camera: Camera | None = None
        self.engine: CallEngine | None = None
        self._join_task: asyncio.Task[object] | None = None
        # Camera opens and closes can take seconds; one at a time, so the last choice wins.
        self._camera_lock = asyncio.Lock()

    async def join(self) -> bool:
        """Open the devices, then join the room. True once in the room; False when leave()
        came first (then nothing is left running: leave() has or will let everything go).
        Raises what the engine raises when the server refuses or cannot be reached."""
        if self.leaving:
            return False
        self._join_task = asyncio.current_task()
        try:
            devices = await self._open_devices()
            if devices is None:
                return False
            engine = self.engine = self._make_engine(devices)
            # Clicks made while the devices were opening.
            engine.set_muted(self.muted)
            engine.set_camera_enabled(self.camera_on)
            await engine.join()
            return True
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError) and self.leaving:
                return False  # leave() cancelled us: not a failure; leave() lets go of it all
            await self._release_media()
            await self._close_camera()
            raise

    async def _open_devices(self) -> LocalDevices | None:
        """Each step finishes (device calls have their own deadlines and cannot be abandoned
        mid-open without leaking the device); a leave() in between stops here (None)."""
        factories = self._factories
        if factories.camera is not None:
            self.camera = await asyncio.to_thread(factories.camera)
            await self._apply_camera()
        microphone = speaker = None
        if factories.microphone is not None and not self.leaving:
            microphone = await asyncio.to_thread(factories.microphone)
        if factories.speaker is not None and not self.leaving:
            speaker = await asyncio.to_thread(factories.speaker)
        if self.leaving:
            return None
        settings = self._media_settings
        self.media = LocalMedia(
            camera=self.camera,
            microphone=microphone,
            video_size=settings.video_size,
            fps=settings.fps,
            upload_mbps=settings.upload_mbps,
        )
        return LocalDevices(self.camera, microphone, speaker, self.media)

    async def leave(self) -> None:
        """Leave at any moment. A join still opening devices stops after the current step; one
        already talking to the server is cancelled. Then the engine tells the server we left
        and closes every connection, and the devices are let go (once: here)."""
        self.leaving = True
        join = self._join_task
        if join is not None and not join.done() and join is not asyncio.current_task():
            if self.engine is not None:
                join.cancel()
            await asyncio.wait({join})
        if self.engine is not None:
            await self.engine.leave()
        await self._release_media()
        await self._close_camera()

    async def _release_media(self) -> None:
        if self.media is not None:
            await self.media.release()

    async def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.engine is not None:
            self.engine.set_muted(muted)

    async def set_video_choice(self, choice: str) -> None:
        """ "try_video", "audio_only" or "auto" (CallEngine.set_video_choice)."""
        if self.engine is not None:
            self.engine.set_video_choice(choice)

    async def send_chat(self, text: str) -> str | None:
        """Send a chat line; its id, or None before the call has an engine."""
        if self.engine is None:
            return None
        return await self.engine.send_chat(text)

    async def set_camera_enabled(self, enabled: bool) -> None:
        """Switching on opens the camera before video is sent (so a camera that cannot start
        is found and reported here, once); switching off stops the video before closing."""
        self.camera_on = enabled
        if not enabled and self.engine is not None:
            self.engine.set_camera_enabled(False)
        await self._apply_camera()
        if enabled and self.engine is not None and self.camera_on:
            self.engine.set_camera_enabled(True)

    async def _apply_camera(self) -> None:
        """Bring the camera in line with the latest choice (another click may have come while
        this one waited for the lock: the state that counts is the one now)."""
        camera = self.camera
        if camera is None:
            return
        async with self._camera_lock:
            wanted = self.camera_on and not self.leaving
            try:
                await asyncio.to_thread(camera.open if wanted else camera.close)
            except DeviceError as exc:
                log.warning("camera could not start: %s", exc.problem.value)
                self._on_camera_problem(exc)

    async def _close_camera(self) -> None:
        camera = self.camera
        if camera is not None:
            async with self._camera_lock:
                await asyncio.to_thread(camera.close)
