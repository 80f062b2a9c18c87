"""The clinic profile: what a clinic configures (servers, minimum bandwidth, phone numbers).

A sample lives in resources/clinic-profile.sample.toml; the user's copy lives in the platform's
config folder. With no profile the app runs in practice mode against a server it starts itself.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "Tandem"
PROFILE_FILENAME = "clinic-profile.toml"
DEFAULT_MIN_MBPS = 5.0
DEFAULT_CRISIS_LINE = "988"


class ProfileError(ValueError):
    """The profile file exists but cannot be used; the message says what to change."""


@dataclass(frozen=True)
class PhoneNumber:
    label: str
    number: str


@dataclass(frozen=True)
class ClinicProfile:
    clinic_name: str = ""
    server_url: str | None = None
    backup_server_url: str | None = None
    min_download_mbps: float = DEFAULT_MIN_MBPS
    min_upload_mbps: float = DEFAULT_MIN_MBPS
    dial_in_numbers: tuple[PhoneNumber, ...] = ()
    crisis_line: PhoneNumber = field(
        default_factory=lambda: PhoneNumber("988 Suicide & Crisis Lifeline (call or text)", "988")
    )
    clinic_phone: PhoneNumber | None = None
    source: Path | None = None

    @property
    def practice_mode(self) -> bool:
        """No clinic server configured: the app runs against its own local server."""
        return self.server_url is None


def user_profile_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / PROFILE_FILENAME


def _phone(value: Any, where: str) -> PhoneNumber:
    if isinstance(value, str):
        return PhoneNumber(label=value, number=value)
    if isinstance(value, dict) and isinstance(value.get("number"), str):
        return PhoneNumber(label=str(value.get("label", value["number"])), number=value["number"])
    raise ProfileError(f"{where} must be a phone number or a table with a 'number' key")


def _url(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ProfileError(f"{where} must start with http:// or https:// (got {value!r})")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a port
    except ValueError:
        parts = parts._replace(netloc="")
    if not parts.hostname:
        raise ProfileError(f"{where} must name a server, like https://host:port (got {value!r})")
    return value.rstrip("/")


def _mbps(value: Any, where: str) -> float:
    # TOML allows nan and inf; a minimum of either would make every comparison meaningless.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ProfileError(f"{where} must be a positive number of Mbps (got {value!r})")
    return float(value)


def parse_profile(data: dict[str, Any], source: Path | None = None) -> ClinicProfile:
    """Build a profile from parsed TOML; unknown keys are ignored so newer files still load."""
    clinic = data.get("clinic", {})
    servers = data.get("servers", {})
    bandwidth = data.get("bandwidth", {})
    phones = data.get("phones", {})
    for name, table in (
        ("clinic", clinic),
        ("servers", servers),
        ("bandwidth", bandwidth),
        ("phones", phones),
    ):
        if not isinstance(table, dict):
            raise ProfileError(f"[{name}] must be a table")
    min_mbps = bandwidth.get("min_mbps", DEFAULT_MIN_MBPS)
    dial_in = phones.get("dial_in", [])
    if not isinstance(dial_in, list):
        raise ProfileError("phones.dial_in must be a list")
    crisis = phones.get("crisis_line")
    clinic_phone = phones.get("clinic")
    return ClinicProfile(
        clinic_name=str(clinic.get("name", "")),
        server_url=_url(servers.get("session"), "servers.session"),
        backup_server_url=_url(servers.get("backup"), "servers.backup"),
        min_download_mbps=_mbps(
            bandwidth.get("min_download_mbps", min_mbps), "bandwidth.min_download_mbps"
        ),
        min_upload_mbps=_mbps(
            bandwidth.get("min_upload_mbps", min_mbps), "bandwidth.min_upload_mbps"
        ),
        dial_in_numbers=tuple(_phone(v, "phones.dial_in[]") for v in dial_in),
        crisis_line=_phone(crisis, "phones.crisis_line")
        if crisis is not None
        else ClinicProfile().crisis_line,
        clinic_phone=_phone(clinic_phone, "phones.clinic") if clinic_phone is not None else None,
        source=source,
    )


def load_profile(path: Path | None = None) -> ClinicProfile:
    """Load the given profile, or the user's one; a missing file means practice mode."""
    target = path if path is not None else user_profile_path()
    if not target.exists():
        if path is not None:
            raise ProfileError(f"No clinic profile at {target}")
        return ClinicProfile()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"Cannot read the clinic profile {target}: {exc}") from exc
    return parse_profile(data, source=target)
