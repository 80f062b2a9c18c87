"""What the frozen app leaves out, and why: the rules the PyInstaller spec and its Qt hook apply.

Everything under `app` goes in (the spec collects it whole, so a new command can never be
forgotten); what is trimmed here is what Tandem never uses from its large dependencies. Each
rule is by the file's place in the bundle, so the same rules hold on Linux, Windows and macOS.
A file no rule names is kept: a new Qt plugin type is carried until someone decides otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

# Python packages no part of Tandem imports, which optional imports in its dependencies would
# otherwise pull in, each with its Qt libraries and plugins (QML and Qt Quick are the largest).
EXCLUDED_MODULES = (
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "pytest",
    "setuptools",
    "pip",
    "PySide6.QtNetwork",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPrintSupport",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtUiTools",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtXml",
    "PySide6.QtConcurrent",
)

# Per Qt plugin type: the plugins Tandem needs (by name without "lib" and extension), or
# None for "all of them". A type listed with an empty set is left out entirely.
QT_PLUGINS: dict[str, frozenset[str] | None] = {
    # The window on X11 (xcb), Wayland, Windows and macOS; offscreen for headless runs.
    "platforms": frozenset(
        {
            "qxcb",
            "qwayland",
            "qwayland-egl",
            "qwayland-generic",
            "qwindows",
            "qdirect2d",
            "qcocoa",
            "qoffscreen",
            "qminimal",
        }
    ),
    # Embedded-device platforms (eglfs, linuxfb) and their input drivers: not a desktop.
    "egldeviceintegrations": frozenset(),
    "generic": frozenset(),
    # The desktop portal gives the native "Save report…" dialog on GNOME and KDE without GTK;
    # the GTK 3 theme would pull GTK and everything it links into the bundle.
    "platformthemes": frozenset({"qxdgdesktopportal"}),
    # Compose key and IBus, so people can type accents; the virtual keyboard needs Qt Quick.
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),
    # The icons are SVG; .ico is the Windows window icon. Camera frames never go through a
    # plugin (they are QImages made from arrays).
    "imageformats": frozenset({"qsvg", "qico"}),
    "iconengines": None,
    "xcbglintegrations": None,
    "styles": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "wayland-shell-integration": None,
    # A compositor's side of Wayland, and Qt's own networking: Tandem is neither.
    "wayland-graphics-integration-server": frozenset(),
    "networkinformation": frozenset(),
    "tls": frozenset(),
}

# Linux system libraries the bundle takes from the system instead of carrying, each with the
# Debian package that has it (the .deb depends on these: installer/deb.py). They have to match
# the rest of the system: ALSA's library its ALSA plugins (PortAudio reaches PulseAudio and
# PipeWire through them); the X11, xkb, fontconfig, D-Bus and GLib libraries their servers and
# config files; libstdc++ and libgcc the graphics drivers loaded later (an older copy in the
# bundle breaks a newer Mesa); libmvec is part of glibc. What they pull in goes with them.
SYSTEM_LIBRARIES: dict[str, str] = {
    "libasound.so.2": "libasound2",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libmvec.so.1": "libc6",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libexpat.so.1": "libexpat1",
    "libpng16.so.16": "libpng16-16",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbz2.so.1.0": "libbz2-1.0",
    "libz.so.1": "zlib1g",
    "libdbus-1.so.3": "libdbus-1-3",
    "libsystemd.so.0": "libsystemd0",
    "libgcrypt.so.20": "libgcrypt20",
    "libgpg-error.so.0": "libgpg-error0",
    "liblz4.so.1": "liblz4-1",
    "liblzma.so.5": "liblzma5",
    "libzstd.so.1": "libzstd1",
    "libcap.so.2": "libcap2",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpcre2-8.so.0": "libpcre2-8-0",
}

# What PyInstaller itself never bundles but the bundle needs (the graphics stack: OpenGL, EGL
# and the Wayland client libraries Qt links), as Debian packages.
GRAPHICS_PACKAGES = (
    "libegl1",
    "libgl1",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
)


def system_packages() -> list[str]:
    """The Debian packages the bundle's leftover libraries come from (no version), sorted."""
    return sorted({*SYSTEM_LIBRARIES.values(), *GRAPHICS_PACKAGES})


_PLUGIN_FILE = re.compile(r"^(?:lib)?(?P<name>.+?)(?:\.so|\.dll|\.dylib)$")


def plugin_name(filename: str) -> str:
    """`libqxcb.so` → `qxcb`, `qwindows.dll` → `qwindows`, `libqcocoa.dylib` → `qcocoa`."""
    match = _PLUGIN_FILE.match(filename)
    return match.group("name") if match else filename


def _posix(path: str) -> PurePosixPath:
    """A bundle path with either separator (PyInstaller uses the platform's own)."""
    return PurePosixPath(path.replace("\\", "/"))


def qt_plugin_wanted(dest: str) -> bool:
    """Whether a file collected into `.../plugins/<type>/<file>` is a plugin Tandem needs."""
    parts = _posix(dest).parts
    if "plugins" not in parts:
        return True
    at = len(parts) - 1 - parts[::-1].index("plugins")
    if len(parts) - at < 3:  # not plugins/<type>/<file>
        return True
    kind, filename = parts[at + 1], parts[-1]
    wanted = QT_PLUGINS.get(kind)
    return wanted is None or plugin_name(filename) in wanted


def wanted(dest: str) -> bool:
    """Whether a file may go into the bundle at `dest` (its path inside the bundle)."""
    path = _posix(dest)
    if "PySide6" in path.parts and "translations" in path.parts:
        return False  # Qt's own translations: Tandem's words are English only, for now
    if len(path.parts) == 1 and path.name in SYSTEM_LIBRARIES:
        return False  # only at the top: a wheel's own renamed copy (av.libs/...) stays
    return qt_plugin_wanted(dest)


def keep_toc(toc: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The entries of a PyInstaller TOC (dest name, source, kind) that `wanted` keeps."""
    return [entry for entry in toc if wanted(entry[0])]


def keep_hook_files(files: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (source file, destination folder) pairs of a hook that `wanted` keeps."""
    return [
        (source, folder) for source, folder in files if wanted(f"{folder}/{_posix(source).name}")
    ]
