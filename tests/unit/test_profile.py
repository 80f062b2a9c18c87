"""The clinic profile: the sample parses, bad values say what to change, none is practice mode.

`read_profile` keeps every usable setting of a file with a bad value; `load_profile` is strict.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app import profile as profile_module
from app.profile import (
    WHOLE_FILE,
    ClinicProfile,
    PhoneNumber,
    ProfileError,
    load_profile,
    parse_profile,
    read_profile,
    salvage_profile,
)

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
    assert profile.emergency_number == "911"
    assert profile.source == SAMPLE
    assert profile.problems == ()
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
        ("[bandwidth]\nmin_mbps = -1\n", "bandwidth.min_mbps must be a positive number"),
        ("[bandwidth]\nmin_download_mbps = -1\n", "bandwidth.min_download_mbps must be a posit"),
        ("[bandwidth]\nmin_mbps = 0\n", "must be a positive number of Mbps"),
        ('[bandwidth]\nmin_upload_mbps = "fast"\n', "bandwidth.min_upload_mbps .*'fast'"),
        ("[bandwidth]\nmin_mbps = true\n", "positive number"),
        ('[servers]\nsession = "ftp://example.org"\n', "servers.session must start with http"),
        ("[servers]\nbackup = 5\n", "servers.backup must start with http"),
        ('[servers]\nsession = "https://"\n', "servers.session must name a server"),
        ('[servers]\nsession = "http://host:99999"\n', "servers.session must name a server"),
        ("[bandwidth]\nmin_mbps = nan\n", "must be a positive number of Mbps"),
        ("[bandwidth]\nmin_download_mbps = inf\n", "must be a positive number of Mbps"),
        ('clinic = "Riverside"\n', r"clinic must be a table, like \[clinic\]"),
        ('[phones]\ndial_in = "+1 555"\n', "phones.dial_in must be a list"),
        ('[phones]\nclinic = { label = "Desk" }\n', "phones.clinic must be a phone number"),
        ("[phones]\ncrisis_line = 988\n", "phones.crisis_line must be a phone number"),
        ('[phones]\ncrisis_line = ""\n', "phones.crisis_line must be a phone number"),
        ('[phones]\nclinic = { number = " " }\n', "phones.clinic must be a phone number"),
        ('[phones]\ndial_in = ["+1 555", 5]\n', r"phones.dial_in\[1\] must be a phone number"),
        (
            "[phones]\nemergency = 112\n",
            'phones.emergency must be a phone number in quotes, like "112"',
        ),
        ('[phones]\nemergency = "the police"\n', "phones.emergency must be a phone number"),
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


def test_the_emergency_number_comes_from_the_profile() -> None:
    assert ClinicProfile().emergency_number == "911"
    assert parse_profile({"phones": {"emergency": " 112 "}}).emergency_number == "112"


BROKEN_SPEED = """\
[servers]
session = "https://sessions.example-clinic.org"

[bandwidth]
min_mbps = "fast"

