"""`tandem plan set` and `tandem audit`: what they write and print, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.server.emergency.cases import couple_key
from app.server.emergency.sqlite_store import Database
from app.server.emergency.store import Record, Step

SECRET = "a-test-secret-of-some-length-0123"
T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_SECRET", SECRET)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_plan_set_stores_the_plan_under_the_couples_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("# Safety plan\n1. Breathe.\n", encoding="utf-8")
    data = tmp_path / "data"
    code, out, _ = _run(
        capsys, "plan", "set", "--room", "couple-1", "--file", str(plan), "--data-dir", str(data)
    )
    assert code == 0 and "stored" in out
    database = Database(data)
    stored = database.plan(couple_key(SECRET, "couple-1"))
    database.close()
    assert stored is not None and stored.text == "# Safety plan\n1. Breathe.\n"


def test_plan_set_finds_the_data_dir_in_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("Call Jo.", encoding="utf-8")
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "configured"}"\n')
    code, _, _ = _run(
        capsys, "plan", "set", "--room", "r", "--file", str(plan), "--config", str(config)
    )
    assert code == 0 and (tmp_path / "configured" / "emergency.sqlite3").is_file()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read"),
        ("", "is empty"),
        ("x" * 20_001, "limited to 20000"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_plan_set_refuses_a_file_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, words: str
) -> None:
    plan = tmp_path / "plan.md"
    if isinstance(content, bytes):
        plan.write_bytes(content)
    elif content is not None:
        plan.write_text(content, encoding="utf-8")
    code, _, err = _run(
        capsys,
        "plan",
        "set",
        "--room",
        "r",
        "--file",
        str(plan),
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert code == 2 and words in err


def test_plan_set_needs_the_servers_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TANDEM_SECRET")
    code, _, err = _run(
        capsys, "plan", "set", "--room", "r", "--file", "x.md", "--data-dir", str(tmp_path)
    )
    assert code == 2 and "no secret" in err


def _records(data: Path) -> None:
    database = Database(data)
    database.write(
        [
            Step(
                [
                    Record(T0, "case-a", "requested", {"couple": "k1", "location_given": True}),
                    Record(T0 + 0.2, "case-a", "rung", {"clinician": "Dr Lee", "tier": 1}),
                ]
            ),
            Step(
                [
                    Record(
                        T0 + 86_400,
                        "case-b",
                        "ended",
                        {"outcome": "safe", "note": "Calmer;\nsleeping now."},
                    )
                ]
            ),
        ]
    )
    database.close()


def test_audit_prints_one_line_per_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _records(tmp_path)
    code, out, _ = _run(capsys, "audit", "--data-dir", str(tmp_path))
    assert code == 0
    assert out.splitlines() == [
        "2025-06-15T15:06:40.000Z  case-a  requested  couple=k1 location_given=yes",
        '2025-06-15T15:06:40.200Z  case-a  rung       clinician="Dr Lee" tier=1',
        '2025-06-16T15:06:40.000Z  case-b  ended      note="Calmer;\\nsleeping now." outcome=safe',
    ]


def test_audit_filters_by_case_and_time_and_speaks_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _records(tmp_path)
    _, out, _ = _run(capsys, "audit", "--data-dir", str(tmp_path), "--case", "case-a", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["kind"], r["at"]) for r in lines] == [
        ("requested", "2025-06-15T15:06:40.000Z"),
        ("rung", "2025-06-15T15:06:40.200Z"),
    ]
    assert lines[1]["detail"] == {"clinician": "Dr Lee", "tier": 1}
    _, out, _ = _run(capsys, "audit", "--data-dir", str(tmp_path), "--since", "2025-06-16")
    assert [line.split()[1] for line in out.splitlines()] == ["case-b"]
    _, out, _ = _run(
        capsys, "audit", "--data-dir", str(tmp_path), "--since", "2025-06-15T17:06:40.1+02:00"
    )
    assert [line.split()[2] for line in out.splitlines()] == ["rung", "ended"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["--since", "last week"], "not an ISO date"), ([], "no emergency records")],
)
def test_audit_refuses_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code, _, err = _run(capsys, "audit", "--data-dir", str(tmp_path / "none"), *argv)
    assert code == 2 and words in err


def test_the_server_reads_its_data_dir_and_emergency_settings(tmp_path: Path) -> None:
    import argparse

    from app.server.config import ServerConfig, default_data_dir

    config_file = tmp_path / "server.toml"
    config_file.write_text(
        f'[server]\ndata_dir = "{tmp_path / "from-file"}"\n'
        "[emergency]\nring_again_s = 5\neveryone_s = 10\nunanswered_s = 15\n"
        'backup_tier = ["Dr Park"]\n'
    )
    from_file = ServerConfig.from_args(argparse.Namespace(config=str(config_file)))
    assert from_file.data_dir == tmp_path / "from-file"
    assert from_file.emergency.timings.offsets() == (5.0, 10.0, 15.0)
    assert from_file.emergency.backup_tier == ("Dr Park",)
    flag = ServerConfig.from_args(
        argparse.Namespace(config=str(config_file), data_dir=str(tmp_path / "flag"))
    )
    assert flag.data_dir == tmp_path / "flag"
    assert ServerConfig.from_args(argparse.Namespace()).data_dir == default_data_dir()
    assert ServerConfig().data_dir is None  # embedded and test servers: in memory


def test_a_bad_emergency_setting_stops_the_server_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "server.toml"
    config_file.write_text("[emergency]\nunanswered_s = 10\n")
    code, _, err = _run(capsys, "server", "--config", str(config_file))
    assert code == 2
    assert "[emergency] ring_again_s < everyone_s < unanswered_s is required" in err
