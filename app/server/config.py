"""The session server's settings, from the command line, a config file and the environment.

Precedence: command-line option, then environment (`TANDEM_SECRET`, `TANDEM_TURN_SECRET`), then
the `[server]` table of the TOML file given with `--config`, then the defaults below.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import secrets
import ssl
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.net.signaling_protocol import (
    DEFAULT_GRACE_S,
    DEFAULT_HEARTBEAT_S,
    MAX_HEARTBEAT_S,
    MIN_HEARTBEAT_S,
)
from app.server import connection_limits
from app.server.connection_limits import ConnectionLimits, LimitsError
from app.server.emergency import settings as emergency_settings
from app.server.emergency.settings import EmergencySettings
from app.server.secret_strength import HOW_TO_MAKE_ONE, secret_problem
from app.server.tokens import TokenLifetimes

# The keys of the config file's [server] table (documented in `tandem server --help`).
FILE_KEYS = frozenset(
    {
        "host",
        "port",
        "secret",
        "cert",
        "key",
        "stun",
        "turn_url",
        "turn_secret",
        "turn_ttl",
        "heartbeat_s",
        "grace_s",
        "data_dir",
        "token_max_ttl",
        "revoked_tokens",
    }
)
FILE_KEYS |= connection_limits.FILE_KEYS  # the caps and timeouts per connection

# Well known and therefore worthless: accepted only on a loopback address (--insecure-dev-secret).
DEV_SECRET = "tandem-insecure-development-secret-do-not-use"


class ConfigError(Exception):
    """The settings cannot work; the message says what to fix."""


@dataclass(frozen=True)
class RoomLimits:
    """How many of each role one room holds (a couple, their therapist, an on-call clinician)."""

    partner: int = 2
    therapist: int = 1
    oncall: int = 1

    def for_role(self, role: str) -> int:
        limit: int = getattr(self, role, 0)
        return limit


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    # Signs join tokens. From TANDEM_SECRET; a random one is fine for practice mode only.
    secret: str = ""
    cert: Path | None = None
    key: Path | None = None
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl_s: int = 6 * 3600
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    # How long a member whose socket dropped (without `leave`) keeps its place in the room.
    grace_s: float = DEFAULT_GRACE_S
    join_timeout_s: float = 5.0
    limits: RoomLimits = RoomLimits()
    # Emergency records and safety plans (SQLite). None keeps them in memory: practice mode
    # and tests; `tandem server` defaults to the user's data folder (default_data_dir()).
    data_dir: Path | None = None
    emergency: EmergencySettings = EmergencySettings()
    # The longest a token of each role may be valid ([server.token_max_ttl]).
    token_lifetimes: TokenLifetimes = TokenLifetimes()
    # The revocation list (app/server/revocation.py); None: no token can be revoked.
    revoked_tokens: Path | None = None
    # Development only (loopback hosts): sign with a secret that fails the strength check.
    allow_weak_secret: bool = False
    # Caps and timeouts per connection (the defaults and their reasons are in that module).
    connections: ConnectionLimits = ConnectionLimits()

    @property
    def tls(self) -> bool:
        return self.cert is not None

    def validate(self) -> None:
        """Raise ConfigError if the server must not start with these settings."""
        if not self.secret:
            raise ConfigError(
                "no secret to sign join tokens: set TANDEM_SECRET, put `secret` in the [server] "
                "table of --config, or use --insecure-dev-secret on a loopback address"
            )
        if self.secret == DEV_SECRET and not _is_loopback(self.host):
            raise ConfigError("the insecure development secret is only allowed on a loopback host")
        if (self.cert is None) != (self.key is None):
            raise ConfigError("TLS needs both --cert and --key")
        if self.turn_urls and not self.turn_secret:
            raise ConfigError("TURN URLs are set but turn_secret (TANDEM_TURN_SECRET) is not")
        if not 0 <= self.port <= 65535:
            raise ConfigError(
                f"the port (--port or [server] port) must be 0-65535, not {self.port}"
            )
        for value, setting in (
            (self.heartbeat_s, "the heartbeat (--heartbeat or [server] heartbeat_s)"),
            (self.grace_s, "the grace period (--grace or [server] grace_s)"),
            (self.join_timeout_s, "the join timeout"),
            (self.turn_ttl_s, "[server] turn_ttl"),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{setting} must be a positive number of seconds, not {value}")
        if not MIN_HEARTBEAT_S <= self.heartbeat_s <= MAX_HEARTBEAT_S:
            raise ConfigError(
                f"the heartbeat (--heartbeat or [server] heartbeat_s) must be {MIN_HEARTBEAT_S}-"
                f"{MAX_HEARTBEAT_S:g} s (clients refuse any other), not {self.heartbeat_s}"
            )
        try:
            self.emergency.check()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.revoked_tokens is not None and not self.revoked_tokens.parent.is_dir():
            raise ConfigError(
                f"[server] revoked_tokens: the folder {self.revoked_tokens.parent} does not exist"
            )
        try:
            self.connections.validate()
        except LimitsError as exc:
            raise ConfigError(str(exc)) from None
        self._check_secret_strength()

    def _check_secret_strength(self) -> None:
        weakness = secret_problem(self.secret)
        if weakness is None or self.secret == DEV_SECRET:
            return
        if not self.allow_weak_secret:
            raise ConfigError(
                f"{weakness}: anyone holding one join token could guess it offline and mint "
                f"their own; {HOW_TO_MAKE_ONE}. For development on a loopback address only, "
                "--allow-weak-secret accepts it"
            )
        if not _is_loopback(self.host):
            raise ConfigError("--allow-weak-secret is only allowed on a loopback host")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A server TLS context from cert and key, or None for plain HTTP/WS."""
        if self.cert is None or self.key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
        return context

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServerConfig:
        file = load_file(getattr(args, "config", None))
        secret = os.environ.get("TANDEM_SECRET") or _str(file, "secret")
        if getattr(args, "insecure_dev_secret", False):
            secret = DEV_SECRET
        cert = getattr(args, "cert", None) or _str(file, "cert")
        key = getattr(args, "key", None) or _str(file, "key")
        revoked = _str(file, "revoked_tokens")
        heartbeat = getattr(args, "heartbeat", None)
        grace = getattr(args, "grace", None)
        port = getattr(args, "port", None)
        data_dir = getattr(args, "data_dir", None) or _str(file, "data_dir")
        try:
            connections = ConnectionLimits.from_settings(file, args)
        except LimitsError as exc:
            raise ConfigError(str(exc)) from None
        return cls(
            host=getattr(args, "host", None) or _str(file, "host") or cls.host,
            port=port if port is not None else _whole(file, "port", cls.port),
            secret=secret,
            cert=Path(cert) if cert else None,
            key=Path(key) if key else None,
            stun_urls=_urls(file, "stun", ("stun:", "stuns:")),
            turn_urls=_urls(file, "turn_url", ("turn:", "turns:")),
            turn_secret=os.environ.get("TANDEM_TURN_SECRET") or _str(file, "turn_secret"),
            turn_ttl_s=_whole(file, "turn_ttl", cls.turn_ttl_s),
            heartbeat_s=(
                heartbeat
                if heartbeat is not None
                else _seconds(file, "heartbeat_s", DEFAULT_HEARTBEAT_S)
            ),
            grace_s=grace if grace is not None else _seconds(file, "grace_s", DEFAULT_GRACE_S),
            data_dir=Path(data_dir) if data_dir else default_data_dir(),
            emergency=_emergency(getattr(args, "config", None)),
            token_lifetimes=token_lifetimes(file),
            revoked_tokens=Path(revoked) if revoked else None,
            allow_weak_secret=bool(getattr(args, "allow_weak_secret", False)),
            connections=connections,
        )

    @classmethod
    def for_practice(cls) -> ServerConfig:
        """The embedded server of practice mode: loopback only, a throwaway secret."""
        return cls(host="127.0.0.1", port=0, secret=secrets.token_urlsafe(32))


