"""Token secrets: weak ones are refused by `tandem server` and `tandem token`."""

from __future__ import annotations

import secrets

import pytest

from app.cli import main
from app.server.config import DEV_SECRET, ConfigError, ServerConfig
from app.server.secret_strength import secret_problem


@pytest.mark.parametrize(
    "secret",
    [
        "a",
        "short-but-random-Xq7",
        "x" * 64,
        "ab" * 20,
        "password1234" * 3,
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "9876543210zyxwvutsrqponmlkjihgfedcba",
        "secret-" + "x" * 30,
    ],
)
def test_weak_secrets_are_named(secret: str) -> None:
    assert secret_problem(secret) is not None


def test_random_secrets_pass() -> None:
    # Bounded: 300 of each way clinics are told to make one.
    for _ in range(300):
        for secret in (secrets.token_hex(16), secrets.token_urlsafe(32)):
            assert secret_problem(secret) is None, secret


def test_the_server_refuses_a_weak_secret_unless_told_it_is_development() -> None:
    with pytest.raises(ConfigError, match="too short.*--allow-weak-secret"):
        ServerConfig(secret="a").validate()
    ServerConfig(secret="a", allow_weak_secret=True).validate()
    with pytest.raises(ConfigError, match="loopback"):
        ServerConfig(host="0.0.0.0", secret="a", allow_weak_secret=True).validate()
    ServerConfig(secret=DEV_SECRET).validate()  # the public one has its own flag and rule


def test_server_command_with_a_weak_secret_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", "a")
    assert main(["server", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "too short" in err and "token_urlsafe" in err and "Traceback" not in err


def test_token_command_with_a_weak_secret_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", "a")
    argv = ["token", "--room", "r", "--role", "partner", "--name", "A"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "too short" in err
    assert main([*argv, "--allow-weak-secret"]) == 0
    assert capsys.readouterr().out.strip().count(".") == 1


def test_practice_servers_use_strong_secrets() -> None:
    assert secret_problem(ServerConfig.for_practice().secret) is None
