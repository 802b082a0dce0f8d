"""A vertical splitter between what the learner writes (above) and the grade (below) that gives the room to whichever
is in use: the answer box while the learner writes, the grade once an answer is submitted. A drag of the handle
sets the share for the phase it is made in, and both shares are what saveState keeps between runs."""
from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QSplitter

WRITING, READING = "writing", "reading"
# The share of the height above the handle. Writing: at 1024x640 the answer box shows about four lines with an even
# split under a long scenario, and answers run to 300 words. Reading: the grade needs most of the room, and the
# answer stays in view above it.
DEFAULT_SHARES = {WRITING: 0.72, READING: 0.38}


class PhaseSplitter(QSplitter):

    def __init__(self):
        super().__init__(Qt.Vertical)
        self.setChildrenCollapsible(False)  # a drag must not hide the answer box, or the grade, entirely
        self.shares = dict(DEFAULT_SHARES)
        self.phase = WRITING
        self.splitterMoved.connect(self._dragged)  # emitted for the learner's drags, not for setSizes

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        share = self.shares[phase]
        self.setSizes([round(1000 * share), round(1000 * (1 - share))])  # proportions: Qt scales them to the height

    def _dragged(self, _position: int, _index: int) -> None:
        top, bottom = self.sizes()
        if top + bottom > 0:
            self.shares[self.phase] = round(top / (top + bottom), 3)

    def saveState(self) -> QByteArray:  # noqa: N802 - Qt's name
        return QByteArray(json.dumps({"shares": self.shares}).encode())

    def restoreState(self, state: QByteArray) -> bool:  # noqa: N802 - Qt's name
        """The shares saved by saveState; anything else (a state from before the phases) leaves the defaults."""
        try:
            shares = json.loads(bytes(state).decode())["shares"]
            found = {phase: min(0.95, max(0.05, float(shares[phase]))) for phase in DEFAULT_SHARES}
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return False
        self.shares = found
        self.set_phase(self.phase)
        return True
