"""`tandem server` settings: every value checked, a clear message naming it, exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.cli import main
from app.server.config import FILE_KEYS


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["server", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture(autouse=True)
def no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_SECRET", "a-test-secret-of-some-length-0123")
    monkeypatch.delenv("TANDEM_TURN_SECRET", raising=False)


def test_help_lists_every_config_key_and_the_heartbeat(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["server", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--heartbeat" in text and "--grace" in text
    for key in FILE_KEYS:
        assert f"  {key} = " in text, key


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ('turn_ttl = "six hours"', "[server] turn_ttl must be a whole number, not 'six hours'"),
        ("turn_ttl = 3600.5", "[server] turn_ttl must be a whole number"),
        ("turn_ttl = 0", "[server] turn_ttl must be a positive number of seconds"),
        ("turn_ttl = true", "[server] turn_ttl must be a whole number"),
        ('heartbeat_s = "2"', "[server] heartbeat_s must be a number of seconds"),
        ("heartbeat_s = -1", "heartbeat_s) must be a positive number of seconds"),
        ("heartbeat_s = nan", "heartbeat_s) must be a positive number of seconds"),
        ('grace_s = "30"', "[server] grace_s must be a number of seconds"),
        ("grace_s = 0", "grace_s) must be a positive number of seconds"),
        ("grace_s = -inf", "grace_s) must be a positive number of seconds"),
        ("grace_s = true", "[server] grace_s must be a number of seconds"),
        ('port = "8443"', "[server] port must be a whole number"),
        ("port = 70000", "port) must be 0-65535"),
        ("host = 5", "[server] host must be a string"),
        ("stun = 3478", "[server] stun must be a URL or a list of URLs"),
        ('stun = ["turn.example.org:3478"]', "must start with stun: or stuns:"),
        ('turn_url = "stun:a:3478"\nturn_secret = "t"', "must start with turn: or turns:"),
        ('turn_urls = ["turn:a:3478"]', "unknown setting turn_urls in [server]"),
        ("heartbeat = 2", "unknown setting heartbeat"),
    ],
)
def test_a_bad_config_value_is_named_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str, words: str
) -> None:
    config = tmp_path / "server.toml"
    config.write_text(f"[server]\n{lines}\n", encoding="utf-8")
    code, err = _run(capsys, "--config", str(config))
    assert code == 2
    assert err.startswith("tandem server: ")
    assert words in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--heartbeat", "0"], "--heartbeat or [server] heartbeat_s"),
        (["--heartbeat", "inf"], "--heartbeat or [server] heartbeat_s"),
        (["--grace", "0"], "--grace or [server] grace_s"),
        (["--grace", "nan"], "--grace or [server] grace_s"),
        (["--port", "-1"], "port) must be 0-65535"),
    ],
)
def test_a_bad_command_line_value_is_named_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code, err = _run(capsys, *argv)
    assert (code, words in err) == (2, True), err


def test_a_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _run(capsys, "--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    assert f"cannot listen on 127.0.0.1 port {port}" in err
