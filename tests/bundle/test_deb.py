"""The .deb: what it says about itself, and a real install and purge with dpkg into a private
root folder (the machine's own packages are never touched)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app import __version__
from installer.bundle_rules import system_packages
from tests.bundle.frozen import need_dpkg, run_frozen

pytestmark = [pytest.mark.bundle, pytest.mark.slow]

DPKG_TIMEOUT_S = 300


def dpkg_deb(*args: str) -> str:
    done = subprocess.run(
        ["dpkg-deb", *args], capture_output=True, text=True, timeout=DPKG_TIMEOUT_S, check=True
    )
    return done.stdout


def test_the_deb_names_its_version_and_the_system_libraries_it_needs(deb_file: Path) -> None:
    need_dpkg()
    fields = dict(
        line.split(": ", 1)
        for line in dpkg_deb("--field", str(deb_file), "Package", "Version", "Depends").splitlines()
    )
    assert (fields["Package"], fields["Version"]) == ("tandem", __version__)
    depends = [item.split()[0] for item in fields["Depends"].split(", ")]
    assert depends[0] == "libc6"
    assert set(system_packages()) <= set(depends)
    for needed in ("libasound2", "libxcb-cursor0", "libegl1", "libwayland-client0"):
        assert needed in depends


def test_the_deb_installs_under_opt_with_a_launcher_and_menu_entry_and_purges_clean(
    deb_file: Path, tmp_path: Path
) -> None:
    need_dpkg()
    root = tmp_path / "root"
    admin = root / "var/lib/dpkg"
    for folder in (admin / "info", admin / "updates"):
        folder.mkdir(parents=True)
    for name in ("status", "available"):
        (admin / name).touch()

    def dpkg(*args: str) -> None:
        command = [
            "dpkg", f"--root={root}", "--force-not-root", "--force-unsafe-io",
            f"--log={tmp_path / 'dpkg.log'}", *args,
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"}
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=DPKG_TIMEOUT_S, env=env, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]

    # --force-depends: the private root has none of the system's packages.
    dpkg("--force-depends", "--install", str(deb_file))
    installed = root / "opt/tandem"
    assert run_frozen(installed, ["--version"]).stdout.strip() == f"tandem {__version__}"
    launcher = (root / "usr/bin/tandem").read_text(encoding="utf-8")
    assert 'exec /opt/tandem/tandem "$@"' in launcher
    assert os.access(root / "usr/bin/tandem", os.X_OK)
    desktop = (root / "usr/share/applications/tandem.desktop").read_text(encoding="utf-8")
    assert "Exec=/opt/tandem/tandem\n" in desktop and "Icon=tandem\n" in desktop
    assert (root / "usr/share/icons/hicolor/scalable/apps/tandem.svg").is_file()
    assert (root / "usr/share/icons/hicolor/256x256/apps/tandem.png").is_file()

    dpkg("--purge", "tandem")
    left = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if not path.is_dir() and not path.is_relative_to(admin)
    ]
    assert left == []
    assert [path.name for path in root.iterdir()] == ["var"]  # /opt/tandem and /usr/... gone
