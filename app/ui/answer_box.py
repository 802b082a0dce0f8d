"""The answer box: a plain-text edit that says when text arrives whole (a paste, or a drop)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPlainTextEdit


class AnswerBox(QPlainTextEdit):
    """`pasted` fires after a paste or a drop has changed the text: nothing more is coming to wait for, so the
    draft saver stores it (and the model reads it) at once instead of after the typing pause."""
    pasted = Signal()

    def insertFromMimeData(self, source) -> None:
        super().insertFromMimeData(source)
        self.pasted.emit()
