"""The in-call chat: once, in order, retried until acknowledged, done when the reader left."""

from __future__ import annotations

import pytest

from app.call.chat import Chat
from app.call.events import CallEvent, ChatReceived, ChatStatus
from app.call.signaling import Message


class Wire:
    """What the chat sends, and whether the wire is up."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.up = True

    async def __call__(self, message: Message) -> None:
        if not self.up:
            raise ConnectionError("signaling is down")
        self.sent.append(message)


class Rig:
    def __init__(self) -> None:
        self.clock = [0.0]
        self.wire = Wire()
        self.events: list[CallEvent] = []
        self.chat = Chat(self.wire, self.events.append, lambda: self.clock[0])

    def states(self, message_id: str) -> list[str]:
        return [
            e.state for e in self.events if isinstance(e, ChatStatus) and e.message_id == message_id
        ]

    def lines(self) -> list[tuple[str, str]]:
        return [(e.from_peer, e.text) for e in self.events if isinstance(e, ChatReceived)]


async def test_a_line_goes_to_everyone_and_is_delivered_when_all_acknowledge() -> None:
    rig = Rig()
    line = await rig.chat.say("hello", ["b", "c"])
    assert [(m["type"], m["to"], m["text"]) for m in rig.wire.sent] == [
        ("chat", "b", "hello"),
        ("chat", "c", "hello"),
    ]
    rig.chat.acknowledged("b", line)
    assert rig.states(line) == ["sending"]
    rig.chat.acknowledged("c", line)
    assert rig.states(line) == ["sending", "delivered"]
    rig.chat.acknowledged("c", line)  # a repeated ack changes nothing
    assert rig.states(line) == ["sending", "delivered"]


async def test_alone_a_line_is_delivered_at_once() -> None:
    rig = Rig()
    line = await rig.chat.say("anyone?", [])
    assert rig.states(line) == ["sending", "delivered"] and rig.wire.sent == []


async def test_a_line_not_acknowledged_is_resent_and_says_retrying() -> None:
    rig = Rig()
    line = await rig.chat.say("hello", ["b"])
    await rig.chat.tick()  # not due yet
    assert len(rig.wire.sent) == 1
    rig.clock[0] = 2.5
    await rig.chat.tick()
    assert len(rig.wire.sent) == 2 and rig.wire.sent[1]["id"] == line
    assert rig.states(line) == ["sending", "retrying"]
    rig.chat.acknowledged("b", line)
    assert rig.states(line) == ["sending", "retrying", "delivered"]


async def test_a_line_said_while_signaling_is_down_waits_and_goes_when_it_is_back() -> None:
    rig = Rig()
    rig.wire.up = False
    line = await rig.chat.say("are you there", ["b"])
    assert rig.states(line) == ["sending", "retrying"] and rig.wire.sent == []
    rig.wire.up = True
    rig.clock[0] = 3.0
    await rig.chat.tick()
    assert [m["text"] for m in rig.wire.sent] == ["are you there"]


async def test_a_reader_who_leaves_does_not_hold_a_line_forever() -> None:
    rig = Rig()
    line = await rig.chat.say("bye", ["b", "c"])
    rig.chat.acknowledged("b", line)
    rig.chat.participant_gone("c")
    assert rig.states(line)[-1] == "delivered"


async def test_received_lines_are_acknowledged_shown_once_and_in_order() -> None:
    rig = Rig()
    await rig.chat.received("b", "n1:2", "second")
    assert rig.lines() == []  # the first has not come yet
    await rig.chat.received("b", "n1:1", "first")
    await rig.chat.received("b", "n1:1", "first")  # a resend: acknowledged, not shown again
    await rig.chat.received("b", "n2:1", "after a restart")  # a new nonce starts afresh
    assert rig.lines() == [("b", "first"), ("b", "second"), ("b", "after a restart")]
    acks = [(m["type"], m["to"], m["id"]) for m in rig.wire.sent]
    assert acks == [
        ("chat_ack", "b", "n1:2"),
        ("chat_ack", "b", "n1:1"),
        ("chat_ack", "b", "n1:1"),
        ("chat_ack", "b", "n2:1"),
    ]


@pytest.mark.parametrize("bad_id", ["", "no-sequence", "n:", "n:x"])
async def test_a_line_with_a_malformed_id_is_acknowledged_but_not_shown(bad_id: str) -> None:
    rig = Rig()
    await rig.chat.received("b", bad_id, "?")
    assert rig.lines() == [] and rig.wire.sent[0]["type"] == "chat_ack"


class Channels:
    """Each peer's data channel as the chat sees it: whether it takes a message now, and what
    it took."""

    def __init__(self, *usable: str) -> None:
        self.usable = set(usable)
        self.sent: list[tuple[str, dict[str, str]]] = []

    def __call__(self, peer_id: str, message: dict[str, str]) -> bool:
        if peer_id not in self.usable:
            return False
        self.sent.append((peer_id, message))
        return True


def rig_with(channels: Channels) -> Rig:
    rig = Rig()
    rig.chat = Chat(rig.wire, rig.events.append, lambda: rig.clock[0], direct=channels)
    return rig


async def test_a_line_takes_the_data_channel_where_it_is_usable_and_signaling_elsewhere() -> None:
    channels = Channels("b")
    rig = rig_with(channels)
    line = await rig.chat.say("hello", ["b", "c"])
    assert channels.sent == [("b", {"t": "chat", "id": line, "text": "hello"})]
    assert [(m["type"], m["to"]) for m in rig.wire.sent] == [("chat", "c")]
    rig.chat.acknowledged("b", line)  # by either path: the same call
    rig.chat.acknowledged("c", line)
    assert rig.states(line) == ["sending", "delivered"]


async def test_a_line_goes_while_signaling_is_down_when_the_data_channel_is_up() -> None:
    channels = Channels("b")
    rig = rig_with(channels)
    rig.wire.up = False
    line = await rig.chat.say("still here", ["b"])
    assert rig.states(line) == ["sending"] and len(channels.sent) == 1


async def test_a_resend_takes_signaling_when_the_data_channel_went_away_and_back() -> None:
    channels = Channels("b")
    rig = rig_with(channels)
    line = await rig.chat.say("hello", ["b"])
    channels.usable.clear()  # the path died before the ack came
    rig.clock[0] = 2.5
    await rig.chat.tick()
    assert [(m["type"], m["id"]) for m in rig.wire.sent] == [("chat", line)]
    channels.usable.add("b")
    rig.clock[0] = 5.0
    await rig.chat.tick()
    assert len(channels.sent) == 2 and len(rig.wire.sent) == 1
    assert rig.states(line) == ["sending", "retrying"]


async def test_a_data_channel_that_raises_is_passed_over_for_signaling() -> None:
    def broken(peer_id: str, message: dict[str, str]) -> bool:
        raise RuntimeError("closing")

    rig = Rig()
    rig.chat = Chat(rig.wire, rig.events.append, lambda: rig.clock[0], direct=broken)
    await rig.chat.say("hello", ["b"])
    assert [m["type"] for m in rig.wire.sent] == ["chat"]


async def test_acks_take_the_data_channel_when_usable_and_a_line_by_both_paths_shows_once() -> None:
    channels = Channels("b")
    rig = rig_with(channels)
    await rig.chat.received("b", "n1:1", "first")  # by the data channel
    channels.usable.clear()
    await rig.chat.received("b", "n1:1", "first")  # resent by signaling: acknowledged again
    assert rig.lines() == [("b", "first")]
    assert channels.sent == [("b", {"t": "chat_ack", "id": "n1:1"})]
    assert [(m["type"], m["to"], m["id"]) for m in rig.wire.sent] == [("chat_ack", "b", "n1:1")]
