"""Readable at 200 %: the page renders at QT_SCALE_FACTOR=2 without clipped text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [
        # A 1920x1080 screen at 200 %: two columns.
        ("preflight-200pct.png", 960, 1300),
        # A 1366x768 laptop at 200 %: the page stacks into one column and scrolls.
        ("preflight-200pct-narrow.png", 683, 2000),
    ],
)
def test_page_renders_at_200_percent_without_clipping(
    artifacts_dir: Path, name: str, width: int, height: int
) -> None:
    out = artifacts_dir / name
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gui.render_scaled", str(out), str(width), str(height)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr
    outcome = json.loads(lines[-1])
    assert outcome["finished"], proc.stderr
    assert outcome["ratio"] == 2.0
    assert outcome["size"] == [2 * width, 2 * height]
    assert outcome["clipped"] == []
    assert outcome["help_visible"]
    assert proc.returncode == 0, proc.stderr
    warnings = [
        line
        for line in proc.stderr.splitlines()
        if line.strip() and "propagateSizeHints" not in line and "raise()" not in line
    ]
    assert warnings == []
