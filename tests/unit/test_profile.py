"""The clinic profile: the sample parses, bad values say what to change, none is practice mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import profile as profile_module
from app.profile import ClinicProfile, PhoneNumber, ProfileError, load_profile, parse_profile

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "clinic-profile.sample.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinic-profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_profile_parses() -> None:
    profile = load_profile(SAMPLE)
    assert profile.clinic_name == "Riverside Couples IOP"
    assert profile.server_url == "https://sessions.example-clinic.org"
    assert profile.backup_server_url == "https://backup.example-clinic.org"
    assert profile.min_download_mbps == 5.0
    assert profile.min_upload_mbps == 5.0
    assert profile.crisis_line.number == "988"
    assert profile.clinic_phone == PhoneNumber("Clinic front desk", "+1 555 0100")
    assert profile.dial_in_numbers == (
        PhoneNumber("Session dial-in (audio only)", "+1 555 0123,,4567#"),
    )
    assert profile.source == SAMPLE
    assert not profile.practice_mode


def test_no_user_profile_means_practice_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_module, "user_profile_path", lambda: tmp_path / "missing.toml")
    profile = load_profile()
    assert profile == ClinicProfile()
    assert profile.practice_mode
    assert profile.min_download_mbps == profile.min_upload_mbps == 5.0
    assert profile.crisis_line.number == "988"


def test_a_named_profile_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="No clinic profile at"):
        load_profile(tmp_path / "nope.toml")


def test_an_empty_profile_is_practice_mode(tmp_path: Path) -> None:
    assert load_profile(write(tmp_path, "")).practice_mode


def test_an_empty_session_url_is_practice_mode() -> None:
    assert parse_profile({"servers": {"session": ""}}).practice_mode


def test_per_direction_minimums_override_the_shared_one() -> None:
    profile = parse_profile({"bandwidth": {"min_mbps": 4, "min_upload_mbps": 2.5}})
    assert profile.min_download_mbps == 4.0
    assert profile.min_upload_mbps == 2.5


def test_a_trailing_slash_on_a_server_is_dropped() -> None:
    assert parse_profile({"servers": {"session": "http://10.0.0.5:8443/"}}).server_url == (
        "http://10.0.0.5:8443"
    )


def test_a_plain_string_phone_number_is_accepted() -> None:
    profile = parse_profile({"phones": {"clinic": "+1 555 0100", "dial_in": ["+1 555 0199"]}})
    assert profile.clinic_phone == PhoneNumber("+1 555 0100", "+1 555 0100")
    assert profile.dial_in_numbers == (PhoneNumber("+1 555 0199", "+1 555 0199"),)


def test_unknown_keys_are_ignored() -> None:
    data = {"future": {"x": 1}, "clinic": {"name": "A", "logo": "b"}}
    assert parse_profile(data).clinic_name == "A"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bandwidth]\nmin_mbps = -1\n", "bandwidth.min_download_mbps must be a positive number"),
        ("[bandwidth]\nmin_mbps = 0\n", "must be a positive number of Mbps"),
        ('[bandwidth]\nmin_upload_mbps = "fast"\n', "bandwidth.min_upload_mbps .*'fast'"),
        ("[bandwidth]\nmin_mbps = true\n", "positive number"),
        ('[servers]\nsession = "ftp://example.org"\n', "servers.session must start with http"),
        ("[servers]\nbackup = 5\n", "servers.backup must start with http"),
        ('[servers]\nsession = "https://"\n', "servers.session must name a server"),
        ('[servers]\nsession = "http://host:99999"\n', "servers.session must name a server"),
        ("[bandwidth]\nmin_mbps = nan\n", "must be a positive number of Mbps"),
        ("[bandwidth]\nmin_download_mbps = inf\n", "must be a positive number of Mbps"),
        ('clinic = "Riverside"\n', r"\[clinic\] must be a table"),
        ('[phones]\ndial_in = "+1 555"\n', "phones.dial_in must be a list"),
        ('[phones]\nclinic = { label = "Desk" }\n', "phones.clinic must be a phone number"),
        ("[phones]\ncrisis_line = 988\n", "phones.crisis_line must be a phone number"),
        ("[servers\nsession = 1\n", "Cannot read the clinic profile"),
    ],
)
def test_bad_values_give_a_clear_profile_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(write(tmp_path, text))


def test_a_file_that_is_not_text_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "clinic-profile.toml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ProfileError, match="Cannot read the clinic profile"):
        load_profile(path)
