"""Render Tandem's icon (resources/icons/tandem.svg) as a PNG for the places that want pixels.

The .deb's 256x256 hicolor icon, and PyInstaller's Windows and macOS icons (it turns a PNG into
.ico or .icns with Pillow). Rendering at build time keeps the SVG the one source of the icon.
    python -m installer.app_icon OUT.png [SIZE]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "tandem.svg"


def render_png(out: Path, size: int = 256, svg: Path = SVG) -> Path:
    """Write `svg` as a `size`x`size` PNG with a transparent background; returns `out`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a build machine has no display
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out)):  # PNG, from the suffix
        raise OSError(f"could not write {out}")
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: python -m installer.app_icon OUT.png [SIZE]", file=sys.stderr)
        raise SystemExit(2)
    render_png(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 256)
