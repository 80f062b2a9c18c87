"""The Debian package: the frozen bundle under /opt/tandem, `tandem` on the PATH, a menu entry.

Built from a finished bundle with nothing but `dpkg-deb` (no network, no root: the files are
owned by root inside the package). No maintainer scripts: dpkg's own triggers refresh the menu
and icon caches, and the app never writes into /opt/tandem, so removing the package removes
every file it installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from installer.bundle_rules import system_packages

PACKAGE = "tandem"
INSTALL_DIR = "/opt/tandem"
MAINTAINER_ENV = "TANDEM_DEB_MAINTAINER"
DEFAULT_MAINTAINER = "Tandem maintainers <tandem@example.org>"
INSTALLER_DIR = Path(__file__).resolve().parent
# xz makes the smallest download but takes ~7 minutes for ~450 MB on two cores; zstd at level 3
# takes seconds for a third more bytes (benchmarks/README.md), which suits CI. The dpkg of every
# system this bundle can run on (glibc 2.36: Debian 12, Ubuntu 23.04 and later) reads both.
COMPRESSIONS = {"xz": ("xz", 6), "zstd": ("zstd", 3)}
ICON_SVG = INSTALLER_DIR.parent / "resources" / "icons" / "tandem.svg"

LAUNCHER = f"""#!/bin/sh
# Tandem's command on the PATH; the app and everything it needs are in {INSTALL_DIR}.
exec {INSTALL_DIR}/tandem "$@"
"""

DESCRIPTION = """\
Couples' telehealth: equipment check, video sessions, help now
 Tandem is the desktop app for couples in a virtual intensive outpatient
 program: it checks the camera, microphone, speaker and internet before a
 session, opens the couple's video room with their therapist, and keeps the
 crisis line one click away. The same program runs the clinic's session server
 (tandem server) and the equipment check on the command line (tandem check).
 .
 This package carries its own Python and libraries in /opt/tandem."""


def glibc_version() -> str:
    """The C library this bundle was built against (its binaries need at least that)."""
    name_version = os.confstr("CS_GNU_LIBC_VERSION") or "glibc 2.31"
    return name_version.split()[-1]


def architecture() -> str:
    done = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def depends() -> str:
    """The Depends field: the system libraries the bundle leaves to the system."""
    packages = [f"libc6 (>= {glibc_version()})"]
    packages += [name for name in system_packages() if name != "libc6"]
    return ", ".join(packages)


def control(version: str, arch: str, installed_kb: int) -> str:
    maintainer = os.environ.get(MAINTAINER_ENV, DEFAULT_MAINTAINER)
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {maintainer}\n"
        f"Installed-Size: {installed_kb}\n"
        f"Depends: {depends()}\n"
        "Section: video\n"
        "Priority: optional\n"
        f"Description: {DESCRIPTION}\n"
    )


def _tree_kb(root: Path) -> int:
    total = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    return max(1, total // 1024)


def _md5sums(root: Path) -> str:
    lines = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and "DEBIAN" not in path.parts:
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root).as_posix()}\n")
    return "".join(lines)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def stage(bundle: Path, root: Path, icon_png: Path | None) -> None:
    """Lay out the package's files under `root` (the bundle is hard-linked, not copied)."""
    shutil.copytree(bundle, root / INSTALL_DIR.lstrip("/"), symlinks=True, copy_function=os.link)
    _write(root / "usr/bin/tandem", LAUNCHER, 0o755)
    desktop = (INSTALLER_DIR / "linux" / "tandem.desktop").read_text(encoding="utf-8")
    _write(root / "usr/share/applications/tandem.desktop", desktop)
    icons = root / "usr/share/icons/hicolor"
    (icons / "scalable/apps").mkdir(parents=True)
    shutil.copyfile(ICON_SVG, icons / "scalable/apps/tandem.svg")
    if icon_png is not None:
        (icons / "256x256/apps").mkdir(parents=True)
        shutil.copyfile(icon_png, icons / "256x256/apps/tandem.png")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o755)


def build_deb(
    bundle: Path,
    out_dir: Path,
    version: str,
    *,
    icon_png: Path | None = None,
    compression: str = "xz",
) -> Path:
    """Package the one-folder `bundle` (with its `tandem` launcher); returns the .deb's path.
    `compression`: a key of COMPRESSIONS."""
    kind, level = COMPRESSIONS[compression]
    if not (bundle / "tandem").is_file():
        raise FileNotFoundError(f"no bundle at {bundle} (its launcher 'tandem' is missing)")
    arch = architecture()
    out = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="tandem-deb-", dir=out_dir) as temp:
        root = Path(temp) / "root"
        stage(bundle, root, icon_png)
        debian = root / "DEBIAN"
        _write(debian / "md5sums", _md5sums(root))
        _write(debian / "control", control(version, arch, _tree_kb(root)))
        subprocess.run(
            [
                "dpkg-deb",
                "--root-owner-group",
                f"-Z{kind}",
                f"-z{level}",
                "--build",
                str(root),
                str(out),
            ],  # fmt: skip
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=1800,
        )
    return out
