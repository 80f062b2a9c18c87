"""The clinic profile: what a clinic configures (servers, minimum bandwidth, phone numbers).

A sample lives in resources/clinic-profile.sample.toml; the user's copy lives in the platform's
config folder. The installed app also finds one its clinic shipped in its install folder
(`default_profile_path`). With no profile the app runs in practice mode against a server it
starts itself.

`read_profile` never gives up on a whole file for one bad value: it keeps every setting it can
use and lists the ones it left out (`ClinicProfile.problems`), so a typo in a speed cannot take
the clinic's phone numbers off the crisis card. `load_profile` is the strict form, which
names every problem in one ProfileError.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import platformdirs

from app.frozen import install_folders

APP_NAME = "Tandem"
PROFILE_FILENAME = "clinic-profile.toml"
DEFAULT_MIN_MBPS = 5.0
DEFAULT_CRISIS_LINE = "988"
# 911 goes with the default crisis line, 988, which is also US-only; a clinic elsewhere sets both.
DEFAULT_EMERGENCY_NUMBER = "911"
# Where the emergency number is one of these, 988 can be dialled (the US and Canada).
CRISIS_LINE_988_EMERGENCY = frozenset({"911"})
WHOLE_FILE = ""  # ProfileProblem.setting when the file as a whole could not be used

T = TypeVar("T")


class ProfileError(ValueError):
    """The profile file exists but cannot be used; the message says what to change."""


@dataclass(frozen=True)
class PhoneNumber:
    label: str
    number: str


@dataclass(frozen=True)
class ProfileProblem:
    """One thing in the profile file that Tandem left out.

    `setting` is the key in the file ("phones.clinic"), or WHOLE_FILE. `detail` is the precise
    message for the clinic and the log; `plain` is the same in words for the couple.
    """

    setting: str
    detail: str
    plain: str


@dataclass(frozen=True)
class ClinicProfile:
    clinic_name: str = ""
    server_url: str | None = None
    backup_server_url: str | None = None
    # The clinic's own certificate authority (PEM), trusted for its servers besides the
    # system's authorities (app.net.tls_trust).
    ca_file: Path | None = None
    min_download_mbps: float = DEFAULT_MIN_MBPS
    min_upload_mbps: float = DEFAULT_MIN_MBPS
    dial_in_numbers: tuple[PhoneNumber, ...] = ()
    crisis_line: PhoneNumber = field(
        default_factory=lambda: PhoneNumber("988 Suicide & Crisis Lifeline (call or text)", "988")
    )
    clinic_phone: PhoneNumber | None = None
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER
    # A camera source ([devices] camera): a video file or a network camera's URL (or an index).
    camera_source: str | None = None
    # Where the settings came from and what was left out say nothing about what they configure,
    # so two profiles with the same settings are equal however they were read.
    source: Path | None = field(default=None, compare=False)
    problems: tuple[ProfileProblem, ...] = field(default=(), compare=False)

    @property
    def practice_mode(self) -> bool:
        """No clinic server configured: the app runs against its own local server."""
        return self.server_url is None

    @property
    def crisis_line_here(self) -> PhoneNumber | None:
        """The crisis line, unless it cannot work where the profile says the couple lives.

        988 is a North American number: beside an emergency number from elsewhere (112, 999)
        it is the default left over from a missing or unusable `crisis_line`, and showing it
        would send a person in crisis to a number that does not connect. None then: the card
        and its words fall back to the clinic's phone and the emergency number.
        """
        if self.crisis_line.number.strip() == DEFAULT_CRISIS_LINE and not _dials_988(
            self.emergency_number
        ):
            return None
        return self.crisis_line

    @property
    def unreadable(self) -> bool:
        """The file was there (or named) but nothing in it could be used."""
        return any(p.setting == WHOLE_FILE for p in self.problems)

    @property
    def phones_incomplete(self) -> bool:
        """Some of the clinic's own numbers were in the file but are not in this profile."""
        return self.unreadable or any(p.setting.startswith("phones") for p in self.problems)


