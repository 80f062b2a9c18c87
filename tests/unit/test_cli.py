"""The command line's entry points: `tandem`, `tandem gui` and `tandem-gui` take the same
arguments for the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from app import cli
from app.commands import gui
from app.net.bandwidth_measurement import UploadBasis


@pytest.fixture
def app_runs(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """Stand in for opening the window; records the arguments it was given."""
    seen: list[argparse.Namespace] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(gui, "run", run)
    return seen


def test_the_windowed_launcher_reads_its_own_arguments(
    app_runs: list[argparse.Namespace], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["tandem-gui", "--practice", "--profile", "clinic.toml"])
    assert cli.main_gui() == 0
    (args,) = app_runs
    assert (args.command, args.practice, args.profile) == ("gui", True, Path("clinic.toml"))


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "clinic.toml", "gui", "--practice"],
        ["--profile", "clinic.toml", "--practice"],
        ["--practice", "--profile", "clinic.toml"],
    ],
)
def test_tandem_and_tandem_gui_agree(argv: list[str], app_runs: list[argparse.Namespace]) -> None:
    assert cli.main(argv) == 0
    assert cli.main_gui(["--profile", "clinic.toml", "--practice"]) == 0
    from_tandem, from_launcher = app_runs
    assert vars(from_tandem) == vars(from_launcher)


def test_no_arguments_opens_the_app_without_practice(app_runs: list[argparse.Namespace]) -> None:
    assert cli.main([]) == 0
    assert cli.main_gui([]) == 0
    assert [(a.command, a.practice, a.profile) for a in app_runs] == [("gui", False, None)] * 2


def test_the_launcher_refuses_what_tandem_gui_refuses(
    capsys: pytest.CaptureFixture[str], app_runs: list[argparse.Namespace]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main_gui(["--server", "http://x"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --server" in capsys.readouterr().err
    assert app_runs == []


def test_other_commands_still_parse_their_own_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", "--practice"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --practice" in capsys.readouterr().err


def test_the_check_summary_says_when_upload_is_only_an_estimate() -> None:
    from app.checks.bandwidth import judge
    from app.commands.check import _speeds
    from app.net.bandwidth_measurement import BandwidthMeasurement

    def line(basis: UploadBasis) -> str:
        measured = BandwidthMeasurement(20.0, 5.5, 20.0, 2.0, "s", 5.5, 20.0, 3.0, basis)
        return _speeds(dict(judge(measured).metrics))

    assert line("sender_estimate") == "20.0 Mbps down, 5.5 Mbps up (this computer's estimate)."
    assert line("received") == "20.0 Mbps down, 5.5 Mbps up."


def test_join_without_a_token_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TANDEM_JOIN_TOKEN", raising=False)
    assert cli.main(["join", "--headless", "--server", "http://127.0.0.1:9"]) == 2
    assert "--token or TANDEM_JOIN_TOKEN" in capsys.readouterr().err
