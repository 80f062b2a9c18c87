"""Running the frozen app from a test: where the bundle is, its environment, one run to the end."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.lab.requirements import need

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_ENV = "TANDEM_BUNDLE"
RUN_TIMEOUT_S = 90.0


def bundle_folder() -> Path:
    """The folder holding the bundle (`tandem/`) and the .deb."""
    named = os.environ.get(BUNDLE_ENV)
    return Path(named) if named else ROOT / "installer" / "dist"


def frozen_env(base: Mapping[str, str] = os.environ, **extra: str) -> dict[str, str]:
    """`base` with `extra`, less what belongs to the source run (the frozen app has no use for
    PYTHONPATH and the like, and must not lean on them)."""
    env = {k: v for k, v in base.items() if not k.startswith(("PYTHON", "PYTEST"))}
    env.update(extra)
    return env


def run_frozen(
    bundle: Path, args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the frozen `tandem ARGS` to the end; a traceback on stderr fails the test."""
    done = subprocess.run(
        [str(bundle / "tandem"), *args],
        env=env if env is not None else frozen_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def need_dpkg() -> None:
    need(shutil.which("dpkg") is not None, "dpkg (a Debian or Ubuntu system)")
