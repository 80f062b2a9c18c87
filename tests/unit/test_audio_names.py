"""Sound devices by the names a person knows (item 5 of issue 10): not "pulse" or "default"."""

from __future__ import annotations

from app.devices.audio_names import description_of, person_names
from app.devices.base import DeviceInfo

LISTED = [
    DeviceInfo("0", "HDA Intel PCH: ALC3246 Analog (hw:0,0)"),
    DeviceInfo("1", "HDA Intel PCH: HDMI 0 (hw:0,3)"),
    DeviceInfo("2", "sysdefault"),
    DeviceInfo("3", "front"),
    DeviceInfo("4", "surround51"),
    DeviceInfo("5", "dmix"),
    DeviceInfo("6", "pulse"),
    DeviceInfo("7", "default"),
]


def test_the_system_default_comes_first_with_its_description() -> None:
    asked: list[bool] = []

    def describe() -> str:
        asked.append(True)
        return "Built-in Audio Analog Stereo"

    named = person_names(LISTED, describe)
    assert named == [
        DeviceInfo("7", "System default (Built-in Audio Analog Stereo)"),
        DeviceInfo("0", "HDA Intel PCH: ALC3246 Analog"),
        DeviceInfo("1", "HDA Intel PCH: HDMI 0"),
    ]
    assert len(asked) == 1  # the sound server is asked once per list
    for device in named:
        assert device.name not in {"pulse", "default", "sysdefault"}
        assert "hw:" not in device.name


def test_without_a_sound_server_description_the_words_stay_plain() -> None:
    named = person_names([DeviceInfo("3", "pulse"), DeviceInfo("4", "USB Headset")], lambda: None)
    assert named == [DeviceInfo("3", "System default"), DeviceInfo("4", "USB Headset")]


def test_nothing_is_hidden_when_only_plugins_are_listed() -> None:
    only = [DeviceInfo("0", "dmix")]
    assert person_names(only, lambda: None) == only


def test_same_names_are_told_apart() -> None:
    two = [DeviceInfo("0", "USB Audio (hw:1,0)"), DeviceInfo("1", "USB Audio (hw:2,0)")]
    assert [d.name for d in person_names(two, lambda: None)] == ["USB Audio", "USB Audio (2)"]


PACTL_SINKS = """Sink #0
\tState: SUSPENDED
\tName: alsa_output.pci-0000_00_1f.3.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tDriver: module-alsa-card.c

Sink #1
\tName: bluez_output.AA_BB.1
\tDescription: Sam's Headphones
"""


def test_the_description_is_read_from_pactl() -> None:
    assert description_of(PACTL_SINKS, "bluez_output.AA_BB.1") == "Sam's Headphones"
    assert (
        description_of(PACTL_SINKS, "alsa_output.pci-0000_00_1f.3.analog-stereo")
        == "Built-in Audio Analog Stereo"
    )
    assert description_of(PACTL_SINKS, "missing") is None
