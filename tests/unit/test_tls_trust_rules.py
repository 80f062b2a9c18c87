"""Telling a refused certificate from an unreachable server, and the CA file options
(app/net/tls_trust.py, `tandem check --ca-file`)."""

from __future__ import annotations

import ssl
import urllib.error
from pathlib import Path

import pytest

from app.cli import main
from app.net.bandwidth_measurement import classify_error
from app.net.tls_trust import CaFileError, client_tls_context, is_untrusted_certificate

VERIFY_FAILED = ssl.SSLCertVerificationError(1, "certificate verify failed")


def _wrapped() -> BaseException:
    try:
        try:
            raise VERIFY_FAILED
        except ssl.SSLError as exc:
            raise ConnectionError("handshake") from exc
    except ConnectionError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        VERIFY_FAILED,
        urllib.error.URLError(VERIFY_FAILED),
        _wrapped(),
    ],
)
def test_a_refused_certificate_is_recognised_however_wrapped(exc: BaseException) -> None:
    """(aiohttp's own ClientConnectorCertificateError, from a real handshake, is in
    tests/integration/test_tls_trust.py.)"""
    assert is_untrusted_certificate(exc)
    assert classify_error(exc).problem == "untrusted"


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        ssl.SSLError(1, "wrong version number"),  # plain http on the port: not a certificate
        urllib.error.URLError("no host"),
        None,
    ],
)
def test_other_failures_are_not_called_untrusted(exc: BaseException | None) -> None:
    assert not is_untrusted_certificate(exc)


def test_a_ca_file_that_cannot_be_used_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaFileError, match="no CA file"):
        client_tls_context(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(CaFileError, match="not a PEM CA certificate"):
        client_tls_context(garbage)
    assert client_tls_context(None).verify_mode is ssl.CERT_REQUIRED


def test_check_refuses_a_bad_ca_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "clinic-profile.toml"
    profile.write_text("")
    argv = ["--profile", str(profile), "check", "--server", "https://sessions.example:8443"]
    assert main([*argv, "--ca-file", str(tmp_path / "missing.pem")]) == 2
    err = capsys.readouterr().err
    assert "--ca-file: no CA file" in err and "Traceback" not in err
