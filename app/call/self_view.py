"""What the self view says about our own camera, decided without Qt.

The call page forwards what happens to the camera (a call starts, the person switches it on or
off, it cannot start, it stops giving frames, a frame comes again) and renders the `SelfView`
that comes back: a few words in the small tile, a longer note under it, and what the camera
button says instead of "Camera is on" while the camera is switched on but gives no picture.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from app.devices.base import DeviceError, DeviceProblem

log = logging.getLogger(__name__)

# The self view is small: its tile says a few words, the note under it says the rest.
CAMERA_STARTING = "Starting your camera…"
CAMERA_OFF = "Your camera is off"
CAMERA_OFF_NOTE = "The others see a dark picture."
NO_CAMERA = "No camera"
NO_CAMERA_NOTE = "You have no camera in this call. The others can still hear you."
CAMERA_FAILED = "Camera could not start"
HEARD_WITHOUT_CAMERA = "The others can still hear you."
CAMERA_RETRY_HINT = "To try again, stop and start your camera."
CAMERA_LOST = "Camera stopped"
CAMERA_LOST_NOTE = f"Your camera stopped working. {HEARD_WITHOUT_CAMERA} {CAMERA_RETRY_HINT}"
# Under the camera button while it is switched on but gives no picture (never "Camera is on").
CAMERA_NOT_WORKING = "Camera not working"

_PROBLEM_REASONS = {
    DeviceProblem.NOT_FOUND: "no camera was found",
    DeviceProblem.BUSY: "another program is using it",
    DeviceProblem.PERMISSION: "Tandem is not allowed to use it",
    DeviceProblem.TIMEOUT: "it did not answer in time",
}


def camera_problem_words(exc: DeviceError) -> str:
    """The self view's note for a camera that could not start: what happened (by the device's
    problem), that the call goes on with sound, and how to try again."""
    reason = _PROBLEM_REASONS.get(exc.problem)
    what = "Your camera could not start" + ("" if reason is None else f": {reason}")
    return f"{what}. {HEARD_WITHOUT_CAMERA} {CAMERA_RETRY_HINT}"


class CameraState(enum.Enum):
    STARTING = "starting"  # switched on; its pictures replace the words as they come
    OFF = "off"  # switched off by the person
    NO_CAMERA = "no_camera"  # this call has no camera at all
    FAILED = "failed"  # switched on, could not start
    LOST = "lost"  # gave pictures, then none


@dataclass(frozen=True)
class SelfView:
    """What to show. `trouble`: the camera button's state words instead of its own ("Camera is
    on"/"Camera is off"); None lets the button say its switch state. `drop_picture`: the last
    picture must go (the words replace it; a frozen image would lie)."""

    state: CameraState
    message: str
    note: str = ""
    trouble: str | None = None
    drop_picture: bool = False

    @property
    def description(self) -> str:
        """The tile's description for screen readers: the words and the note."""
        return f"{self.message}. {self.note}" if self.note else self.message


_STARTING = SelfView(CameraState.STARTING, CAMERA_STARTING)
_OFF = SelfView(CameraState.OFF, CAMERA_OFF, CAMERA_OFF_NOTE, drop_picture=True)
_NO_CAMERA = SelfView(CameraState.NO_CAMERA, NO_CAMERA, NO_CAMERA_NOTE, trouble=NO_CAMERA)
_LOST = SelfView(
    CameraState.LOST, CAMERA_LOST, CAMERA_LOST_NOTE, CAMERA_NOT_WORKING, drop_picture=True
)


class SelfViewMachine:
    """The self view's camera words for one call after another. Methods that may change nothing
    return None then (the page keeps what it shows: a loss reported twice is said once)."""

    def __init__(self) -> None:
        self.camera_on = True  # the person's choice (the button), not whether it works
        self.has_camera = True  # whether this call has a camera at all
        self.view = _STARTING

    @property
    def state(self) -> CameraState:
        return self.view.state

    def start(self, has_camera: bool) -> SelfView:
        """A new call: the camera is switched on (or there is none)."""
        self.camera_on = True
        self.has_camera = has_camera
        return self._go(_STARTING if has_camera else _NO_CAMERA)

    def switched(self, on: bool) -> SelfView:
        """The person switched the camera on or off: the new choice says it, whatever came
        before (switching off and on is also the person's retry after a failure or a loss).
        A call without a camera stays "No camera" whatever the switch says: "Starting your
        camera…" would wait forever for a camera that is not there."""
        self.camera_on = on
        if not self.has_camera:
            return self._go(_NO_CAMERA)
        return self._go(_STARTING if on else _OFF)

    def failed(self, exc: DeviceError) -> SelfView | None:
        """The camera could not start. Ignored once the person has switched it off since: the
        self view says "off" already and must not be covered by an old attempt's report."""
        if not self.camera_on:
            return None
        return self._go(
            SelfView(
                CameraState.FAILED,
                CAMERA_FAILED,
                camera_problem_words(exc),
                CAMERA_NOT_WORKING,
                drop_picture=True,
            )
        )

    def lost(self) -> SelfView | None:
        """The camera gave pictures, then none (unplugged). Two reporters notice (the self
        view's reader, the call's video track): the first one says it."""
        if not self.camera_on or self.state is CameraState.LOST:
            return None
        return self._go(_LOST)

    def frame(self) -> SelfView | None:
        """A picture from the camera. After a loss the picture replaces the words (a stall that
        ended, a camera plugged back in) and a later loss is said again."""
        if self.state is not CameraState.LOST:
            return None
        return self._go(_STARTING)

    def _go(self, view: SelfView) -> SelfView:
        if view.state is not self.view.state:
            log.info("self view: %s -> %s", self.view.state.value, view.state.value)
        self.view = view
        return view
