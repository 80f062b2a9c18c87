"""Render the preflight page after a check at the scale in QT_SCALE_FACTOR; save a PNG.

Run in its own process (the scale is fixed when QApplication starts):
    QT_SCALE_FACTOR=2 python -m tests.gui.render_scaled OUT.png WIDTH HEIGHT
Prints one JSON line: the device pixel ratio, the picture's size, and any clipped widgets.
Exits 1 if anything is clipped or the check did not finish.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402

from app.ui.bridge import Bridge  # noqa: E402
from app.ui.main import make_application  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from tests.gui.fakes import FakeDevices, ScriptedCheck  # noqa: E402


def main(out: str, width: int, height: int) -> int:
    from app.profile import ClinicProfile, PhoneNumber

    app = make_application()
    bridge = Bridge()
    devices = FakeDevices()
    profile = ClinicProfile(
        clinic_name="Riverside Couples IOP",
        clinic_phone=PhoneNumber("Clinic front desk", "+1 555 0100"),
    )
    window = MainWindow(profile, bridge, devices, ScriptedCheck(devices))
    window.resize(width, height)
    window.show()
    outcome: dict[str, object] = {"finished": False}
    page = window.preflight

    def pickers_ready() -> bool:
        pickers = (page.camera_picker, page.mic_picker, page.speaker_picker)
        return not any(p.combo.currentText().startswith("Looking") for p in pickers)

    def start() -> None:
        if not pickers_ready():
            QTimer.singleShot(20, start)
            return
        page.start_check()

    def capture() -> None:
        from tests.gui.helpers import clipped_widgets

        image = window.grab()
        image.save(out)
        outcome.update(
            ratio=image.devicePixelRatio(),
            size=[image.width(), image.height()],
            clipped=clipped_widgets(window),
            help_visible=window.emergency_button.isVisible(),
        )
        app.quit()

    def finished(_: object) -> None:
        outcome["finished"] = True
        QTimer.singleShot(300, capture)  # let the preview paint a frame or two

    page.check_finished.connect(finished)
    QTimer.singleShot(0, start)
    QTimer.singleShot(15_000, app.quit)  # a stuck check ends the run instead of hanging
    app.exec()
    window.shutdown()
    bridge.close()
    print(json.dumps(outcome))
    return 0 if outcome["finished"] and not outcome.get("clipped", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
