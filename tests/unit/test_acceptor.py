"""The accept loop: each socket handed over at once; out of descriptors, one line and a pause."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

import pytest

from app.server import acceptor
from app.server.acceptor import Listener, bind


class Failing:
    """A real listening socket whose next accept() calls fail with `errors` first."""

    def __init__(self, sock: socket.socket, errors: list[OSError]) -> None:
        self.sock = sock
        self.errors = errors
        self.accepts = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.sock.accept()

    def close(self) -> None:
        self.sock.close()


async def _listener(errors: list[OSError]) -> tuple[Listener, Failing, asyncio.Queue[Any]]:
    (sock,) = await bind("127.0.0.1", 0, 16)
    failing = Failing(sock, errors)
    accepted: asyncio.Queue[Any] = asyncio.Queue()

    def on_accept(conn: socket.socket, address: Any) -> None:
        accepted.put_nowait(address)
        conn.close()

    listener = Listener(asyncio.get_running_loop(), [failing], on_accept)  # type: ignore[list-item]
    listener.start()
    return listener, failing, accepted


async def test_each_connection_is_handed_over() -> None:
    listener, failing, accepted = await _listener([])
    port = failing.sock.getsockname()[1]
    writers = [(await asyncio.open_connection("127.0.0.1", port))[1] for _ in range(3)]
    for _ in range(3):
        address = await asyncio.wait_for(accepted.get(), 10)
        assert address[0] == "127.0.0.1"
    assert listener.is_serving() and listener.sockets == (failing,)  # type: ignore[comparison-overlap]
    listener.close()
    listener.close()  # twice is fine
    assert not listener.is_serving() and listener.sockets == ()
    for writer in writers:
        writer.close()


async def test_out_of_descriptors_pauses_with_one_line_then_resumes(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acceptor, "PAUSE_S", 0.05)
    emfile = OSError(errno.EMFILE, "Too many open files")
    listener, failing, accepted = await _listener([emfile])
    port = failing.sock.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="app.server.acceptor"):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(accepted.get(), 10)  # taken after the pause
    assert failing.accepts == 3  # the failure, then the connection, then "no more" (not a spin)
    assert [r.getMessage() for r in caplog.records] == [
        "out of file descriptors or memory (Too many open files); new connections wait 0.05 s"
    ]
    assert caplog.records[0].exc_info is None  # no traceback
    listener.close()
    writer.close()


async def test_other_accept_errors_are_one_line_and_accepting_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = [ConnectionAbortedError(), OSError(errno.EPERM, "Operation not permitted")]
    listener, failing, accepted = await _listener(errors)
    port = failing.sock.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="app.server.acceptor"):
        _, first = await asyncio.open_connection("127.0.0.1", port)
        _, second = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):
            await asyncio.wait_for(accepted.get(), 10)
    assert [r.getMessage() for r in caplog.records] == [
        "accepting a connection failed: Operation not permitted"
    ]
    listener.close()
    first.close()
    second.close()


async def test_close_during_a_pause_stays_closed() -> None:
    emfile = OSError(errno.EMFILE, "Too many open files")
    listener, failing, _accepted = await _listener([emfile])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(acceptor.log, "warning", lambda *args: None)
        _, writer = await asyncio.open_connection("127.0.0.1", failing.sock.getsockname()[1])
        for _ in range(10_000):  # the failed accept happens on one of the loop's next turns
            if failing.accepts:
                break
            await asyncio.sleep(0)
    assert failing.accepts == 1 and listener._resume is not None
    listener.close()
    assert not listener.is_serving() and listener._resume is None  # no restart on a closed socket
    writer.close()


async def test_bind_reports_an_address_in_use() -> None:
    (taken,) = await bind("127.0.0.1", 0, 16)
    with pytest.raises(OSError) as failed:
        await bind("127.0.0.1", taken.getsockname()[1], 16)
    assert failed.value.errno == errno.EADDRINUSE
    taken.close()
