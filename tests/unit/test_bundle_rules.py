"""What the frozen app leaves out (installer/bundle_rules.py): by the file's place in the bundle,
the same on every platform; anything no rule names stays in."""

from __future__ import annotations

import pytest

from installer.bundle_rules import (
    GRAPHICS_PACKAGES,
    SYSTEM_LIBRARIES,
    keep_hook_files,
    keep_toc,
    plugin_name,
    system_packages,
    wanted,
)

PLUGINS = "PySide6/Qt/plugins"


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("libqxcb.so", "qxcb"),
        ("qwindows.dll", "qwindows"),
        ("libqcocoa.dylib", "qcocoa"),
        ("libqt-plugin-wayland-egl.so", "qt-plugin-wayland-egl"),
        ("README", "README"),
    ],
)
def test_plugin_names_drop_the_prefix_and_the_platform_suffix(filename: str, name: str) -> None:
    assert plugin_name(filename) == name


@pytest.mark.parametrize(
    "dest",
    [
        f"{PLUGINS}/platforms/libqxcb.so",
        f"{PLUGINS}/platforms/libqwayland.so",
        f"{PLUGINS}/platforms/libqoffscreen.so",
        "PySide6\\Qt\\plugins\\platforms\\qwindows.dll",
        f"{PLUGINS}/platforms/libqcocoa.dylib",
        f"{PLUGINS}/iconengines/libqsvgicon.so",
        f"{PLUGINS}/imageformats/libqsvg.so",
        f"{PLUGINS}/platformthemes/libqxdgdesktopportal.so",
        f"{PLUGINS}/platforminputcontexts/libibusplatforminputcontextplugin.so",
        f"{PLUGINS}/wayland-shell-integration/libxdg-shell.so",
        f"{PLUGINS}/a-type-qt-adds-later/libqnew.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "cv2/cv2.abi3.so",
        "av.libs/libxcb-5ddf6756.so.1.1.0",  # a wheel's own copy, renamed: not the system's
        "libportaudio.so.2",
        "libpython3.11.so.1.0",
        "resources/style.qss",
        "app/server/console/index.html",
    ],
)
def test_what_the_app_uses_stays(dest: str) -> None:
    assert wanted(dest)


@pytest.mark.parametrize(
    "dest",
    [
        f"{PLUGINS}/platforms/libqeglfs.so",
        f"{PLUGINS}/platforms/libqvnc.so",
        f"{PLUGINS}/platforms/libqlinuxfb.so",
        f"{PLUGINS}/egldeviceintegrations/libqeglfs-kms-integration.so",
        f"{PLUGINS}/generic/libqevdevmouseplugin.so",
        f"{PLUGINS}/platformthemes/libqgtk3.so",
        f"{PLUGINS}/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        f"{PLUGINS}/imageformats/libqtiff.so",
        f"{PLUGINS}/tls/libqopensslbackend.so",
        "PySide6/Qt/translations/qtbase_de.qm",
        "libasound.so.2",
        "libstdc++.so.6",
        "libxcb-cursor.so.0",
        "libfontconfig.so.1",
    ],
)
def test_what_the_app_never_uses_or_must_take_from_the_system_goes(dest: str) -> None:
    assert not wanted(dest)


def test_tocs_and_hook_lists_are_filtered_by_their_place_in_the_bundle() -> None:
    toc = [
        ("libqxcb.so", "/x/libqxcb.so", "BINARY"),
        (f"{PLUGINS}/platforms/libqxcb.so", "/x/libqxcb.so", "BINARY"),
        (f"{PLUGINS}/platforms/libqvnc.so", "/x/libqvnc.so", "BINARY"),
    ]
    assert keep_toc(toc) == [toc[0], toc[1]]
    hook = [
        ("/site/PySide6/Qt/plugins/platforms/libqxcb.so", f"{PLUGINS}/platforms"),
        ("/site/PySide6/Qt/plugins/platformthemes/libqgtk3.so", f"{PLUGINS}/platformthemes"),
        ("C:\\site\\PySide6\\plugins\\platforms\\qwindows.dll", "PySide6\\plugins\\platforms"),
    ]
    assert keep_hook_files(hook) == [hook[0], hook[2]]


def test_every_library_left_to_the_system_names_the_package_that_has_it() -> None:
    packages = system_packages()
    assert packages == sorted(set(packages))
    assert set(SYSTEM_LIBRARIES.values()) | set(GRAPHICS_PACKAGES) == set(packages)
    assert all(name.startswith("lib") and ".so" in name for name in SYSTEM_LIBRARIES)
