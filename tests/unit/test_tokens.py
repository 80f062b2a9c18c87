"""Join tokens (app/server/tokens.py) and the `tandem token` command."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from app.cli import main
from app.server.config import DEV_SECRET
from app.server.tokens import TokenError, mint_token, verify_token

SECRET = "unit-test-secret-0123456789abcdef"
NOW = 1_800_000_000.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: object, secret: str = SECRET) -> str:
    """A correctly signed token around any payload (to test the checks after the signature)."""
    body = _b64(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def _payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "v": 1,
        "room": "r1",
        "role": "partner",
        "name": "Sam",
        "exp": int(NOW) + 60,
        "jti": "abc",
    }
    payload.update(changes)
    return payload


def test_round_trip_keeps_every_claim() -> None:
    token = mint_token(SECRET, "room-7", "therapist", "Dr. Lee", ttl_s=600, now=NOW)
    claims = verify_token(SECRET, token, now=NOW + 1)
    assert (claims.room, claims.role, claims.name, claims.exp, claims.v) == (
        "room-7",
        "therapist",
        "Dr. Lee",
        int(NOW) + 600,
        1,
    )
    assert claims.jti
    assert "=" not in token and token.count(".") == 1


def test_each_token_has_its_own_id() -> None:
    first = verify_token(SECRET, mint_token(SECRET, "r", "partner", "A", 60, now=NOW), now=NOW)
    second = verify_token(SECRET, mint_token(SECRET, "r", "partner", "A", 60, now=NOW), now=NOW)
    assert first.jti != second.jti


@pytest.mark.parametrize("offset", [60, 61, 10_000])
def test_expired_token_is_refused(offset: int) -> None:
    token = mint_token(SECRET, "r1", "partner", "Sam", ttl_s=60, now=NOW)
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, token, now=NOW + offset)
    assert info.value.code == "token_expired"


def test_token_from_another_secret_is_forged() -> None:
    token = mint_token("some-other-server-secret", "r1", "partner", "Sam", 60, now=NOW)
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, token, now=NOW)
    assert info.value.code == "token_invalid"


def test_changed_payload_breaks_the_signature() -> None:
    token = mint_token(SECRET, "r1", "partner", "Sam", 60, now=NOW)
    _, signature = token.split(".")
    forged_body = _b64(json.dumps(_payload(room="someone-elses-room")).encode())
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, f"{forged_body}.{signature}", now=NOW)
    assert info.value.code == "token_invalid"


def test_signature_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify_token(SECRET, mint_token(SECRET, "r1", "partner", "Sam", 60, now=NOW), now=NOW)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "token",
    ["", "no-dot", "a.b.c", "!!!.???", "é.é", "x" * 5000, _b64(b"{}") + "."],
)
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, token, now=NOW)
    assert info.value.code == "token_invalid"


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "text",
        _payload(v=2),
        _payload(v=True),
        _payload(role="admin"),
        _payload(role=None),
        _payload(room=""),
        _payload(room="r" * 200),
        _payload(name=""),
        _payload(name=7),
        _payload(exp="soon"),
        _payload(exp=True),
        _payload(jti=""),
        {k: v for k, v in _payload().items() if k != "jti"},
    ],
)
def test_signed_but_unacceptable_payloads_are_invalid(payload: object) -> None:
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, _signed(payload), now=NOW)
    assert info.value.code == "token_invalid"


def test_payload_that_is_not_json_is_invalid() -> None:
    body = _b64(b"\xff\xfe not json")
    signature = _b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())
    with pytest.raises(TokenError) as info:
        verify_token(SECRET, f"{body}.{signature}", now=NOW)
    assert info.value.code == "token_invalid"


def test_server_without_secret_accepts_nothing() -> None:
    with pytest.raises(TokenError):
        verify_token("", _signed(_payload(), secret=""), now=NOW)


@pytest.mark.parametrize(
    ("room", "role", "name", "ttl"),
    [
        ("", "partner", "A", 60),
        ("r", "admin", "A", 60),
        ("r", "partner", " ", 60),
        ("r", "partner", "A", 0),
        ("r", "partner", "n" * 65, 60),
    ],
)
def test_mint_refuses_bad_claims(room: str, role: str, name: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        mint_token(SECRET, room, role, name, ttl)


def test_mint_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        mint_token("", "r", "partner", "A", 60)


# `tandem token`


def _cli_token(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["token", "--room", "r9", "--role", "oncall", "--name", "On call", *extra])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_token_command_signs_with_tandem_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", SECRET)
    code, token, _ = _cli_token(capsys, "--ttl", "120")
    assert code == 0
    claims = verify_token(SECRET, token)
    assert (claims.room, claims.role, claims.name) == ("r9", "oncall", "On call")


def test_token_command_reads_the_server_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("TANDEM_SECRET", raising=False)
    config = tmp_path / "server.toml"
    config.write_text('[server]\nsecret = "from-the-config-file-0123456789abcdef"\n')
    code, token, _ = _cli_token(capsys, "--config", str(config))
    assert code == 0
    assert verify_token("from-the-config-file-0123456789abcdef", token).room == "r9"


def test_token_command_dev_secret(capsys: pytest.CaptureFixture[str]) -> None:
    code, token, _ = _cli_token(capsys, "--insecure-dev-secret")
    assert code == 0
    assert verify_token(DEV_SECRET, token).role == "oncall"


def test_token_command_without_secret_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TANDEM_SECRET", raising=False)
    code, out, err = _cli_token(capsys)
    assert (code, out) == (2, "")
    assert "TANDEM_SECRET" in err


def test_token_command_bad_config_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("TANDEM_SECRET", raising=False)
    config = tmp_path / "broken.toml"
    config.write_text("[server\n")
    code, _, err = _cli_token(capsys, "--config", str(config))
    assert code == 2 and "TOML" in err
    code, _, err = _cli_token(capsys, "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "cannot read" in err


def test_server_command_without_secret_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TANDEM_SECRET", raising=False)
    assert main(["server", "--port", "0"]) == 2
    assert "TANDEM_SECRET" in capsys.readouterr().err


def test_server_command_dev_secret_only_on_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "--host", "0.0.0.0", "--insecure-dev-secret"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_token_command_refuses_what_the_server_would(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", SECRET)
    year_3026 = str(1000 * 365 * 24 * 3600)
    code, out, err = _cli_token(capsys, "--ttl", year_3026)
    assert (code, out) == (2, "") and "at most 43200 s" in err
    config = tmp_path / "server.toml"
    config.write_text("[server.token_max_ttl]\noncall = 600\n")
    code, out, err = _cli_token(capsys, "--config", str(config), "--ttl", "601")
    assert (code, out) == (2, "") and "at most 600 s" in err
    assert _cli_token(capsys, "--config", str(config), "--ttl", "600")[0] == 0
    config.write_text("[server.token_max_ttl]\noncall = -1\n")
    code, _, err = _cli_token(capsys, "--config", str(config))
    assert code == 2 and "[server.token_max_ttl] oncall must be a positive" in err


@pytest.mark.parametrize("room", ["\udcff", "a\tb", "r" * 129])
def test_token_command_refuses_a_room_that_is_not_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], room: str
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", SECRET)
    code = main(["token", "--room", room, "--role", "partner", "--name", "Sam"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "") and "room must be" in err and "Traceback" not in err


def test_token_command_says_what_minting_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDEM_SECRET", SECRET)
    assert main(["token", "--room", "r"]) == 2
    assert "--role, --name needed" in capsys.readouterr().err
