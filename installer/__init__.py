"""Packaging of the desktop app: the PyInstaller spec, its rules and hooks, the .deb (README.md)."""
