"""The smoke hooks of the installed app (app/smoke.py), run here from source."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import app
from app import smoke

APP_DIR = Path(app.__file__).resolve().parent


def test_every_module_under_app_is_listed_but_the_one_that_runs_the_app() -> None:
    files = [p for p in APP_DIR.rglob("*.py") if "__pycache__" not in p.parts]
    expected = set()
    for path in files:
        parts = list(path.relative_to(APP_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        expected.add(".".join(parts))
    expected.discard("app.__main__")
    names = smoke.app_modules()
    assert names == sorted(expected)
    assert "app.commands.check" in names and "app.ui.main" in names


def test_nothing_is_asked_unless_the_variable_is_set() -> None:
    assert smoke.requested({}) == ""
    assert smoke.requested({"TANDEM_SMOKE": "paint"}) == smoke.PAINT


def test_import_everything_names_each_module_and_says_which_failed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke, "app_modules", lambda: ["app.profile", "app.not_in_the_bundle"])
    real_import = importlib.import_module

    def fake_import(name: str) -> object:
        if name == "app.not_in_the_bundle":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    assert smoke.import_everything() == 1
    out, err = capsys.readouterr()
    assert out.split() == ["app.profile"]
    assert "cannot import app.not_in_the_bundle: ModuleNotFoundError" in err


def test_import_everything_imports_the_real_app(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.import_everything() == 0
    out, err = capsys.readouterr()
    assert out.split() == smoke.app_modules()
    assert f"imported {len(out.split())} modules" in err
