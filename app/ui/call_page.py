"""The call page: a tile per remote participant, the self view, the controls, a calm waiting
state. The call engine runs on the bridge's asyncio loop; its events come back as
`bridge.call_event` and finished video images as `bridge.video_frame`. No widget touches the
network and nothing here decodes or scales video."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.call.engine import CallEngine
from app.call.events import (
    CallError,
    CallEvent,
    CallState,
    Joined,
    LocalDeviceProblem,
    Peer,
    PeerConnected,
    PeerJoined,
    PeerLeft,
    StateChanged,
    StatsReport,
)
from app.call.quality import assess
from app.call.refusal_words import by_phone, plain_words, way_out
from app.call.self_view import (
    CAMERA_FAILED,
    CAMERA_LOST,
    CAMERA_LOST_NOTE,
    CAMERA_NOT_WORKING,
    CAMERA_OFF,
    CAMERA_OFF_NOTE,
    CAMERA_STARTING,
    NO_CAMERA,
    NO_CAMERA_NOTE,
    SelfView,
    SelfViewMachine,
    camera_problem_words,
)
from app.call.session import CallSession, DeviceFactories, LocalDevices, MediaSettings
from app.call.setup import CallSetup
from app.devices.base import DeviceError
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.call_continuity import CallContinuity
from app.ui.call_controls import CallControls
from app.ui.call_stage import (
    NOT_JOINED_STATUS,
    NOT_JOINED_TEXT,
    NOT_JOINED_TITLE,
    PAGE_STYLE,
    PROBLEM_TITLE,
    STATUS,
    WAITING_TITLE,
    ProblemPanel,
    WaitingPanel,
)
from app.ui.leave_confirm import LeaveConfirm
from app.ui.video_frames import SELF, FrameStore, SharedCamera
from app.ui.video_tile import VideoTile
from app.ui.wrapped_height import keep_wrapped_height

log = logging.getLogger(__name__)

# The self view's words live in app.call.self_view; they are still importable from here.
__all__ = [
    "CAMERA_FAILED",
    "CAMERA_LOST",
    "CAMERA_LOST_NOTE",
    "CAMERA_NOT_WORKING",
    "CAMERA_OFF",
    "CAMERA_OFF_NOTE",
    "CAMERA_STARTING",
    "NO_CAMERA",
    "NO_CAMERA_NOTE",
    "WAITING_TITLE",
    "CallPage",
    "camera_problem_words",
]

# Who the call waits for: the therapist in a session, the on-call clinician in an emergency.
HOST_ROLES = frozenset({"therapist", "oncall"})
SELF_VIEW_SIZE = (224, 126)
SIDE_WIDTH = 340  # the dial-in numbers and the chat, beside the tiles


class _Call:
    """One call as the page sees it: its setup, the Qt-free session on the asyncio loop, and
    the future of its join (leave() waits for it, so a test can too)."""

    def __init__(self, setup: CallSetup, session: CallSession) -> None:
        self.setup = setup
        self.session = session
        self.join_future: concurrent.futures.Future[bool] | None = None

    @property
    def engine(self) -> CallEngine | None:
        return self.session.engine


def _engine_factory(
    setup: CallSetup, store: FrameStore, bridge: Bridge
) -> Callable[[LocalDevices], CallEngine]:
    def make(devices: LocalDevices) -> CallEngine:
        return CallEngine(
            setup.server_url,
            setup.token,
            camera=devices.camera,
            microphone=devices.microphone,
            speaker=devices.speaker,
            listener=bridge.call_listener(lambda e: store.put(e.peer_id, e.video)),
            video_size=setup.video_size,
            fps=setup.fps,
            allow_loopback=setup.allow_loopback,
            upload_mbps=setup.upload_mbps,
            media=devices.media,  # the session's: kept through reconnects, released by it
            backup_url=setup.backup_url,
            ca_file=setup.ca_file,
        )

    return make


class CallPage(QWidget):
    finished = Signal(str)  # "left" or "failed": the window goes back to the equipment check

    def __init__(
        self, bridge: Bridge, profile: ClinicProfile | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.setStyleSheet(PAGE_STYLE)
        self._bridge = bridge
        self.store = FrameStore(bridge.video_frame_callback())
        self._call: _Call | None = None
        self._leaving = False
        # What the self view says about our camera (decided in app.call.self_view).
        self.camera = SelfViewMachine()
        self.state = CallState.IDLE
        self.tiles: dict[str, VideoTile] = {}
        self._names: dict[str, str] = {}  # everyone seen in this call (chat lines name them)
        self.error_text = ""
        self.error_code: str | None = None  # the CallError's code behind error_text
        # Whether this call ever got into the session room: a failure before that is a join
        # that did not work, not a call that stopped, and the words say so.
        self.was_in_room = False
        self._profile = profile or ClinicProfile()
        self.waiting_for = WAITING_TITLE
        self.continuity = CallContinuity(
            bridge,
            self.tiles,
            lambda: None if self._call is None else self._call.session,
            lambda peer_id: self._names.get(peer_id, "Participant"),
            profile,
            self,
        )
        self._build()
        keep_wrapped_height(self)  # at the smallest window, nothing covers anything
        bridge.call_event.connect(self._on_event)
        bridge.video_frame.connect(self._on_video_frame)

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.status = QLabel(STATUS[CallState.IDLE])
        self.status.setObjectName("callStatus")
        self.status.setAccessibleName("Call status")
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.hide()

        self.waiting = WaitingPanel()
        self.waiting_title = self.waiting.title

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(12)

        self.problem = ProblemPanel()
        self.problem_title, self.problem_text = self.problem.title, self.problem.text
        self.back_button = self.problem.back_button
        self.back_button.clicked.connect(lambda: self._finish("failed"))

        self.stage = QStackedWidget()
        for widget in (self.waiting, self.grid_host, self.problem):
            self.stage.addWidget(widget)

        self.self_view = VideoTile(self.store, SELF, "You", remote=False)
        self.self_view.setFixedSize(*SELF_VIEW_SIZE)
        self.self_view.setAccessibleName("Your own video")
        self.self_note = QLabel()
        self.self_note.setObjectName("selfNote")
        self.self_note.setWordWrap(True)
        self.self_note.setFixedWidth(SELF_VIEW_SIZE[0])
        self.self_note.hide()
        self_column = QVBoxLayout()
        self_column.setSpacing(4)
        self_column.addWidget(self.self_view)
        self_column.addWidget(self.self_note)
        self_column.addStretch(1)
        self.controls = CallControls()
        self.controls.mute_changed.connect(self._set_muted)
        self.controls.camera_changed.connect(self._set_camera)
        self.controls.leave_requested.connect(self.ask_leave)
        self.leave_confirm = LeaveConfirm()
        self.leave_confirm.confirmed.connect(self.leave)
        self.leave_confirm.stay_button.clicked.connect(
            lambda: self.controls.leave_button.setFocus(Qt.FocusReason.OtherFocusReason)
        )
        continuity = self.continuity
        self.controls.chat_toggled.connect(continuity.set_chat_open)
        continuity.on_unread = self.controls.set_chat_unread
        heading = QVBoxLayout()
        heading.addWidget(self.status)
        heading.addWidget(self.note)
        heading.addWidget(continuity.connection_line)
        heading.addWidget(continuity.pause_banner)
        heading.addStretch(1)
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addLayout(heading, 1)
        top.addLayout(self_column)

        # Beside the tiles, only while one is open (an empty column takes no room).
        side = QVBoxLayout()
        side.setSpacing(8)  # with the dial-in numbers and the chat both open, 720 px is tight
        side.addWidget(continuity.dial_in, 0, Qt.AlignmentFlag.AlignTop)
        side.addWidget(continuity.chat, 1)
        for panel in (continuity.dial_in, continuity.chat):
            panel.setFixedWidth(SIDE_WIDTH)
        middle = QHBoxLayout()
        middle.setSpacing(12)
        middle.addWidget(self.stage, 1)
        middle.addLayout(side)

        layout = QVBoxLayout(self)
        # Tight top and bottom: everything at once must fit a 1280x720 screen (issue 10 item 3).
        layout.setContentsMargins(24, 10, 24, 10)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(self.leave_confirm)
        layout.addWidget(self.controls)

    def set_profile(self, profile: ClinicProfile) -> None:
        """The clinic's phone numbers for the dial-in panel and the problem screen (the window
        has the profile)."""
        self._profile = profile
        self.continuity.set_profile(profile)

    # --- the call's life -------------------------------------------------------------------
    @property
    def in_call(self) -> bool:
        return self._call is not None

    @property
    def setup(self) -> CallSetup | None:
        """The running call's setup (None between calls)."""
        return None if self._call is None else self._call.setup

    def expect(self, waiting_for: str | None) -> None:
        """Who the waiting room says is coming in the next call (an emergency call names the
        on-call clinician); None: the therapist, as in every session."""
        self.waiting_for = waiting_for or WAITING_TITLE
        self.waiting_title.setText(self.waiting_for)

    def start(self, setup: CallSetup) -> None:
        """Join (on the asyncio loop). Events update the page as they come."""
        if self._call is not None:
            raise RuntimeError("a call is already running")
        self._clear_tiles()
        self._leaving = False
        self.error_text = ""
        self.error_code = None
        self.was_in_room = False
        self.controls.show()
        self._names.clear()
        self.continuity.reset()
        self.controls.reset()
        self.controls.set_has_camera(setup.make_camera is not None)
        self._show_self(self.camera.start(has_camera=setup.make_camera is not None))
        self._set_state(CallState.JOINING)
        self.stage.setCurrentWidget(self.waiting)
        store, bridge = self.store, self._bridge
        make_camera = setup.make_camera

        def self_view_lost(exc: DeviceError) -> None:  # on the camera's reader thread
            bridge.call_soon_in_gui(lambda: self._self_view_lost(call), self)

        session = CallSession(
            DeviceFactories(
                camera=(
                    (lambda: SharedCamera(make_camera(), store, on_lost=self_view_lost))
                    if make_camera
                    else None
                ),
                microphone=setup.make_microphone,
                speaker=setup.make_speaker,
            ),
            _engine_factory(setup, store, bridge),
            lambda exc: bridge.call_soon_in_gui(lambda: self._camera_failed(call, exc), self),
            MediaSettings(setup.video_size, setup.fps, setup.upload_mbps),
        )
        call = self._call = _Call(setup, session)

        def joined(in_room: bool) -> None:
            if in_room and self._call is call and not self._leaving:
                if setup.companion is not None:
                    self._bridge.run_blocking(setup.companion.start)

        def failed(exc: BaseException) -> None:
            # A join that fails while leaving is the leave's business: it ends "left".
            if self._call is not call or self._leaving:
                return
            log.warning("joining failed: %s", type(exc).__name__)
            self._call = None
            self._stop_companion(setup)
            if not self.error_text:
                self.error_text = NOT_JOINED_TEXT
            self._show_problem()

        call.join_future = self._bridge.submit(
            session.join(), on_done=joined, on_error=failed, context=self
        )

    def ask_leave(self) -> None:
        """ "Leave session" asks once, inline (the help button keeps working meanwhile)."""
        if self._call is not None and not self._leaving:
            self.leave_confirm.ask()

    def leave(self) -> concurrent.futures.Future[None] | None:
        """Leave the call, also while it is still connecting (the join is stopped first); the
        page says `finished("left")` once it is done."""
        call = self._call
        if call is None or self._leaving:
            return None
        self._leaving = True
        self.leave_confirm.cancel()
        self.controls.set_enabled(False)
        self.status.setText("Leaving the session…")

        def done(_: object = None) -> None:
            if self._call is call:
                self._call = None
                self._stop_companion(call.setup)
                self._finish("left")

        def failed(exc: BaseException) -> None:
            log.warning("leaving failed: %s", exc)
            done()

        return self._bridge.submit(
            call.session.leave(), on_done=done, on_error=failed, context=self
        )

    def shutdown(self, timeout: float = 10.0) -> None:
        """App exit: leave and stop the simulated therapist (blocking, bounded). Leaving lets
        the devices go, and a camera stuck in a failing read has its own deadlines (open 3 s,
        read 1 s, close 2 s): on a busy machine that took over 5 s."""
        call, self._call = self._call, None
        if call is None:
            return
        try:
            self._bridge.submit(call.session.leave()).result(timeout)
        except Exception as exc:  # exiting anyway
            log.warning("leaving on exit failed: %s", type(exc).__name__)
        if call.setup.companion is not None:
            call.setup.companion.stop()

    def _stop_companion(self, setup: CallSetup) -> None:
        if setup.companion is not None:
            self._bridge.run_blocking(setup.companion.stop)

    def _finish(self, reason: str) -> None:
        self.leave_confirm.cancel()
        self._clear_tiles()
        self.continuity.reset()
        self._set_state(CallState.IDLE)
        self.finished.emit(reason)

    # --- engine events (GUI thread) --------------------------------------------------------
    def _on_event(self, event: CallEvent) -> None:
        if self._call is None:
            return
        if self.continuity.handle(event):
            return
        match event:
            case Joined():
                self.was_in_room = True
                for peer in event.peers:
                    self._add_tile(peer)
            case StateChanged():
                self._set_state(event.new)
            case PeerJoined():
                self._add_tile(event.peer)
            case PeerConnected():
                tile = self.tiles.get(event.peer_id)
                if tile is not None:
                    tile.set_message("Connected. Their video is on its way…")
            case StatsReport():
                tile = self.tiles.get(event.stats.peer_id)
                if tile is not None and tile.quality is not None:
                    tile.quality.set_quality(assess(event.stats))
            case PeerLeft():
                self._remove_tile(event.peer_id)
            case CallError():
                self.error_text = plain_words(event.code)
                self.error_code = event.code
            case LocalDeviceProblem() if event.device == "camera":
                self._camera_lost()
        self._update_stage()

    def _on_video_frame(self, source: str) -> None:
        if source == SELF:
            if self.camera.camera_on and self._call is not None:
                # A picture after "Camera stopped" (a stall that ended, a camera plugged back
                # in) takes the words back.
                view = self.camera.frame()
                if view is not None:
                    self._show_self(view)
                self.self_view.take_frame()
            else:
                self.store.take(SELF)
            return
        tile = self.tiles.get(source)
        if tile is not None:
            tile.take_frame()
        else:
            self.store.take(source)

    def _set_state(self, state: CallState) -> None:
        self.state = state
        if state is CallState.FAILED and not self._leaving:
            call, self._call = self._call, None
            if call is not None:
                self._stop_companion(call.setup)
                joined = call.join_future
                if joined is not None and joined.done() and joined.exception() is None:
                    # Failed mid-call (server lost, `replaced`, a revoked code): let the camera
                    # and microphone go now, not at exit. A failed join lets them go itself.
                    self._bridge.submit(call.session.leave())
            self._show_problem()
        self._update_stage()

    def _show_problem(self) -> None:
        joined = self.was_in_room
        lost = "The connection to the session was lost." if joined else NOT_JOINED_TEXT
        dial_in = self._profile.dial_in_numbers
        clinic = self._profile.clinic_phone
        phone = by_phone(dial_in[0].number if dial_in else None, clinic.number if clinic else None)
        self.problem_text.setText(
            (self.error_text or lost) + "\n\n" + way_out(self.error_code, phone)
        )
        self.problem_title.setText(PROBLEM_TITLE if joined else NOT_JOINED_TITLE)
        self.stage.setCurrentWidget(self.problem)
        self.leave_confirm.cancel()  # nothing left to leave
        # One way on from here: "Back to the equipment check". Mute, camera, chat and "Leave
        # session" belong to a call, and there is none now.
        self.controls.set_enabled(False)
        self.controls.hide()
        self.status.setText(STATUS[CallState.FAILED] if joined else NOT_JOINED_STATUS)
        self.back_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_stage(self) -> None:
        if self.stage.currentWidget() is self.problem or self._leaving:
            return
        self.stage.setCurrentWidget(self.grid_host if self.tiles else self.waiting)
        self.status.setText(STATUS[self.state])
        host_here = any(t.role in HOST_ROLES for t in self.tiles.values())
        show_note = bool(self.tiles) and not host_here
        self.note.setText(self.waiting_for + "." if show_note else "")
        self.note.setVisible(show_note)

    # --- tiles -----------------------------------------------------------------------------
    def _add_tile(self, peer: Peer) -> None:
        tile = self.tiles.get(peer.peer_id)
        if tile is not None:
            self._names[peer.peer_id] = peer.name or "Participant"
            tile.set_person(peer.name, peer.role)
            return
        self._names[peer.peer_id] = peer.name or "Participant"
        tile = VideoTile(self.store, peer.peer_id, peer.name or "Participant", peer.role)
        self.tiles[peer.peer_id] = tile
        self._place_tiles()

    def _remove_tile(self, peer_id: str) -> None:
        tile = self.tiles.pop(peer_id, None)
        if tile is None:
            return
        self.grid.removeWidget(tile)
        tile.deleteLater()
        self.store.forget(peer_id)
        self._place_tiles()

    def _clear_tiles(self) -> None:
        for peer_id in list(self.tiles):
            self._remove_tile(peer_id)
        self.store.forget(SELF)

    def _place_tiles(self) -> None:
        tiles = list(self.tiles.values())
        columns = 1 if len(tiles) <= 1 else 2
        for index, tile in enumerate(tiles):
            self.grid.removeWidget(tile)
            self.grid.addWidget(tile, index // columns, index % columns)
        # Keyboard order: each tile's connection bars, then the controls.
        previous: QWidget | None = None
        for tile in tiles:
            if tile.quality is not None:
                if previous is not None:
                    self.setTabOrder(previous, tile.quality)
                previous = tile.quality
        if previous is not None:
            self.setTabOrder(previous, self.controls.mute_button)

    # --- controls --------------------------------------------------------------------------
    def _set_muted(self, muted: bool) -> None:
        if self._call is not None:
            self._bridge.submit(self._call.session.set_muted(muted))

    def _set_camera(self, on: bool) -> None:
        self._show_self(self.camera.switched(on))
        if self._call is not None:
            self._bridge.submit(self._call.session.set_camera_enabled(on))

    def _camera_failed(self, call: _Call, exc: DeviceError) -> None:
        # A report about an earlier call must not cover what the self view says now (nor, the
        # machine decides, an attempt the person has since switched off).
        if self._call is call:
            self._show_self(self.camera.failed(exc))

    def _self_view_lost(self, call: _Call) -> None:
        if self._call is call:  # not a report about an earlier call
            self._camera_lost()

    def _camera_lost(self) -> None:
        """The camera gave frames, then none (unplugged): the self view would otherwise freeze
        on its last picture while the others see black. Both reporters land here."""
        self._show_self(self.camera.lost())

    def _show_self(self, view: SelfView | None) -> None:
        """Render the self view's words: a few in its tile (it is small), the rest in the note
        under it, both as the tile's description; the camera button's trouble words."""
        if view is None:  # nothing changed
            return
        if view.drop_picture:
            self.store.take(SELF)
        self.self_view.set_message(view.message)
        self.self_view.setAccessibleDescription(view.description)
        self.self_note.setText(view.note)
        # Its full wrapped height as its minimum: squeezed, it would cover the self view.
        self.self_note.setMinimumHeight(max(0, self.self_note.heightForWidth(SELF_VIEW_SIZE[0])))
        self.self_note.setVisible(bool(view.note))
        if view.trouble is not None:
            self.controls.set_camera_trouble(view.trouble)
        else:
            self.controls.clear_camera_trouble()
