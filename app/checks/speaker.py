"""The speaker check: play a short tone and listen for it with the microphone (echo risk)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.call.echo_canceller import echo_cancellation_available
from app.checks.audio_analysis import detect_tone, sine
from app.checks.device_problem import RETRY, SOUND_SYSTEM_WORDS, DeviceWords, device_failure
from app.checks.result import CheckResult, MetricValue, Status
from app.devices.base import AudioBlock, DeviceError, DeviceProblem, Microphone, Speaker
from app.progress import Progress, ProgressCallback, ignore_progress

log = logging.getLogger(__name__)

NAME = "speaker"
TONE_HZ = 1000.0  # rare in a room, well inside any speaker's and microphone's range
TONE_S = 1.0
TONE_DBFS = -12.0
LISTEN_EXTRA_S = 0.6  # the microphone may start a little after the tone does
JOIN_MARGIN_S = 3.0

DEVICE_WORDS: DeviceWords = {
    DeviceProblem.NOT_FOUND: (
        "We could not find speakers or headphones",
        f"Plug in headphones or speakers, or switch your speakers on. {RETRY}",
    ),
    DeviceProblem.NO_AUDIO_SYSTEM: SOUND_SYSTEM_WORDS,
    DeviceProblem.BUSY: (
        "Another program is using your speakers",
        f"Close other call or music programs. {RETRY}",
    ),
    DeviceProblem.PERMISSION: (
        "Tandem is not allowed to play sound",
        f"Open your computer's sound or privacy settings and allow Tandem to play sound. {RETRY}",
    ),
    DeviceProblem.TIMEOUT: (
        "Your speakers did not respond",
        f"Unplug the headphones or speakers and plug them in again, or restart your computer. "
        f"{RETRY}",
    ),
    DeviceProblem.FAILED: (
        "We could not play sound on your speakers",
        f"Unplug the headphones or speakers and plug them in again, or restart your computer. "
        f"{RETRY}",
    ),
}


UNCONFIRMED_REASON = "We played a test tone but could not confirm you heard it"
UNCONFIRMED_FIX = (
    "Listen for a short beep when the check runs. If you hear nothing, turn the volume up, make "
    "sure the right speakers or headphones are chosen, and check that your headphones are "
    "plugged in, then run the check again."
)
NOT_HEARD_REASON = "You did not hear the test tone"
NOT_HEARD_FIX = (
    "Turn the volume up on your computer and on your speakers, choose the right speakers or "
    "headphones in Tandem's Speaker list, and check that your headphones are plugged in all "
    f"the way. {RETRY}"
)
# The microphone heard the speakers. In a call the echo canceller removes that echo, so it is
# said plainly and passes; without echo cancellation it is a warning with what to do.
ECHO_HANDLED_REASON = (
    "Your microphone can hear your speakers. Tandem removes that echo during the call, so the "
    "people you talk to will not hear themselves"
)
ECHO_HANDLED_TIP = "Headphones still give the clearest sound, if you have them."
ECHO_RISK_REASON = (
    "Your microphone can hear your speakers, so the people you talk to may hear an echo of "
    "themselves"
)
ECHO_RISK_FIX = (
    "Use headphones if you can (a headphone splitter lets you both listen from one computer). "
    "If you must use the speakers, turn them down a little."
)
# Who confirmed that the tone came out: the microphone (it heard it), the person (they said
# so), or nobody yet. The app asks the person when it is "nobody"; the command line cannot.
CONFIRMED_BY = "confirmed_by"
NOBODY = "nobody"


class _Listener:
    """Records with the microphone on a worker thread while the tone plays.

    Constructing it does nothing; `start()` opens the microphone, so the tone and the recording
    begin together and a listener made but never started leaves no device open.
    """

    def __init__(self, mic: Microphone, seconds: float) -> None:
        self.samples: AudioBlock | None = None
        self.error: DeviceError | None = None
        self._mic = mic
        self._seconds = seconds
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="speaker-check-mic", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.samples = self._mic.record(self._seconds)
        except DeviceError as error:
            self.error = error

    def join(self) -> bool:
        """Wait for the recording; True when it ended (an unstarted listener never ends)."""
        if self._thread is None:
            return False
        self._thread.join(self._seconds + JOIN_MARGIN_S)
        return not self._thread.is_alive()


def needs_confirmation(result: CheckResult) -> bool:
    """True for a speaker result that only the person can confirm (nothing heard the tone)."""
    return (
        result.name == NAME
        and result.status is Status.WARN
        and result.metrics.get(CONFIRMED_BY) == NOBODY
    )


def confirm_heard(result: CheckResult, heard: bool) -> CheckResult:
    """The person's answer to "Did you hear the tone?": yes is a pass, no is a fail with a fix."""
    metrics: dict[str, MetricValue] = {**result.metrics, CONFIRMED_BY: "person"}
    metrics["person_heard"] = heard
    if heard:
        return CheckResult(NAME, Status.PASS, metrics=metrics)
    return CheckResult(NAME, Status.FAIL, NOT_HEARD_REASON, NOT_HEARD_FIX, metrics)


