"""The dialog that asks for the join code from the clinic's message.

Not modal: while it is open the header's "Get help now" stays one click away (a modal dialog
would block the whole window). The code the person types is remembered on this computer for
the help button (app.emergency.join_code_memory), so it offers that code next time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

TITLE = "Join your session"
QUESTION = "Paste the join code from your clinic's message:"


class JoinCodeDialog(QInputDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setWindowTitle(TITLE)
        self.setLabelText(QUESTION)
        self.setTextEchoMode(QLineEdit.EchoMode.Normal)
        self.setAccessibleName(TITLE)

    def ask(self, remembered: str | None) -> None:
        """Show it, offering the remembered code (the person only has to press OK)."""
        self.setTextValue(remembered or "")
        self.show()
        self.raise_()
        self.activateWindow()
