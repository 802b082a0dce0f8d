"""Every write a session makes after the learner's own submit goes through here, in order. One that storage refuses
(disk full, a locked or read-only database) waits in memory, with every write after it, and is tried again; the
learner is told what is not saved yet. Nothing is dropped and the app never stops over it."""
from __future__ import annotations

import sqlite3
from collections import deque
from typing import Callable


class Writes:
    def __init__(self, on_problem: Callable[[str], None] | None = None):
        self.on_problem = on_problem or (lambda message: None)
        self._waiting: deque[tuple[str, Callable[[], object]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def run(self, what: str, write: Callable[[], object]) -> bool:
        """Write now, after whatever still waits; False when it had to wait (the learner has been told)."""
        self._waiting.append((what, write))
        return self.retry()

    def retry(self) -> bool:
        """Try the waiting writes in order; True when none is left."""
        while self._waiting:
            what, write = self._waiting[0]
            try:
                write()
            except sqlite3.Error as exc:
                self.on_problem(f"Not saved yet: {what} ({exc}). It is kept in memory and saved as soon as storage "
                                f"allows; {len(self._waiting)} change(s) waiting.")
                return False
            self._waiting.popleft()
        return True
