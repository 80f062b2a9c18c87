"""Optional words a couple puts on the report they send to the clinic: who it is for, and a note.

The report names nobody by itself; these fields are the only way a name gets into it."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLineEdit, QWidget

from app.checks.report import MAX_TYPED_CHARS


class ReportDetails(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_edit = _field(
            "For example your first names or initials",
            "Names on the report (optional)",
        )
        self.note_edit = _field(
            "For example: we share one laptop",
            "Note for your clinic (optional)",
        )
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Names on the report (optional):", self.label_edit)
        form.addRow("N&ote for your clinic (optional):", self.note_edit)

    @property
    def label(self) -> str:
        return self.label_edit.text().strip()

    @property
    def note(self) -> str:
        return self.note_edit.text().strip()


def _field(placeholder: str, accessible_name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setMaxLength(MAX_TYPED_CHARS)
    edit.setPlaceholderText(placeholder)
    edit.setAccessibleName(accessible_name)
    return edit
