"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.server.embedded import EmbeddedServer, start_practice_server


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    """The embedded session server in practice mode, on loopback, stopped after the test.

    test_signaling_server has a fixture of its own by this name: a bare signaling harness.
    """
    embedded = start_practice_server()
    try:
        yield embedded
    finally:
        embedded.stop()
