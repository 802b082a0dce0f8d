"""Runs callables on the GUI thread: how results from the grading thread reach the sessions and views."""
from __future__ import annotations

import traceback
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal


class GuiDelivery(QObject):
    posted = Signal(object)

    def __init__(self):
        super().__init__()
        self.posted.connect(self._run, Qt.QueuedConnection)

    def __call__(self, job: Callable[[], None]) -> None:
        self.posted.emit(job)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - one failed delivery must not stop the ones after it
            traceback.print_exc()
