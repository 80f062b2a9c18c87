"""Progress of a running check. The checks run side by side, so this shows how many are done
and, for the longest one, the internet speed test, what it is doing and the live Mbps figure."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.checks.wording import person_instruction
from app.progress import Progress
from app.ui.accessibility import announce
from app.ui.wording import CHECK_ORDER

BANDWIDTH = "bandwidth"


class CheckProgress(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self._fractions: dict[str, float] = {}
        self._started: set[str] = set()
        # What the person must do now ("Please say a few words"), first and largest: it is
        # what decides whether a check passes.
        self.instruction_label = QLabel()
        self.instruction_label.setObjectName("checkInstruction")
        self.instruction_label.setWordWrap(True)
        self.step_label = QLabel()
        self.step_label.setObjectName("sectionTitle")
        self.step_label.setWordWrap(True)
        self.speed_title = QLabel("Internet speed")
        self.speed_title.setObjectName("cardTitle")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.figure_label = QLabel()
        self.figure_label.setObjectName("liveFigure")
        self.figure_label.setAccessibleName("Measured speed")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Internet speed test progress")

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.speed_title)
        text.addWidget(self.message_label)
        row = QHBoxLayout()
        row.addLayout(text, 1)
        row.addWidget(self.figure_label)
        self._speed = QWidget()
        speed_layout = QVBoxLayout(self._speed)
        speed_layout.setContentsMargins(0, 0, 0, 0)
        speed_layout.setSpacing(6)
        speed_layout.addLayout(row)
        speed_layout.addWidget(self.bar)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 14)
        layout.setSpacing(10)
        layout.addWidget(self.instruction_label)
        layout.addWidget(self.step_label)
        layout.addWidget(self._speed)

    def reset(self, with_bandwidth: bool = True) -> None:
        self._fractions = {name: 0.0 for name in CHECK_ORDER if with_bandwidth or name != BANDWIDTH}
        self._speed.setVisible(with_bandwidth)
        self.message_label.setText("Waiting to start…")
        self.figure_label.setText("")
        self.bar.setValue(0)
        self._started = set()
        self.instruction_label.setText(person_instruction(frozenset()))
        self.instruction_label.show()
        self._show_count()

    @property
    def instruction(self) -> str:
        return self.instruction_label.text()

    def show_progress(self, progress: Progress) -> None:
        if progress.check in self._fractions:
            fraction = min(1.0, max(0.0, progress.fraction))
            self._fractions[progress.check] = max(self._fractions[progress.check], fraction)
            self._started.add(progress.check)
            self._show_count()
            running = {n for n in self._started if self._fractions[n] < 1.0}
            words = person_instruction(running)
            if words != self.instruction_label.text():
                self.instruction_label.setText(words)
                announce(self, words)
        if progress.check == BANDWIDTH:
            self.message_label.setText(progress.message)
            if progress.figure:
                self.figure_label.setText(progress.figure)
            self.bar.setValue(round(1000 * min(1.0, max(0.0, progress.fraction))))
            self.bar.setAccessibleDescription(f"{progress.message} {progress.figure}".strip())

    def _show_count(self) -> None:
        done = sum(1 for f in self._fractions.values() if f >= 1.0)
        self.step_label.setText(f"Checking your equipment… {done} of {len(self._fractions)} done")

    def show_message(self, title: str, message: str = "") -> None:
        self.instruction_label.hide()
        self.step_label.setText(title)
        self.message_label.setText(message)
