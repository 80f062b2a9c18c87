"""The call's text chat: lines from the others (by name) and our own with where each stands
("Sending…", "Delivered", "Not delivered — retrying"). It keeps working while video and sound
are down. The panel only shows and collects text; the page sends it. Nothing here is logged."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.call.engine import MAX_CHAT_CHARS
from app.ui.accessibility import announce
from app.ui.continuity_state import chat_status_words
from app.ui.crisis_card import SELECTABLE

CHAT_EMPTY = "Messages you send here go to everyone in the session. They are not saved."


class ChatLineView(QWidget):
    """One line: who and when it stands (own lines), then the text (selectable)."""

    def __init__(self, sender: str, text: str, own: bool) -> None:
        super().__init__()
        self.sender_name = sender
        self.own = own
        self.state = "sending" if own else ""
        self.header = QLabel()
        self.header.setObjectName("chatSender")
        self.body = QLabel(text)
        self.body.setTextFormat(Qt.TextFormat.PlainText)  # never markup from someone else
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(SELECTABLE)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.header)
        column.addWidget(self.body)
        self._show()

    def set_state(self, state: str) -> None:
        self.state = state
        self._show()

    @property
    def status_text(self) -> str:
        return chat_status_words(self.state) if self.own else ""

    def _show(self) -> None:
        status = self.status_text
        self.header.setText(f"{self.sender_name} · {status}" if status else self.sender_name)
        self.setAccessibleName(f"{self.sender_name}: {self.body.text()}")
        self.setAccessibleDescription(status)


class ChatPanel(QFrame):
    """`submitted(text)` when the person sends a line; the page calls `add_own` (which it
    already did for the shown text) and `bind`/`set_status` as the engine answers."""

    submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName("Chat")
        self.lines: list[ChatLineView] = []
        self._by_id: dict[str, ChatLineView] = {}
        self._early: dict[str, str] = {}  # a status that came before send_chat returned the id

        title = QLabel("Chat")
        title.setObjectName("sideTitle")
        self.empty = QLabel(CHAT_EMPTY)
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        self._list = QWidget()
        self._list.setObjectName("chatList")
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 4, 0)
        self._list_layout.setSpacing(8)
        self._list_layout.addWidget(self.empty)
        self._list_layout.addStretch(1)
        self.lines_area = QScrollArea()
        self.lines_area.setWidgetResizable(True)
        self.lines_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.lines_area.setFrameShape(QFrame.Shape.NoFrame)
        self.lines_area.setWidget(self._list)
        self.lines_area.setMinimumHeight(48)
        # The newest line in view: follow the list's growth once a line has its size.
        bar = self.lines_area.verticalScrollBar()
        bar.rangeChanged.connect(lambda _low, high: bar.setValue(high))

        self.input_label = QLabel("&Message")
        self.input = QLineEdit()
        self.input.setMaxLength(MAX_CHAT_CHARS)
        self.input.setAccessibleName("Chat message")
        self.input.setAccessibleDescription(
            f"Up to {MAX_CHAT_CHARS} characters. Press Enter to send."
        )
        self.input_label.setBuddy(self.input)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("compactButton")
        self.send_button.setAccessibleName("Send chat message")
        self.send_button.setAutoDefault(False)
        self.input.returnPressed.connect(self._send)
        self.send_button.clicked.connect(self._send)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.input_label)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.lines_area, 1)
        layout.addLayout(row)

    def add_line(self, sender: str, text: str) -> ChatLineView:
        """A line from someone else (`sender` is their name from the roster)."""
        line = self._append(ChatLineView(sender, text, own=False))
        announce(self, f"{sender}: {text}")
        return line

    def add_own(self, text: str) -> ChatLineView:
        return self._append(ChatLineView("You", text, own=True))

    def bind(self, line: ChatLineView, message_id: str) -> None:
        """The engine's id for an own line: its ChatStatus events find it by this."""
        self._by_id[message_id] = line
        early = self._early.pop(message_id, None)
        if early is not None:
            line.set_state(early)

    def set_status(self, message_id: str, state: str) -> None:
        line = self._by_id.get(message_id)
        if line is None:
            self._early[message_id] = state
        else:
            line.set_state(state)

    def clear(self) -> None:
        for line in self.lines:
            self._list_layout.removeWidget(line)
            line.deleteLater()
        self.lines.clear()
        self._by_id.clear()
        self._early.clear()
        self.input.clear()
        self.empty.show()

    def _append(self, line: ChatLineView) -> ChatLineView:
        self.empty.hide()
        self.lines.append(line)
        self._list_layout.insertWidget(self._list_layout.count() - 1, line)
        return line

    def _send(self) -> None:
        text = self.input.text().strip()
        if not text:
            return
        self.input.clear()
        self.submitted.emit(text)