def _dials_988(emergency_number: str) -> bool:
    return re.sub(r"\D", "", emergency_number) in CRISIS_LINE_988_EMERGENCY


def user_profile_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / PROFILE_FILENAME


def default_profile_path() -> Path:
    """The profile used without `--profile`: the user's own copy if there is one, else one the
    clinic shipped with the installed app (beside the launcher, or built into the bundle), else
    the user's path (which does not exist: practice mode). The person's own file wins, so a
    clinic can send a newer one without reinstalling."""
    user = user_profile_path()
    if user.exists():
        return user
    for folder in install_folders():
        shipped = folder / PROFILE_FILENAME
        if shipped.is_file():
            return shipped
    return user


# What each setting is, for a person who has never seen the file.
SETTING_WORDS = {
    "clinic": "The clinic's details",
    "servers": "The clinic's server addresses",
    "servers.session": "The session server address",
    "servers.backup": "The backup server address",
    "servers.ca_file": "The clinic's certificate file",
    "bandwidth": "The minimum internet speeds",
    "bandwidth.min_mbps": "The minimum internet speed",
    "bandwidth.min_download_mbps": "The minimum download speed",
    "bandwidth.min_upload_mbps": "The minimum upload speed",
    "phones": "The clinic's phone numbers",
    "phones.crisis_line": "The crisis line number",
    "phones.clinic": "The clinic's phone number",
    "phones.emergency": "The emergency number",
    "phones.dial_in": "The dial-in numbers",
    "devices": "The camera settings",
    "devices.camera": "The camera source",
}

# What Tandem uses instead, where that is worth knowing.
FALLBACK_WORDS = {
    "bandwidth": f"Tandem uses {DEFAULT_MIN_MBPS:g} Mbps each way instead.",
    "bandwidth.min_mbps": f"Tandem uses {DEFAULT_MIN_MBPS:g} Mbps instead.",
    "bandwidth.min_download_mbps": f"Tandem uses {DEFAULT_MIN_MBPS:g} Mbps instead.",
    "bandwidth.min_upload_mbps": f"Tandem uses {DEFAULT_MIN_MBPS:g} Mbps instead.",
    "phones.crisis_line": f"The help card shows the {DEFAULT_CRISIS_LINE} crisis line instead.",
    "phones.emergency": f"The help card says {DEFAULT_EMERGENCY_NUMBER} instead.",
}

NO_CRISIS_LINE = (
    "The help card shows the emergency number and your clinic's number instead "
    "(the 988 crisis line does not work outside North America)."
)

_DIAL_IN_ITEM = re.compile(r"phones\.dial_in\[(\d+)\]")


def setting_words(setting: str) -> str:
    item = _DIAL_IN_ITEM.fullmatch(setting)
    if item:
        return f"Dial-in number {int(item.group(1)) + 1}"
    return SETTING_WORDS.get(setting, f"The setting {setting}")


def _setting_problem(setting: str, rule: str, fallback: str | None = None) -> ProfileProblem:
    detail = f"{setting} {rule}"
    if fallback is None:
        fallback = FALLBACK_WORDS.get(setting, "")
    words = setting_words(setting)
    plain = f"Tandem left out {words[0].lower()}{words[1:]} ({setting} in the file): it {rule}."
    return ProfileProblem(setting, detail, f"{plain} {fallback}".strip())


