"""PyInstaller's own QtGui hook, less the Qt plugins Tandem never uses (installer/bundle_rules.py).

Trimming here, before PyInstaller follows each plugin's shared-library dependencies, also keeps
out what only those plugins need (GTK for the GTK theme, Qt Quick for the virtual keyboard).
This hook replaces the built-in one because the spec puts installer/hooks on `hookspath`.
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

from installer.bundle_rules import keep_hook_files

hiddenimports, _binaries, datas = add_qt6_dependencies(__file__)
binaries = keep_hook_files(_binaries)
