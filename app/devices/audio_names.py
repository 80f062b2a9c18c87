"""Names a person knows for the sound devices PortAudio lists.

PortAudio on Linux lists ALSA's names: "default", "pulse", "sysdefault", plugins such as
"dmix" or "surround51", and cards as "HDA Intel PCH: ALC3246 Analog (hw:0,0)". A person knows
"System default (Built-in Audio Analog Stereo)": the sound server's own description of the
device the system uses. Only names change; the ids (PortAudio indexes) stay what is opened.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable

from app.devices.base import DeviceInfo

PACTL_TIMEOUT_S = 1.5
# ALSA plugins and aliases nobody picks by name; the system default covers what they route to.
ALSA_PLUGINS = frozenset(
    {
        "sysdefault", "dmix", "dsnoop", "front", "rear", "center_lfe", "side", "surround21",
        "surround40", "surround41", "surround50", "surround51", "surround71", "iec958",
        "spdif", "hdmi", "modem", "phoneline", "lavrate", "samplerate", "speexrate", "speex",
        "upmix", "vdownmix", "a52", "jack", "oss", "usbstream", "null",
    }
)  # fmt: skip
SOUND_SERVERS = frozenset({"pulse", "pipewire"})
_HW_SUFFIX = re.compile(r"\s*\((?:plug)?hw:\d+(?:,\d+)*\)$")


def person_names(
    devices: list[DeviceInfo], describe_default: Callable[[], str | None]
) -> list[DeviceInfo]:
    """The list with names a person knows, the system default first; ALSA plugins left out
    (unless nothing else would be left). `describe_default` names the system's device."""
    raw = {device.name for device in devices}
    has_default = "default" in raw
    description: str | None = None
    asked = False

    def described(words: str) -> str:
        nonlocal description, asked
        if not asked:
            description, asked = describe_default(), True
        return f"{words} ({description})" if description else words

    named: list[DeviceInfo] = []
    for device in devices:
        name = device.name.strip()
        if name == "default":
            named.insert(0, DeviceInfo(device.id, described("System default")))
        elif name in SOUND_SERVERS:
            if not has_default:  # the same route as "default": listed once
                named.insert(0, DeviceInfo(device.id, described("System default")))
        elif name.split(":")[0] in ALSA_PLUGINS:
            continue
        else:
            named.append(DeviceInfo(device.id, _HW_SUFFIX.sub("", name) or name))
    if not named:
        return list(devices)
    return _unique(named)


def _unique(devices: list[DeviceInfo]) -> list[DeviceInfo]:
    seen: dict[str, int] = {}
    out = []
    for device in devices:
        count = seen[device.name] = seen.get(device.name, 0) + 1
        out.append(device if count == 1 else DeviceInfo(device.id, f"{device.name} ({count})"))
    return out


def sound_server_default(kind: str) -> str | None:
    """The sound server's description of its default `kind` ("sink" or "source"), or None
    (no PulseAudio or PipeWire, or it did not answer within PACTL_TIMEOUT_S)."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        name = _pactl(pactl, f"get-default-{kind}").strip()
        listing = _pactl(pactl, "list", f"{kind}s")
    except (OSError, subprocess.SubprocessError):
        return None
    return description_of(listing, name) if name else None


def description_of(listing: str, name: str) -> str | None:
    """The Description of the device called `name` in `pactl list sinks` (or sources) text."""
    for block in re.split(r"\n(?=\S)", listing):
        if re.search(rf"^\s*Name: {re.escape(name)}\s*$", block, re.MULTILINE):
            found = re.search(r"^\s*Description: (.+)$", block, re.MULTILINE)
            return found.group(1).strip() if found else None
    return None


def _pactl(pactl: str, *args: str) -> str:
    done = subprocess.run(
        [pactl, *args],
        capture_output=True,
        text=True,
        timeout=PACTL_TIMEOUT_S,
        check=True,
        env={**os.environ, "LC_ALL": "C"},  # "Name:" and "Description:" in English
    )
    return done.stdout
