"""installer/deb.py with the real dpkg-deb on a small stand-in bundle: the layout, the control
fields and the ownership a couple's dpkg will see (the real bundle's .deb: tests/bundle)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from installer.deb import LAUNCHER, build_deb, depends
from tests.lab.requirements import need


def dpkg_deb(*args: str) -> str:
    done = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def stand_in_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "dist" / "tandem"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    launcher = bundle / "tandem"
    launcher.write_text("#!/bin/sh\necho tandem 9.9\n", encoding="utf-8")
    launcher.chmod(0o755)
    (bundle / "_internal" / "resources" / "style.qss").write_text("QWidget {}\n")
    (bundle / "_internal" / "libfoo.so.1").write_bytes(b"\x7fELF")
    (bundle / "_internal" / "libfoo.so").symlink_to("libfoo.so.1")
    return bundle


def test_the_package_puts_the_bundle_under_opt_with_a_launcher_menu_entry_and_icons(
    stand_in_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need(shutil.which("dpkg-deb") is not None, "dpkg-deb (a Debian or Ubuntu system)")
    monkeypatch.setenv("TANDEM_DEB_MAINTAINER", "Riverside IT <it@riverside.example>")
    icon = tmp_path / "tandem.png"
    icon.write_bytes(b"\x89PNG")
    out = stand_in_bundle.parent
    deb = build_deb(stand_in_bundle, out, "9.9", icon_png=icon, compression="zstd")
    assert deb.parent == stand_in_bundle.parent and deb.name.startswith("tandem_9.9_")

    fields = dpkg_deb("--field", str(deb), "Package", "Version", "Maintainer", "Depends")
    assert "Package: tandem\nVersion: 9.9\n" in fields
    assert "Maintainer: Riverside IT <it@riverside.example>\n" in fields
    assert f"Depends: {depends()}\n" in fields

    listing = {}
    for line in dpkg_deb("--contents", str(deb)).splitlines():
        mode, owner, *_, path = line.split(None, 5)
        listing[path.split(" -> ")[0]] = (mode, owner)
    assert listing["./opt/tandem/tandem"] == ("-rwxr-xr-x", "root/root")
    assert listing["./opt/tandem/_internal/resources/style.qss"] == ("-rw-r--r--", "root/root")
    assert listing["./opt/tandem/_internal/libfoo.so"][0].startswith("l")
    assert listing["./usr/bin/tandem"] == ("-rwxr-xr-x", "root/root")
    for path in (
        "./usr/share/applications/tandem.desktop",
        "./usr/share/icons/hicolor/scalable/apps/tandem.svg",
        "./usr/share/icons/hicolor/256x256/apps/tandem.png",
    ):
        assert listing[path] == ("-rw-r--r--", "root/root")
    assert all(owner == "root/root" for _, owner in listing.values())

    extracted = tmp_path / "extracted"
    dpkg_deb("--extract", str(deb), str(extracted))
    assert (extracted / "usr/bin/tandem").read_text() == LAUNCHER
    launcher_md5 = hashlib.md5((stand_in_bundle / "tandem").read_bytes()).hexdigest()
    assert f"{launcher_md5}  opt/tandem/tandem\n" in dpkg_deb("--info", str(deb), "md5sums")


def test_a_folder_without_the_launcher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="launcher"):
        build_deb(tmp_path, tmp_path, "1.0")