class _Invalid(Exception):
    """A value broke its rule; `rule` finishes the sentence "<setting> …"."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class _Salvage:
    """Collects the settings that could not be used while the rest of the profile is built."""

    def __init__(self) -> None:
        self.problems: list[ProfileProblem] = []

    def value(self, setting: str, build: Callable[[Any], T], raw: Any, default: T) -> T:
        """`build(raw)`, or `default` (and a problem noted) when `raw` breaks its rule."""
        try:
            return build(raw)
        except _Invalid as bad:
            self.problems.append(_setting_problem(setting, bad.rule))
            return default

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        table = data.get(name, {})
        if isinstance(table, dict):
            return table
        self.problems.append(_setting_problem(name, "must be a table, like [" + name + "]"))
        return {}


def _phone(value: Any) -> PhoneNumber:
    if isinstance(value, str) and value.strip():
        return PhoneNumber(label=value, number=value)
    if isinstance(value, dict):
        number = value.get("number")
        # A blank number on the crisis card is worse than the default: treat it as missing.
        if isinstance(number, str) and number.strip():
            return PhoneNumber(label=str(value.get("label", number)), number=number)
    raise _Invalid(f'must be a phone number in quotes, like "+1 555 0100" (got {value!r})')


def _emergency(value: Any) -> str:
    # Short and dialable: it is read out under stress, so no labels and nothing to decode.
    if isinstance(value, str) and re.fullmatch(r"[0-9+*#()\- ]*[0-9][0-9+*#()\- ]*", value):
        return value.strip()
    raise _Invalid(f'must be a phone number in quotes, like "112" (got {value!r})')


def _camera_source(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _Invalid(
        "must be a camera number, a video file or a camera's address in quotes, like "
        f'"rtsp://camera.local/stream" (got {value!r})'
    )


def _url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _Invalid(f"must start with http:// or https:// (got {value!r})")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a port
    except ValueError:
        parts = parts._replace(netloc="")
    if not parts.hostname:
        raise _Invalid(f"must name a server, like https://host:port (got {value!r})")
    return value.rstrip("/")


def _ca_file(base: Path | None) -> Callable[[Any], Path | None]:
    """The builder for servers.ca_file: a PEM file, relative to the profile's own folder."""

    def build(value: Any) -> Path | None:
        from app.net.tls_trust import CaFileError, client_tls_context

        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise _Invalid(f'must be a file name in quotes, like "clinic-ca.pem" (got {value!r})')
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            client_tls_context(path)
        except CaFileError as exc:
            raise _Invalid(f"must be the clinic's CA certificate (PEM): {exc}") from None
        return path

    return build


def _mbps(value: Any) -> float:
    # TOML allows nan and inf; a minimum of either would make every comparison meaningless.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _Invalid(f"must be a positive number of Mbps (got {value!r})")
    return float(value)


def _dial_in(phones: dict[str, Any], salvage: _Salvage) -> tuple[PhoneNumber, ...]:
    entries = phones.get("dial_in", [])
    if not isinstance(entries, list):
        salvage.problems.append(_setting_problem("phones.dial_in", "must be a list, like [ … ]"))
        return ()
    numbers: list[PhoneNumber] = []
    for index, entry in enumerate(entries):
        # One bad entry is left out; the other dial-in numbers still work.
        number = salvage.value(f"phones.dial_in[{index}]", _phone, entry, None)
        if number is not None:
            numbers.append(number)
    return tuple(numbers)


