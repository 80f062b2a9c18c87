"""Which TLS certificates a client trusts, and telling a certificate it refused from a server
it could not reach.

A clinic may run its session server with a certificate from its own certificate authority. The
computer does not trust that CA unless told: `--ca-file` (tandem join, tandem check) or
`ca_file` in the clinic profile names the CA's certificate (PEM), trusted in addition to the
system's own authorities. A refused certificate is its own problem with its own words ("the
server's certificate is not trusted", ask the clinic's IT), never "could not be reached":
checking the internet connection does not help with it.
"""

from __future__ import annotations

import ssl
import urllib.error
from pathlib import Path

# The technical message that goes with the code `server_untrusted` (the headless line, logs);
# a person is shown app.call.refusal_words' sentence instead.
UNTRUSTED_WORDS = (
    "the server's certificate is not trusted: if the clinic uses its own certificate authority, "
    "name its certificate with --ca-file or ca_file in the clinic profile"
)
# The technical message that goes with `server_not_https`.
NOT_TLS_WORDS = (
    "the server at this https:// address answered without TLS: check the address (it may need "
    "http://)"
)


class CaFileError(ValueError):
    """The CA file cannot be used; the message says why."""


def client_tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context that verifies server certificates against the system's authorities
    and, if given, the CA certificate(s) in `ca_file` (PEM)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except FileNotFoundError:
            raise CaFileError(f"no CA file at {ca_file}") from None
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise CaFileError(f"{ca_file} is not a PEM CA certificate ({reason})") from None
    return context


# OpenSSL's reasons when the other side answered, but not in TLS (a plain http:// server).
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}
)


def is_not_tls(exc: BaseException | None) -> bool:
    """Whether `exc`, or what it wraps, is an https:// address answered by a server that does
    not speak TLS there (it answered in plain http): the address is wrong, not the network."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None) in _NOT_TLS_REASONS:
            return True
        if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
            exc = exc.reason
            continue
        exc = exc.__cause__ or exc.__context__
    return False


def is_untrusted_certificate(exc: BaseException | None) -> bool:
    """Whether `exc`, or what it wraps, is the server's certificate failing verification
    (an unknown CA, expired, or for another name). aiohttp's ClientConnectorCertificateError
    is an ssl.SSLCertVerificationError too; urllib wraps it in a URLError."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            return True
        if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
            exc = exc.reason
            continue
        exc = exc.__cause__ or exc.__context__
    return False