def _unconfirmed(metrics: dict[str, MetricValue]) -> CheckResult:
    return CheckResult(
        NAME,
        Status.WARN,
        UNCONFIRMED_REASON,
        UNCONFIRMED_FIX,
        {**metrics, CONFIRMED_BY: NOBODY},
    )


def check_speaker(
    speaker: Speaker,
    mic: Microphone | None,
    progress: ProgressCallback | None = None,
    *,
    echo_cancelled: Callable[[], bool] = echo_cancellation_available,
) -> CheckResult:
    """Play a 1 kHz tone and listen for it with `mic`.

    Only the microphone hearing the tone proves that sound came out. It then passes, saying
    that the call removes the echo, when `echo_cancelled()` (the call's echo canceller works
    here); without it, it warns that a shared laptop's speakers will echo. Otherwise
    (headphones, no microphone, a microphone that could not listen) the result is a warning
    that nobody confirmed the tone, which the app turns into a question for the person
    (`needs_confirmation`, `confirm_heard`).
    """
    report = progress or ignore_progress
    report(Progress(NAME, 0.0, "Playing a short test sound…"))
    tone = sine(TONE_HZ, TONE_S, speaker.samplerate, TONE_DBFS)
    listener = _Listener(mic, TONE_S + LISTEN_EXTRA_S) if mic is not None else None
    if listener is not None:
        listener.start()
    try:
        speaker.play(tone)
    except DeviceError as error:
        if listener is not None:
            listener.join()
        return device_failure(NAME, error, DEVICE_WORDS)
    metrics: dict[str, MetricValue] = {"tone_hz": TONE_HZ, "samplerate": speaker.samplerate}
    if listener is None or mic is None:
        report(Progress(NAME, 1.0, "Test sound played"))
        return _unconfirmed({**metrics, "tone_heard": None})
    report(Progress(NAME, 0.7, "Listening for the test sound…"))
    finished = listener.join()
    if not finished or listener.error is not None or listener.samples is None:
        # The microphone could not listen (its own check says why); only the person can say.
        problem = listener.error.problem.value if listener.error else "timeout"
        log.info("speaker check: could not listen for the tone (%s)", problem)
        report(Progress(NAME, 1.0, "Test sound played"))
        return _unconfirmed({**metrics, "tone_heard": None, "listen_problem": problem})
    try:
        detection = detect_tone(listener.samples, mic.samplerate, TONE_HZ)
    except ValueError as error:
        log.info("speaker check: unusable recording: %s", error)
        report(Progress(NAME, 1.0, "Test sound played"))
        return _unconfirmed({**metrics, "tone_heard": None})
    metrics.update(
        tone_heard=detection.heard,
        tone_level_dbfs=round(detection.tone_level_dbfs, 1),
        tone_margin_db=round(detection.margin_db, 1),
    )
    report(Progress(NAME, 1.0, "Test sound played"))
    if detection.heard:
        handled = echo_cancelled()
        heard = {**metrics, CONFIRMED_BY: "microphone", "echo_cancellation": handled}
        if handled:
            return CheckResult(NAME, Status.PASS, ECHO_HANDLED_REASON, ECHO_HANDLED_TIP, heard)
        return CheckResult(NAME, Status.WARN, ECHO_RISK_REASON, ECHO_RISK_FIX, heard)
    # Headphones, most likely: good for echo, but nothing proves the tone was heard.
    return _unconfirmed(metrics)
