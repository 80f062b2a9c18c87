"""The frozen `tandem` as installed: its version, every command, every module, its files.

An import or a file the bundle lacks fails here, whatever code path it is on: the frozen app
imports every module it has (TANDEM_SMOKE=imports, app/smoke.py) and the list must be the
sources' list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import __version__
from app.cli import COMMANDS
from app.server.tokens import verify_token
from app.smoke import app_modules
from tests.bundle.frozen import ROOT, frozen_env, run_frozen

pytestmark = pytest.mark.bundle


def test_the_version_comes_from_the_sources(bundle: Path) -> None:
    done = run_frozen(bundle, ["--version"])
    assert (done.returncode, done.stdout.strip()) == (0, f"tandem {__version__}")


def test_every_command_of_the_sources_is_in_the_bundle(bundle: Path) -> None:
    done = run_frozen(bundle, ["--help"])
    assert done.returncode == 0, done.stderr
    # argparse lists each command on a line of its own, indented by four spaces.
    listed = re.findall(r"^ {4}([a-z][\w-]*)", done.stdout, re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS), done.stdout


def test_every_module_of_the_sources_imports_in_the_bundle(bundle: Path) -> None:
    done = run_frozen(bundle, [], env=frozen_env(TANDEM_SMOKE="imports"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == app_modules()


@pytest.mark.parametrize("folder", ["resources", "app/server/console"])
def test_the_bundle_carries_every_file_the_app_reads(bundle: Path, folder: str) -> None:
    sources = [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix != ".py"]
    assert sources
    missing = [
        str(p.relative_to(ROOT))
        for p in sources
        if not (bundle / "_internal" / p.relative_to(ROOT)).is_file()
        and "__pycache__" not in p.parts
    ]
    assert missing == []


def test_a_token_from_the_frozen_app_is_one_the_sources_accept(bundle: Path) -> None:
    secret = "a-test-secret-that-is-long-enough-0123456789"
    args = ["token", "--room", "couple-3", "--role", "partner", "--name", "Sam", "--ttl", "60"]
    done = run_frozen(bundle, args, env=frozen_env(TANDEM_SECRET=secret))
    assert done.returncode == 0, done.stderr
    claims = verify_token(secret, done.stdout.strip().splitlines()[-1])
    assert (claims.room, claims.role, claims.name) == ("couple-3", "partner", "Sam")
