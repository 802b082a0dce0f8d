"""An ordered, cancellable queue of interview answers waiting for the model worker, one request at a time."""
from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, Signal

FIRST_REQUEST_ID = 1_000_000_000  # PracticeView counts up from 1; this range is the interview's alone


class GradingQueue(QObject):
    grade_requested = Signal(int, object, str, object)   # to ModelWorker.grade: request id, question, answer, cancel
    verdict = Signal(object, object)                     # key, Grade without explanation
    graded = Signal(object, object)                      # key, Grade
    failed = Signal(object, str)                         # key, message
    changed = Signal()

    def __init__(self):
        super().__init__()
        self._next_id = FIRST_REQUEST_ID
        self._waiting: deque[tuple[object, object, str]] = deque()
        self._running: tuple[int, object, threading.Event] | None = None

    @property
    def pending(self) -> int:
        return len(self._waiting) + (self._running is not None)

    def is_queued(self, key: object) -> bool:
        return any(k == key for k, _, _ in self._waiting) or (self._running is not None and self._running[1] == key)

    def add(self, key: object, question, answer: str) -> None:
        if not self.is_queued(key):
            self._waiting.append((key, question, answer))
            self._send_next()
            self.changed.emit()

    def cancel_all(self) -> None:
        self._waiting.clear()
        if self._running is not None:
            self._running[2].set()
            self._running = None
        self.changed.emit()

    def on_verdict(self, request_id: int, grade) -> None:
        if self._running is not None and request_id == self._running[0]:
            self.verdict.emit(self._running[1], grade)

    def on_finished(self, request_id: int, grade) -> None:
        key = self._take(request_id)
        if key is not None:
            self.graded.emit(key, grade)
            self._send_next()
            self.changed.emit()

    def on_failed(self, request_id: int, message: str) -> None:
        key = self._take(request_id)
        if key is not None:
            self.failed.emit(key, message)
            self._send_next()
            self.changed.emit()

    def _take(self, request_id: int) -> object | None:
        if self._running is None or request_id != self._running[0]:
            return None  # someone else's request, or one cancelled earlier
        key = self._running[1]
        self._running = None
        return key

    def _send_next(self) -> None:
        if self._running is not None or not self._waiting:
            return
        key, question, answer = self._waiting.popleft()
        self._next_id += 1
        cancel = threading.Event()
        self._running = (self._next_id, key, cancel)
        self.grade_requested.emit(self._next_id, question, answer, cancel)
