"""The connection caps and timeouts as `tandem server` reads them: flag, then file, then default."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.cli import main
from app.server.config import ServerConfig
from app.server.connection_limits import ConnectionLimits, LimitsError


@pytest.fixture(autouse=True)
def a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_SECRET", "a-test-secret-of-some-length-0123")


def _config(tmp_path: Path, lines: str, **flags: object) -> ServerConfig:
    path = tmp_path / "server.toml"
    path.write_text("[server]\n" + lines + "\n")
    return ServerConfig.from_args(argparse.Namespace(config=str(path), **flags))


def test_defaults_fit_a_clinic() -> None:
    limits = ConnectionLimits()
    limits.validate()
    assert (limits.max_connections, limits.max_connections_per_address) == (1000, 100)
    assert (limits.header_timeout_s, limits.idle_timeout_s) == (10.0, 30.0)
    assert limits.max_pending_joins == 200
    assert ServerConfig().connections == limits == ServerConfig.for_practice().connections


def test_file_then_flags(tmp_path: Path) -> None:
    lines = (
        "max_connections = 500\nmax_connections_per_address = 0\nmax_pending_joins = 20\n"
        "header_timeout_s = 4\nidle_timeout_s = 12.5"
    )
    limits = _config(tmp_path, lines).connections
    assert limits == ConnectionLimits(500, 0, 20, 4.0, 12.5)
    assert limits.per_address_cap() is None
    flagged = _config(tmp_path, lines, max_connections=50, idle_timeout=3.0).connections
    assert (flagged.max_connections, flagged.idle_timeout_s, flagged.header_timeout_s) == (
        50,
        3.0,
        4.0,
    )


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ('max_connections = "many"', "[server] max_connections must be a whole number, not 'many'"),
        ("max_connections = 2.5", "[server] max_connections must be a whole number"),
        ("max_connections = true", "[server] max_connections must be a whole number"),
        ("max_connections = 0", "(--max-connections or [server] max_connections) must be at"),
        (
            "max_connections_per_address = -1",
            "the max connections per address (--max-connections-per-address or [server] "
            "max_connections_per_address) must be 0 (no cap) or more",
        ),
        ("max_pending_joins = 0", "[server] max_pending_joins) must be at least 1"),
        ('header_timeout_s = "10"', "[server] header_timeout_s must be a number of seconds"),
        (
            "header_timeout_s = 0",
            "the header timeout (--header-timeout or [server] header_timeout_s) must be a "
            "positive number of seconds, not 0.0",
        ),
        ("idle_timeout_s = nan", "[server] idle_timeout_s) must be a positive number"),
        ("idle_timeout_s = -inf", "[server] idle_timeout_s) must be a positive number"),
    ],
)
def test_a_bad_value_stops_the_server_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str, words: str
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f"[server]\n{lines}\n")
    assert main(["server", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--max-connections=0", "max connections (--max-connections"),
        ("--idle-timeout=0", "the idle timeout (--idle-timeout"),
        ("--header-timeout=-2", "the header timeout (--header-timeout"),
        ("--max-pending-joins=0", "the max pending joins (--max-pending-joins"),
    ],
)
def test_a_bad_flag_stops_the_server_naming_it(
    capsys: pytest.CaptureFixture[str], flag: str, words: str
) -> None:
    assert main(["server", flag]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_help_names_the_flags_and_their_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["server", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in (
        "--max-connections N open connections in all (default 1000)",
        "--max-connections-per-address N",
        "0: no cap, for a server behind a reverse proxy (default 100)",
        "--max-pending-joins N WebSockets that have not joined yet (default 200)",
        "--header-timeout S",
        "--idle-timeout S",
        "Before its join a WebSocket may send 8 KiB in all.",
    ):
        assert words in text, words


def test_validate_raises_limits_error_directly() -> None:
    with pytest.raises(LimitsError, match="max_connections"):
        ConnectionLimits(max_connections=-5).validate()