def load_file(path: str | Path | None) -> dict[str, Any]:
    """The `[server]` table of a TOML config file ({} without a file)."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    table = data.get("server", {})
    if not isinstance(table, dict):
        raise ConfigError(f"[server] in {path} must be a table")
    unknown = sorted(set(table) - FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)} in [server] of {path}; the settings are: "
            f"{', '.join(sorted(FILE_KEYS))}"
        )
    return table


def default_data_dir() -> Path:
    """Where `tandem server` keeps its records without --data-dir or [server] data_dir."""
    import platformdirs

    return Path(platformdirs.user_data_dir("tandem-server"))


def _emergency(path: str | Path | None) -> EmergencySettings:
    try:
        return emergency_settings.from_table(emergency_settings.load_table(path))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def secret_from(config_path: str | Path | None) -> str:
    """The token secret as `tandem token` finds it: TANDEM_SECRET, else the config file."""
    return os.environ.get("TANDEM_SECRET") or _str(load_file(config_path), "secret")


def token_lifetimes(table: dict[str, Any]) -> TokenLifetimes:
    """The `[server.token_max_ttl]` table of a loaded [server] table (defaults without one)."""
    value = table.get("token_max_ttl", {})
    if not isinstance(value, dict):
        raise ConfigError("[server] token_max_ttl must be a table, like [server.token_max_ttl]")
    try:
        return TokenLifetimes.from_table(value)
    except ValueError as exc:
        raise ConfigError(f"[server.token_max_ttl] {exc}") from None


def revoked_tokens_from(config_path: str | Path | None) -> Path | None:
    """The revocation list named by `revoked_tokens` in a config file's [server] table."""
    path = _str(load_file(config_path), "revoked_tokens")
    return Path(path) if path else None


def _str(table: dict[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"[server] {key} must be a string")
    return value


def _urls(table: dict[str, Any], key: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise ConfigError(f"[server] {key} must be a URL or a list of URLs")
    for url in value:
        if not url.startswith(schemes):
            raise ConfigError(f"[server] {key}: {url!r} must start with {' or '.join(schemes)}")
    return tuple(value)


def _whole(table: dict[str, Any], key: str, default: int) -> int:
    """A whole number; TOML's own type, never a string that looks like one."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"[server] {key} must be a whole number, not {value!r}")
    return value


def _seconds(table: dict[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"[server] {key} must be a number of seconds, not {value!r}")
    return float(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
