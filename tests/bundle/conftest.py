"""The frozen app as a couple installs it: fixtures that find the bundle and run its launcher.

The bundle is the folder `./dev.sh bundle` fills (installer/dist: `tandem/` and the .deb), or the
one named by TANDEM_BUNDLE (scripts/run-tests.sh points it at its build cache). Without one these
tests skip, and fail under TANDEM_REQUIRE_LAB=1 (CI), where run-tests.sh has just built it.
"""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bundle.frozen import BUNDLE_ENV, bundle_folder
from tests.lab.requirements import need, need_program

XVFB_START_S = 15.0


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The one-folder bundle: `bundle / "tandem"` is its launcher."""
    folder = bundle_folder() / "tandem"
    need(
        (folder / "tandem").is_file(),
        f"the frozen app at {folder}/tandem (build it: ./dev.sh bundle, or set {BUNDLE_ENV})",
    )
    return folder


@pytest.fixture(scope="session")
def deb_file() -> Path:
    found = sorted(bundle_folder().glob("tandem_*.deb"))
    need(bool(found), f"the .deb beside the bundle in {bundle_folder()} (./dev.sh bundle)")
    return found[-1]


@pytest.fixture
def xvfb_display(tmp_path: Path) -> Iterator[str]:
    """A private X server (Xvfb) for the window; its display name, e.g. ":7"."""
    need_program("Xvfb")
    log_path = tmp_path / "xvfb.log"
    read_end, write_end = os.pipe()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24",
             "-nolisten", "tcp"],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
    os.close(write_end)
    try:
        # Xvfb writes its display number once it accepts clients: wait on that, with a bound.
        ready, _, _ = select.select([read_end], [], [], XVFB_START_S)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if not number:
            pytest.fail(f"Xvfb did not start within {XVFB_START_S} s: {log_path.read_text()}")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
