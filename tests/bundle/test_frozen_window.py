"""The frozen window on a real X server (Xvfb, Qt's xcb platform, not offscreen).

With TANDEM_SMOKE=paint (app/smoke.py) the app prints a line on stdout once the equipment-check
page has been painted and then closes its window the normal way. It runs in practice mode (no clinic
profile), so it also starts its own session server and stops it on the way out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.smoke import PAINTED_LINE
from tests.bundle.frozen import frozen_env, run_frozen

pytestmark = [pytest.mark.bundle, pytest.mark.slow]


def test_the_window_reaches_the_equipment_check_on_x11_and_closes_cleanly(
    bundle: Path, xvfb_display: str, tmp_path: Path
) -> None:
    env = frozen_env(
        DISPLAY=xvfb_display,
        QT_QPA_PLATFORM="xcb",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        TANDEM_SMOKE="paint",
    )
    env.pop("WAYLAND_DISPLAY", None)
    done = run_frozen(bundle, [], env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert PAINTED_LINE in done.stdout.splitlines(), done.stderr[-3000:]
    # Nothing went wrong on the way: no warning from the app (a stylesheet or icon the bundle
    # lacks is one) and no Qt platform-plugin trouble.
    assert not re.search(r" (WARNING|ERROR|CRITICAL) app\.", done.stderr), done.stderr
    assert "qt.qpa" not in done.stderr, done.stderr