[phones]
crisis_line = { label = "Samaritans", number = "116 123" }
clinic = { label = "Clinic front desk", number = "+44 20 7946 0100" }
emergency = "999"
dial_in = ["+44 20 7946 0123", { label = "no number" }, "+44 20 7946 0124"]
"""


def test_one_bad_value_leaves_every_other_setting_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_SPEED)
    profile = read_profile(path)
    assert profile.server_url == "https://sessions.example-clinic.org"
    assert profile.crisis_line == PhoneNumber("Samaritans", "116 123")
    assert profile.clinic_phone == PhoneNumber("Clinic front desk", "+44 20 7946 0100")
    assert profile.emergency_number == "999"
    # Only the broken dial-in entry is dropped; its neighbours stay.
    assert [n.number for n in profile.dial_in_numbers] == ["+44 20 7946 0123", "+44 20 7946 0124"]
    assert profile.min_download_mbps == profile.min_upload_mbps == 5.0
    assert profile.source == path
    assert [p.setting for p in profile.problems] == ["bandwidth.min_mbps", "phones.dial_in[1]"]
    assert not profile.unreadable
    assert profile.phones_incomplete


def test_a_left_out_setting_is_named_in_plain_words() -> None:
    profile = salvage_profile({"bandwidth": {"min_mbps": "fast"}})
    (problem,) = profile.problems
    assert problem.plain == (
        "Tandem left out the minimum internet speed (bandwidth.min_mbps in the file): it must be "
        "a positive number of Mbps (got 'fast'). Tandem uses 5 Mbps instead."
    )
    assert problem.detail == "bandwidth.min_mbps must be a positive number of Mbps (got 'fast')"


def test_a_bad_table_costs_only_that_table() -> None:
    profile = salvage_profile({"clinic": "Riverside", "phones": {"clinic": "+1 555 0100"}})
    assert [p.setting for p in profile.problems] == ["clinic"]
    assert profile.clinic_phone == PhoneNumber("+1 555 0100", "+1 555 0100")
    assert not profile.phones_incomplete


def test_the_strict_loader_still_stops_at_a_bad_value(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="bandwidth.min_mbps must be a positive number"):
        load_profile(write(tmp_path, BROKEN_SPEED))


def test_a_file_that_is_not_toml_gives_the_defaults_and_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[phones]\nclinic = "+1 555 0100"\n[servers\nsession = 1\n')
    profile = read_profile(path)
    assert profile == ClinicProfile()
    assert profile.unreadable and profile.phones_incomplete
    (problem,) = profile.problems
    assert problem.setting == WHOLE_FILE
    assert problem.plain == (
        "Tandem could not read your clinic's settings file (clinic-profile.toml): "
        "line 3 is not written correctly."
    )
    # tomllib's own wording is for the log and the command line, not for the couple.
    assert "Expected" in problem.detail and "Expected" not in problem.plain


def test_a_named_profile_that_is_missing_is_read_as_unreadable(tmp_path: Path) -> None:
    profile = read_profile(tmp_path / "nope.toml")
    assert profile == ClinicProfile() and profile.unreadable
    assert "could not find your clinic's settings file" in profile.problems[0].plain


def test_a_file_that_is_not_text_is_read_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "clinic-profile.toml"
    path.write_bytes(b"\xff\xfe\x00bad")
    profile = read_profile(path)
    assert profile.unreadable
    assert profile.problems[0].plain.endswith("it is not a text file.")


def test_no_user_profile_has_no_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "user_profile_path", lambda: tmp_path / "missing.toml")
    profile = read_profile()
    assert profile.problems == () and not profile.phones_incomplete


# servers.ca_file: the clinic's own certificate authority


def test_ca_file_is_found_next_to_the_profile(tmp_path: Path) -> None:
    from tests.integration.tls_helpers import make_clinic_pki

    pki = make_clinic_pki(tmp_path)
    path = write(tmp_path, '[servers]\nsession = "https://s.example"\nca_file = "clinic-ca.pem"\n')
    assert load_profile(path).ca_file == pki.ca
    absolute = write(tmp_path, f'[servers]\nca_file = "{pki.ca}"\n')
    assert load_profile(absolute).ca_file == pki.ca
    assert load_profile(SAMPLE).ca_file is None  # commented out in the sample


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"missing.pem"', "no CA file at"),
        ('"clinic-profile.toml"', "not a PEM CA certificate"),
        ("7", "file name in quotes"),
    ],
)
def test_a_bad_ca_file_is_left_out_and_named(tmp_path: Path, value: str, words: str) -> None:
    path = write(tmp_path, f'[servers]\nsession = "https://s.example"\nca_file = {value}\n')
    profile = read_profile(path)
    assert profile.ca_file is None and profile.server_url == "https://s.example"
    (problem,) = profile.problems
    assert problem.setting == "servers.ca_file" and words in problem.detail
    assert "certificate file" in problem.plain


# Item 8 of issue 10: never a crisis line that cannot be dialled where the couple lives.


@pytest.mark.parametrize(
    ("phones", "shown"),
    [
        ('emergency = "112"\n', None),  # no crisis line set: 988 would not connect
        ('emergency = "112"\ncrisis_line = 988\n', None),  # unusable: same
        ('emergency = "999"\ncrisis_line = ""\n', None),
        ('emergency = "112"\ncrisis_line = "0800 111 0 111"\n', "0800 111 0 111"),
        ('emergency = "911"\ncrisis_line = 988\n', "988"),  # North America: 988 works
        ("", "988"),
    ],
)
def test_988_is_never_the_crisis_line_outside_north_america(phones: str, shown: str | None) -> None:
    profile = salvage_profile(tomllib.loads("[phones]\n" + phones))
    line = profile.crisis_line_here
    assert (line.number if line is not None else None) == shown


def test_the_crisis_line_problem_says_what_the_card_shows_instead() -> None:
    profile = salvage_profile(tomllib.loads('[phones]\nemergency = "112"\ncrisis_line = 988\n'))
    (problem,) = profile.problems
    assert problem.setting == "phones.crisis_line"
    assert "988 crisis line instead" not in problem.plain
    assert "emergency number and your clinic's number instead" in problem.plain
    assert problem.detail.startswith("phones.crisis_line must be a phone number")
