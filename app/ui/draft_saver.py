"""Saves a draft 300 ms after typing pauses, at least every 1.5 s while it goes on, and at once after a paste. A save
that fails (disk full, database locked) keeps the text in the box, says so, and is tried again at the next change or
pause."""
from __future__ import annotations

import sqlite3
import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

PAUSE_MS = 300
LONGEST_S = 1.5  # under steady typing: so a kill loses at most about this much (the budget is 2 s)
READ_AHEAD_MS = 800  # a pause this long has the model read the draft (dispatcher.read_ahead)


class DraftSaver(QObject):
    def __init__(self, parent: QObject, save: Callable[[], bool | None], label: QLabel):
        super().__init__(parent)
        self.save, self.label = save, label
        self.unsaved_since: float | None = None
        self.timer = QTimer(self, singleShot=True, interval=PAUSE_MS)
        self.timer.timeout.connect(self.flush)

    def changed(self) -> None:
        now = time.monotonic()
        if self.unsaved_since is None:
            self.unsaved_since = now
            self.label.setText("Saving draft...")
        if now - self.unsaved_since >= LONGEST_S:
            self.flush()  # steady typing never pauses for 300 ms: save anyway
        else:
            self.timer.start()

    def pasted(self) -> None:
        """A paste arrives whole: no more typing to wait for, and it is the most text one action can lose. Saving it
        now also has the model read it now (a saved draft is fed), while the learner moves to Submit."""
        if self.unsaved_since is not None:
            self.flush()

    def flush(self) -> bool:
        """Save now; False (and a message) when storage refused."""
        self.timer.stop()
        try:
            if self.save() is False:
                return True  # nothing to save into (no question shown)
        except sqlite3.Error as exc:
            self.unsaved_since = time.monotonic()
            self.label.setText(f"Draft NOT saved ({exc}). Your text is kept here; saving again when you pause.")
            self.timer.start(LONGEST_S * 1000)
            return False
        if self.unsaved_since is not None:
            self.label.setText("Draft saved")
        self.unsaved_since = None
        return True

    def forget(self) -> None:
        """The text on screen was just loaded or submitted: nothing is waiting to be saved."""
        self.timer.stop()
        if self.unsaved_since is not None:
            self.label.setText("")  # not "Saving draft..." forever
        self.unsaved_since = None
