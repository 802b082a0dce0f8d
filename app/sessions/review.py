"""A review session: today's due queue gone through in order, where it stands, and its summary at the end."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from app.core.model import Question
from app.core.review import effective_verdict
from app.progress import due_today, end_of_today
from app.storage import history


@dataclass
class ReviewSummary:
    answered: int
    correct: int
    partial: int
    incorrect: int
    next_day: date | None   # the first day a question is due from now on (today when some are left)
    next_count: int         # how many are due that day

    def next_due_text(self, today: date) -> str:
        if self.next_day is None:
            return "No question is scheduled yet."
        day = {today: "today", today + timedelta(days=1): "tomorrow"}.get(self.next_day,
                                                                          self.next_day.strftime("%a %d %b"))
        return f"Next due {day}, {self.next_count} question{'' if self.next_count == 1 else 's'}."


class ReviewSession:
    """The queue is fixed when the session starts; the question on screen moves on once its rating is confirmed."""

    def __init__(self, db, questions: dict[str, Question], clock: Callable[[], float] = time.time):
        self.db, self.questions, self.clock = db, questions, clock
        self.queue: list[Question] = []
        self.index = 0
        self.attempts: dict[str, int] = {}  # question id -> its latest graded attempt in this session
        self.active = False

    def start(self) -> Question | None:
        """Take today's due questions, most overdue first; returns the first (None: nothing is due)."""
        self.queue, self.index, self.attempts = due_today(self.db, self.questions, self.clock()), 0, {}
        self.active = bool(self.queue)
        return self.current

    @property
    def current(self) -> Question | None:
        return self.queue[self.index] if self.active else None

    @property
    def progress_text(self) -> str:
        return f"Review {self.index + 1} of {len(self.queue)}" if self.active else ""

    def graded(self, question_id: str, attempt_id: int) -> None:
        """A graded answer (its review logged with the proposed rating) to the question on screen."""
        if self.current is not None and question_id == self.current.id:
            self.attempts[question_id] = attempt_id

    def rated(self, question_id: str) -> Question | None:
        """The learner confirmed the rating of a graded answer: the next due question, or None at the end."""
        if self.current is None or question_id != self.current.id or question_id not in self.attempts:
            return self.current
        self.index += 1
        if self.index >= len(self.queue):
            self.active = False
        return self.current

    def follows(self, question_id: str | None) -> bool:
        """Whether the question on screen is the one the session is at."""
        return self.current is not None and question_id == self.current.id

    def end(self) -> ReviewSummary:
        self.active = False
        return self.summary()

    def summary(self) -> ReviewSummary:
        verdicts = []
        for attempt_id in self.attempts.values():
            attempt = history.get_attempt(self.db, attempt_id)
            if attempt is not None:
                verdicts.append(effective_verdict(attempt))
        return ReviewSummary(len(verdicts), verdicts.count("correct"), verdicts.count("partial"),
                             verdicts.count("incorrect"), *self._next_due(self.clock()))

    def _next_due(self, now: float) -> tuple[date | None, int]:
        dues = [max(c["due"], now) for c in history.cards(self.db) if c["question_id"] in self.questions]
        if not dues:
            return None, 0
        first = min(dues)
        until = end_of_today(first)
        return datetime.fromtimestamp(first).date(), sum(1 for due in dues if due <= until)
