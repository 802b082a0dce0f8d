"""A practice session: the question on screen and its draft, and for each submit an attempt that is stored before
grading starts, filled with the grade the moment the verdict exists, completed with the explanation, then reviewed.
Moving on, cancelling or a model crash never loses what was already graded."""
from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from app.core import option_order
from app.core.model import Grade, Question
from app.sessions.dispatcher import GradeRequest, GradingDispatcher
from app.sessions.writes import Writes
from app.storage import history, userdb

CURRENT_QUESTION = "current_question"
NOT_WRITTEN = "The explanation was not written ({reason}); the verdict and points above are stored."


class PracticeListener(Protocol):
    """What the view is told, only about the attempt it shows."""
    def on_verdict(self, grade: Grade) -> None: ...
    def on_token(self, piece: str) -> None: ...
    def on_final(self, grade: Grade, review: history.ReviewResult | None) -> None: ...
    def on_failed(self, message: str) -> None: ...


@dataclass
class Submitted:
    attempt_id: int
    request: GradeRequest
    verdict: Grade | None = None


class PracticeSession:
    def __init__(self, db, dispatcher: GradingDispatcher, listener: PracticeListener,
                 clock: Callable[[], float] = time.time, writes: Writes | None = None,
                 rng: random.Random | None = None):
        self.db, self.dispatcher, self.listener, self.clock = db, dispatcher, listener, clock
        self.rng = rng or random.Random()
        self.writes = writes or Writes()
        self.question: Question | None = None
        self.shown_at = clock()
        self.current: Submitted | None = None    # the submit whose results the view shows
        self.model_name = "rubric only"

    @property
    def grading(self) -> bool:
        return self.current is not None and self.dispatcher.is_pending(self.current.request)

    def show(self, question: Question) -> str:
        """Make this the question on screen (a grade still running for the last one finishes and is stored), its
        options in a fresh random order, or in the order its saved draft was written against; returns the draft.
        `self.question` is the question as shown: the grader reads the letters the learner read."""
        order = userdb.draft_order(self.db, question.id) or option_order.shuffled(question, self.rng)
        question = option_order.presented(question, order)
        self.question, self.current, self.shown_at = question, None, self.clock()
        self.writes.run("the question on screen", lambda: userdb.set_setting(self.db, CURRENT_QUESTION, question.id))
        self.dispatcher.prime(question)
        return userdb.load_draft(self.db, question.id)

    @property
    def order(self) -> str:
        """The options' order on screen, as stored with drafts and attempts."""
        return option_order.dumps(option_order.order_of(self.question)) if self.question is not None else ""

    def save_draft(self, text: str) -> None:
        """Store the draft (a typing pause, or every 1.5 s of steady typing) and have the model evaluate it so far
        (dispatcher.feed), so a submit straight after typing pays only for the last words."""
        self._store_draft(text)
        if self.question is not None and not self.grading:
            self.dispatcher.feed(self.question, text)

    def _store_draft(self, text: str) -> None:
        if self.question is not None:
            userdb.save_draft(self.db, self.question.id, text, self.order)

    def typing(self) -> None:
        """The learner is typing: a draft being read ahead is stale."""
        self.dispatcher.stop_reading()

    def read_ahead(self, text: str) -> None:
        """The learner paused: the model reads the draft now, so submitting the same text shows its verdict at once."""
        if self.question is not None and not self.grading:
            self.dispatcher.read_ahead(self.question, text)

    def submit(self, answer: str) -> int:
        """Store the attempt (the answer is safe from here on), then queue its grading."""
        question, now = self.question, self.clock()
        self._store_draft(answer)
        attempt_id = userdb.record_attempt(self.db, userdb.submitted_attempt(
            question.id, answer, "practice", now, now - self.shown_at, model=self.model_name,
            option_order=self.order))
        self.current = self._queue(attempt_id, question, answer)
        return attempt_id

    def finish_pending(self) -> int:
        """Queue every practice answer left without a grade (a close or a kill while grading); returns how many."""
        rows = [r for r in history.pending_attempts(self.db, "practice")
                if self.dispatcher.library.item(r["question_id"]) is not None]
        for row in rows:
            self.grade_again(row)
        return len(rows)

    def grade_again(self, row: dict, after: Callable[[str], None] | None = None) -> bool:
        """Grade a stored practice attempt (still pending, or graded from the rubric only) with today's grader; its
        grade and review are replaced, an override of yours stays. False when its question left the bank."""
        question = self.dispatcher.library.item(row["question_id"])  # a follow-up or probe too
        if question is None or row.get("mode") != "practice":
            return False
        self._queue(row["id"], option_order.presented(question, row.get("option_order")), row["answer"], after)
        return True

    def _queue(self, attempt_id: int, question: Question, answer: str,
               after: Callable[[str], None] | None = None) -> Submitted:
        """Queue a stored attempt's grading: its results are stored, and shown while it is the current one;
        `after` hears the end ("" once graded, else why not)."""
        submitted = Submitted(attempt_id, None)  # type: ignore[arg-type]

        def done(grade: Grade) -> None:
            self._final(submitted, grade)
            if after:
                after("")

        def failed(message: str) -> None:
            self._failed(submitted, message)
            if after:
                after(message)
        submitted.request = GradeRequest(question, answer, on_done=done, on_failed=failed,
                                         on_verdict=lambda g: self._verdict(submitted, g),
                                         on_token=lambda p: self._token(submitted, p))
        self.dispatcher.grade(submitted.request)
        return submitted

    def cancel(self) -> None:
        if self.current is not None:
            self.dispatcher.cancel(self.current.request)

    def rate(self, rating: int) -> history.ReviewResult | None:
        if self.current is None:
            return None
        try:
            return history.change_rating(self.db, self.current.attempt_id, rating)
        except sqlite3.Error as exc:
            self.writes.on_problem(f"Your rating was not saved ({exc}); choose it again when storage is back.")
            return None

    def call(self, item: str, value: str | None) -> dict[str, str] | None:
        """The learner's call on an item of the grade on screen the grader was unsure of (None takes it back); the
        attempt's calls, or None when there is no graded attempt or it could not be stored (the problem is told)."""
        if self.current is None or self.question is None:
            return None
        try:
            return history.set_call(self.db, self.current.attempt_id, item, value, self.question)
        except sqlite3.Error as exc:
            self.writes.on_problem(f"Your call was not saved ({exc}); make it again when storage is back.")
            return None

    # -- results, on the owner's thread --------------------------------------------------------------------
    def _verdict(self, submitted: Submitted, grade: Grade) -> None:
        submitted.verdict = grade
        stored = grade.to_dict()
        self.writes.run("the verdict on your answer",
                        lambda: history.store_grade(self.db, submitted.attempt_id, stored, final=False))
        if submitted is self.current:
            self.listener.on_verdict(grade)

    def _token(self, submitted: Submitted, piece: str) -> None:
        if submitted is self.current:
            self.listener.on_token(piece)

    def _final(self, submitted: Submitted, grade: Grade) -> None:
        stored, found = grade.to_dict(), {}
        self.writes.run("the grade of your answer",
                        lambda: found.update(review=history.store_grade(self.db, submitted.attempt_id, stored)))
        if submitted is self.current:
            self.listener.on_final(grade, found.get("review"))

    def _failed(self, submitted: Submitted, message: str) -> None:
        grade = submitted.verdict
        if grade is None:  # nothing graded yet: the attempt stays pending with its answer
            if submitted is self.current:
                self.listener.on_failed(message)
            return
        reason = message.rstrip(".").lower()
        grade.notice = " ".join(filter(None, [grade.notice, NOT_WRITTEN.format(reason=reason)]))
        self._final(submitted, grade)
