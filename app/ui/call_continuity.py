"""The call page's share of call continuity: an interrupted person's tile counting the seconds,
the dial-in numbers after a while, our video paused for a weak link, voice tiles, the session
server reconnecting, and the chat. The page hands it the engine's events and its tiles; what to
show is decided in app.ui.continuity_state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, QTimer

from app.call.events import (
    CallEvent,
    ChatReceived,
    ChatStatus,
    MediaModeChanged,
    PeerInterrupted,
    PeerLeft,
    PeerRestored,
    Reconnected,
    Reconnecting,
    ServerSwitched,
)
from app.call.session import CallSession
from app.profile import ClinicProfile
from app.ui.bridge import Bridge
from app.ui.call_notices import ConnectionLine, VideoPauseBanner
from app.ui.chat_panel import ChatLineView, ChatPanel
from app.ui.continuity_state import Interruptions, VideoPause, reconnecting_words
from app.ui.dial_in_panel import DialInPanel
from app.ui.video_tile import VideoTile

log = logging.getLogger(__name__)

TICK_MS = 1000


class CallContinuity(QObject):
    """Owns the notices, the dial-in panel and the chat panel (the page lays them out)."""

    def __init__(
        self,
        bridge: Bridge,
        tiles: Mapping[str, VideoTile],
        session: Callable[[], CallSession | None],
        names: Callable[[str], str],
        profile: ClinicProfile | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._tiles = tiles
        self._session = session
        self._names = names
        # The engine's clock: events carry `at` from time.monotonic (tests may replace it).
        self.now: Callable[[], float] = time.monotonic
        self.interruptions = Interruptions()
        self.pause = VideoPause()
        self.pause_banner = VideoPauseBanner()
        self.pause_banner.choice.connect(self.choose_video)
        self.connection_line = ConnectionLine()
        self.dial_in = DialInPanel(profile)
        self.chat = ChatPanel()
        self.chat.hide()
        self.chat.submitted.connect(self.send_chat)
        self.unread = 0
        self.on_unread: Callable[[int], None] = lambda count: None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    def set_profile(self, profile: ClinicProfile) -> None:
        self.dial_in.set_profile(profile)

    def reset(self) -> None:
        """A new call (or none): nothing interrupted, nothing paused, an empty chat."""
        self._timer.stop()
        self.interruptions.clear()
        self.pause.clear()
        self.pause_banner.show_view(self.pause.view)
        self.connection_line.clear()
        self.dial_in.hide()
        self.chat.clear()
        self.chat.hide()
        self._set_unread(0)

    def handle(self, event: CallEvent) -> bool:
        """Show what `event` means; False if it is none of this object's business."""
        match event:
            case PeerInterrupted():
                self.interruptions.interrupted(event.peer_id, event.at)
                if not self._timer.isActive():
                    self._timer.start()
                self.tick()
            case PeerRestored():
                self._restored(event.peer_id)
            case PeerLeft():
                self._restored(event.peer_id)
                self.pause_banner.show_view(self.pause.peer_gone(event.peer_id))
                return False  # the page removes the tile
            case MediaModeChanged(direction="send"):
                self.pause_banner.show_view(self.pause.mode_changed(event.peer_id, event.mode))
            case MediaModeChanged():
                tile = self._tiles.get(event.peer_id)
                if tile is not None:
                    tile.set_voice_only(event.mode == "audio_only")
            case Reconnecting(what="signaling"):
                self.connection_line.reconnecting()
            case Reconnected(what="signaling"):
                self.connection_line.reconnected()
            case ServerSwitched():
                self.connection_line.server_switched()
            case ChatReceived():
                self.chat.add_line(self._names(event.from_peer), event.text)
                if not self.chat.isVisible():
                    self._set_unread(self.unread + 1)
            case ChatStatus():
                self.chat.set_status(event.message_id, event.state)
            case _:
                return False
        return True

    def tick(self) -> None:
        """Each second while someone is interrupted: the counters, and the dial-in numbers."""
        now = self.now()
        for peer_id in self.interruptions.peers:
            tile = self._tiles.get(peer_id)
            seconds = self.interruptions.seconds(peer_id, now)
            if tile is not None and seconds is not None:
                tile.set_interrupted(reconnecting_words(tile.name, seconds))
        if self.interruptions.dial_in_shown(now):
            self.dial_in.show_numbers()

    def _restored(self, peer_id: str) -> None:
        self.interruptions.restored(peer_id)
        tile = self._tiles.get(peer_id)
        if tile is not None:
            tile.set_interrupted(None)
        if not self.interruptions.peers:
            self._timer.stop()
            self.dial_in.hide()

    # --- the person's choices ---------------------------------------------------------------
    def choose_video(self, choice: str) -> None:
        self.pause_banner.show_view(self.pause.choose(choice))
        session = self._session()
        if session is not None:
            self._bridge.submit(
                session.set_video_choice(choice),
                on_error=lambda exc: log.info("video choice not applied: %s", type(exc).__name__),
                context=self,
            )

    def set_chat_open(self, open_: bool) -> None:
        self.chat.setVisible(open_)
        if open_:
            self._set_unread(0)
            self.chat.input.setFocus()

    def send_chat(self, text: str) -> None:
        line = self.chat.add_own(text)
        session = self._session()
        if session is None:
            line.set_state("failed")
            return

        def sent(message_id: str | None) -> None:
            if message_id is None:  # the call has no engine yet
                line.set_state("failed")
            else:
                self.chat.bind(line, message_id)

        self._bridge.submit(
            session.send_chat(text),
            on_done=sent,
            on_error=lambda exc: self._not_sent(line, exc),
            context=self,
        )

    @staticmethod
    def _not_sent(line: ChatLineView, exc: BaseException) -> None:
        # Never the text: only that a line did not go, and why in one word.
        log.info("chat line not sent: %s", type(exc).__name__)
        line.set_state("failed")

    def _set_unread(self, count: int) -> None:
        self.unread = count
        self.on_unread(count)
