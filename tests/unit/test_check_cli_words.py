"""`tandem check`'s options and its reading of the clinic profile (item 13 of issue 10): bad
numbers refused, `--profile` after the command, every bad setting named at once, and a bad phone
number (which the check does not use) named without stopping the check."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app import cli
from app.commands import check
from app.profile import ProfileError, load_profile


@pytest.fixture
def checks_run(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """Stand in for the checks themselves; records the arguments they were given."""
    seen: list[argparse.Namespace] = []

    def fake_check(args: argparse.Namespace, profile: object, cancel: object) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(check, "_check", fake_check)
    return seen


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "0", "-1", "fast"])
def test_min_mbps_must_be_a_positive_finite_number(
    value: str, capsys: pytest.CaptureFixture[str], checks_run: list[argparse.Namespace]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", f"--min-mbps={value}"])
    assert exited.value.code == 2
    assert "--min-mbps: must be a positive number of Mbps" in capsys.readouterr().err
    assert checks_run == []


def test_profile_works_after_the_command_and_before_it(
    tmp_path: Path, checks_run: list[argparse.Namespace]
) -> None:
    profile = tmp_path / "clinic.toml"
    profile.write_text("[bandwidth]\nmin_mbps = 3\n", encoding="utf-8")
    assert cli.main(["check", "--profile", str(profile), "--min-mbps", "2.5"]) == 0
    assert cli.main(["--profile", str(profile), "check"]) == 0
    assert cli.main(["check"]) == 0
    assert [a.profile for a in checks_run] == [profile, profile, None]
    assert checks_run[0].min_mbps == 2.5


BAD_EVERYWHERE = """
[servers]
session = "ftp://clinic"
[bandwidth]
min_download_mbps = "fast"
min_upload_mbps = -2
"""


def test_the_strict_check_names_every_bad_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checks_run: list[argparse.Namespace]
) -> None:
    profile = tmp_path / "clinic.toml"
    profile.write_text(BAD_EVERYWHERE, encoding="utf-8")
    assert cli.main(["check", "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    for setting in ("servers.session", "bandwidth.min_download_mbps", "bandwidth.min_upload_mbps"):
        assert setting in err
    assert checks_run == []
    with pytest.raises(ProfileError) as raised:
        load_profile(profile)
    assert str(raised.value).startswith("3 settings cannot be used: servers.session")
    assert "bandwidth.min_upload_mbps" in str(raised.value)


def test_a_bad_phone_number_is_named_and_the_check_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checks_run: list[argparse.Namespace]
) -> None:
    profile = tmp_path / "clinic.toml"
    profile.write_text("[phones]\ncrisis_line = 988\nemergency = 911\n", encoding="utf-8")
    assert cli.main(["check", "--profile", str(profile)]) == 0
    assert len(checks_run) == 1  # the check ran, as the app goes on
    err = capsys.readouterr().err
    assert "warning: phones.crisis_line must be a phone number" in err
    assert "warning: phones.emergency must be a phone number" in err


def test_token_lifetimes_are_said_in_the_options_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["token", "--room", "r", "--role", "partner", "--name", "A", "--insecure-dev-secret"]
    assert cli.main([*args, "--ttl", "0"]) == 2
    err = capsys.readouterr().err
    assert "--ttl must be a positive number of seconds" in err and "ttl_s" not in err