def salvage_profile(data: dict[str, Any], source: Path | None = None) -> ClinicProfile:
    """Build a profile from parsed TOML, leaving out (and listing) each value it cannot use.

    Unknown keys are ignored so newer files still load.
    """
    salvage = _Salvage()
    clinic = salvage.table(data, "clinic")
    servers = salvage.table(data, "servers")
    bandwidth = salvage.table(data, "bandwidth")
    phones = salvage.table(data, "phones")
    devices = salvage.table(data, "devices")
    tables = {"servers": servers, "bandwidth": bandwidth, "phones": phones, "devices": devices}
    default = ClinicProfile()

    def setting(name: str, build: Callable[[Any], T], fallback: T) -> T:
        table, key = name.split(".")
        value = tables[table].get(key)
        if value is None:
            return fallback
        return salvage.value(name, build, value, fallback)

    shared_mbps = setting("bandwidth.min_mbps", _mbps, DEFAULT_MIN_MBPS)
    profile = ClinicProfile(
        clinic_name=str(clinic.get("name", "")),
        server_url=setting("servers.session", _url, None),
        backup_server_url=setting("servers.backup", _url, None),
        ca_file=setting("servers.ca_file", _ca_file(source.parent if source else None), None),
        min_download_mbps=setting("bandwidth.min_download_mbps", _mbps, shared_mbps),
        min_upload_mbps=setting("bandwidth.min_upload_mbps", _mbps, shared_mbps),
        dial_in_numbers=_dial_in(phones, salvage),
        crisis_line=setting("phones.crisis_line", _phone, default.crisis_line),
        clinic_phone=setting("phones.clinic", _phone, None),
        emergency_number=setting("phones.emergency", _emergency, default.emergency_number),
        camera_source=setting("devices.camera", _camera_source, None),
        source=source,
        problems=tuple(salvage.problems),
    )
    if profile.crisis_line_here is None:
        # The 988 fallback is not shown outside North America: say what the card shows instead.
        problems = tuple(
            _setting_problem(p.setting, p.detail.removeprefix(p.setting + " "), NO_CRISIS_LINE)
            if p.setting == "phones.crisis_line"
            else p
            for p in profile.problems
        )
        profile = replace(profile, problems=problems)
    return profile


def parse_profile(data: dict[str, Any], source: Path | None = None) -> ClinicProfile:
    """Build a profile from parsed TOML; any value it cannot use is a ProfileError."""
    profile = salvage_profile(data, source)
    if profile.problems:
        raise ProfileError(problems_text(profile.problems))
    return profile


def problems_text(problems: tuple[ProfileProblem, ...]) -> str:
    """Every problem in one message, so all of them can be fixed at once."""
    if len(problems) == 1:
        return problems[0].detail
    return f"{len(problems)} settings cannot be used: " + "; ".join(p.detail for p in problems)


def _unreadable(path: Path, detail: str, plain: str) -> ClinicProfile:
    return ClinicProfile(source=path, problems=(ProfileProblem(WHOLE_FILE, detail, plain),))


_TOML_POSITION = re.compile(r"at line (\d+), column \d+")


def read_profile(path: Path | None = None) -> ClinicProfile:
    """The given profile, or the default one, with whatever in it can be used; never raises.

    A missing user profile means practice mode with no problems. A named file that is missing,
    or a file that is not valid TOML, gives the defaults and one WHOLE_FILE problem.
    """
    target = path if path is not None else default_profile_path()
    if not target.exists():
        if path is None:
            return ClinicProfile()
        return _unreadable(
            target,
            f"No clinic profile at {target}",
            f"Tandem could not find your clinic's settings file at {target}.",
        )
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return _unreadable(
            target,
            f"Cannot read the clinic profile {target}: it is not UTF-8 text ({exc.reason})",
            f"Tandem could not read your clinic's settings file ({target.name}): "
            "it is not a text file.",
        )
    except OSError as exc:
        return _unreadable(
            target,
            f"Cannot read the clinic profile {target}: {exc.strerror or exc}",
            f"Tandem could not open your clinic's settings file ({target}): "
            f"{(exc.strerror or 'the system refused').lower()}.",
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message is for programmers; the couple only needs to know where to look.
        position = _TOML_POSITION.search(str(exc))
        where = (
            f"line {position.group(1)} is not written correctly" if position else "it is damaged"
        )
        return _unreadable(
            target,
            f"Cannot read the clinic profile {target}: {exc}",
            f"Tandem could not read your clinic's settings file ({target.name}): {where}.",
        )
    return salvage_profile(data, source=target)


def load_profile(path: Path | None = None) -> ClinicProfile:
    """Load the given profile, or the default one; none at all means practice mode.

    Strict: a problem in the file is a ProfileError naming every problem in it.
    """
    profile = read_profile(path)
    if profile.problems:
        raise ProfileError(problems_text(profile.problems))
    return profile
