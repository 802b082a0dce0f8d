"""A mock interview's flow: planning, starting, each answer saved the moment it is submitted and queued for
grading, grades stored as they arrive (also for an interview no longer on screen), closing with the report, and
resuming or finishing one the app was closed in. The view renders this state and forwards the learner's actions."""
from __future__ import annotations

import random
import sqlite3
import time
from typing import Callable, Protocol

from app.core import option_order
from app.core.interview import GRADED_OUTCOMES, Interview, InterviewError, InterviewSettings, Slot, Submission
from app.core.interview_plan import plan_questions, topic_weights
from app.core.interview_report import build_report, report_markdown
from app.core.model import Grade
from app.core.thread import choose_followup, design_slots, pick_design
from app.sessions.dispatcher import GradeRequest, GradingDispatcher
from app.sessions.writes import Writes
from app.storage import interviews as store
from app.storage import userdb

SETTINGS_KEY = "interview_settings"


class InterviewListener(Protocol):
    """What the view is told, about the interview on screen."""
    def on_verdict(self, index: int, grade: Grade) -> None: ...
    def on_graded(self, index: int) -> None: ...
    def on_grading_failed(self, index: int, message: str) -> None: ...
    def on_queue_changed(self) -> None: ...


class InterviewController:
    def __init__(self, db, library, dispatcher: GradingDispatcher, listener: InterviewListener,
                 clock: Callable[[], float] = time.monotonic, writes: Writes | None = None):
        self.db, self.library, self.dispatcher, self.listener, self.clock = db, library, dispatcher, listener, clock
        self.writes = writes or Writes()
        self.titles = {n.id: n.title for n in library.notes}
        self.session: Interview | None = None
        self.interview_id: int | None = None
        self.started_at = 0.0
        self.unfinished: dict | None = None
        self.last_state_save = 0.0
        self._requests: dict[tuple[int, int], GradeRequest] = {}
        self.rng = random.Random()
        self._on_screen: tuple[int, object] | None = None  # the slot shown, and its item as primed

    def _followup(self, index: int, slot: Slot) -> Slot | None:
        """Chosen on submit, from the bank and the rubric's word reading only: the follow-up shows at once."""
        question = self.library.by_id.get(slot.question_id)
        if question is None:
            return None
        return choose_followup(question, slot.answer, self.library.followups_of(question.id), self.rng)

    @property
    def pending(self) -> int:
        return sum(1 for r in self._requests.values() if not r.cancel.is_set())

    @property
    def running(self) -> bool:
        return self.session is not None and not self.session.finished

    # -- starting, resuming, reopening --------------------------------------------------------------------
    def remembered_settings(self, default: InterviewSettings) -> InterviewSettings:
        saved = userdb.get_setting(self.db, SETTINGS_KEY)
        try:
            return InterviewSettings.from_dict(saved) if saved else default
        except InterviewError:
            return default

    def find_unfinished(self) -> dict | None:
        """An interview the app was closed (or crashed) in the middle of."""
        row = store.unfinished_interview(self.db)
        self.unfinished = row if row is not None and row["state"] is not None else None
        return self.unfinished

    def start(self, settings: InterviewSettings) -> str | None:
        """Plan and start an interview; returns why it cannot start, or None."""
        if self.unfinished is not None or self.running:
            return "Finish or resume the unfinished interview first."
        scores = store.graded_scores(self.db)
        history = [(q.topic, score) for qid, score in scores if (q := self.library.by_id.get(qid)) is not None]
        topics = [t for t, _ in self.library.topics()]
        weights = topic_weights(history, topics) if settings.weak_topics else None
        try:
            slots = plan_questions(self.library.questions, settings, weights, {q for q, _ in scores})
            design = pick_design(self.library.designs, settings, self.rng)
        except InterviewError as exc:
            return str(exc)
        if design is not None:
            slots += design_slots(design, settings.design_minutes)
        session, started_at = Interview(settings, slots, self.clock, self._followup), time.time()
        try:
            interview_id = store.create_interview(self.db, settings.to_dict(), session.to_dict(), started_at)
        except sqlite3.Error as exc:
            return f"The interview could not be saved, so it did not start ({exc})."
        self.writes.run("your interview settings", lambda: userdb.set_setting(self.db, SETTINGS_KEY, settings.to_dict()))
        self.cancel_grading()
        self.session, self.started_at, self.interview_id = session, started_at, interview_id
        self.session.start()
        self.save_state()
        return None

    def restore(self, row: dict) -> str | None:
        try:
            self.session = Interview.from_dict(row["state"], self.clock, self._followup)
        except InterviewError as exc:
            return f"Interview {row['id']} cannot be opened: {exc}"
        self.interview_id, self.started_at, self.unfinished = row["id"], row["started_at"], None
        if self.session.current_slot is not None:
            draft = store.load_interview_draft(self.db, self.interview_id, self.session.current)
            self.session.set_draft(draft or self.session.draft)
        return None

    def resume_unfinished(self) -> str | None:
        problem = self._reopen_unfinished()
        if problem:
            return problem
        if self.session.phase == "ready":
            self.session.start()
        elif self.session.phase == "suspended":
            self.session.resume()
        self.save_state()
        return None

    def finish_unfinished(self) -> str | None:
        problem = self._reopen_unfinished()
        if problem:
            return problem
        self.handle(self.session.finish())
        return None

    def _reopen_unfinished(self) -> str | None:
        """Restore the interview the app was closed in and queue its answers that have no grade yet."""
        if self.unfinished is None:
            return "There is no unfinished interview."
        problem = self.restore(self.unfinished)
        if not problem:
            self.grade_the_rest()
        return problem

    def open_past(self, interview_id: int) -> str | None:
        if self.running:
            return "Finish the running interview first."
        row = store.load_interview(self.db, interview_id)
        return row["error"] or self.restore(row)

    def finish_past_grades(self) -> int:
        """Queue the answers of finished or abandoned interviews that were never graded; returns how many."""
        queued = 0
        for row in store.past_interviews(self.db):
            try:
                past = Interview.from_dict(row["state"], self.clock) if row["state"] else None
            except InterviewError:
                continue
            for index in past.needing_grades() if past else []:
                self._queue(row["id"], index, past.slots[index].question_id, past.slots[index].answer,
                            past.slots[index].order)
                queued += 1
        return queued

    def grade_the_rest(self) -> None:
        """Grade the answers left ungraded and, once a model is loaded, those graded from the rubric alone."""
        if self.session is None:
            return
        again = [i for i, s in enumerate(self.session.slots) if s.grade is not None and s.grade.grader == "rubric only"]
        for index in self.session.needing_grades() + (again if self.dispatcher.engine is not None else []):
            self._queue(self.interview_id, index, self.session.slots[index].question_id,
                        self.session.slots[index].answer, self.session.slots[index].order)

    # -- while it runs --------------------------------------------------------------------------------------
    def set_draft(self, text: str) -> None:
        if self.session is not None and self.session.current_slot is not None:
            self.session.set_draft(text)

    def presented(self) -> None:
        """The current slot is on screen: its prompts are evaluated while the learner reads and types (as in
        practice), so its grade, queued on submit, pays only for the answer."""
        slot = self.session.current_slot if self.session is not None else None
        item = shown(self.library.item(slot.question_id), slot.order) if slot is not None else None
        self._on_screen = (self.session.current, item) if item is not None else None
        if item is not None:
            self.dispatcher.prime(item)

    def typing(self) -> None:
        self.dispatcher.stop_reading()

    def read_ahead(self, text: str) -> None:
        """The learner paused: the model reads the draft now (PracticeSession.read_ahead)."""
        if self._answering_on_screen():
            self.dispatcher.read_ahead(self._on_screen[1], text)

    def save_draft(self) -> bool:
        """Store the draft and the state, and have the model evaluate the draft so far (PracticeSession.save_draft)."""
        if self.session is None or self.session.current_slot is None or self.interview_id is None:
            return False
        store.save_interview_draft(self.db, self.interview_id, self.session.current, self.session.draft,
                                   self.session.to_dict())
        self.last_state_save = self.clock()
        if self._answering_on_screen():
            self.dispatcher.feed(self._on_screen[1], self.session.draft)
        return True

    def _answering_on_screen(self) -> bool:
        """The slot on screen is the one being answered, and its question is known to the grader."""
        return self._on_screen is not None and self.session is not None and self.session.phase == "answering" \
            and self._on_screen[0] == self.session.current

    def save_state(self) -> None:
        interview_id, state = self.interview_id, self.session.to_dict()
        self.writes.run("the interview's clock and state", lambda: store.save_state(self.db, interview_id, state))
        self.last_state_save = self.clock()

    def answer(self, text: str) -> list[Submission]:
        self.session.set_draft(text)
        return self.handle([self.session.answer()])

    def skip(self, text: str) -> list[Submission]:
        self.session.set_draft(text)
        return self.handle([self.session.skip()])

    def abandon(self, text: str) -> list[Submission]:
        self.session.set_draft(text)
        return self.handle(self.session.abandon())

    def tick(self) -> list[Submission]:
        """Advance the clocks: submissions for time that ran out, and the state saved every few seconds."""
        submissions = self.session.tick()
        if submissions:
            return self.handle(submissions)
        if self.clock() - self.last_state_save >= 5.0:
            self.save_state()
        return []

    def next_question(self) -> None:
        self.session.next_question()
        self.save_state()

    def toggle_pause(self) -> None:
        self.session.resume() if self.session.phase == "paused" else self.session.pause()
        self.save_state()

    def handle(self, submissions: list[Submission]) -> list[Submission]:
        """Each submission saved the moment it is made and queued for grading; the interview closed if it ended."""
        for submission in submissions:
            self._persist(submission)
        if self.session.finished:
            self._close()
        elif self.session.phase != "between":
            self.save_state()
        return submissions

    def _persist(self, submission: Submission) -> None:
        now = time.time()
        graded = submission.outcome in GRADED_OUTCOMES
        order = self.session.slots[submission.index].order
        attempt = userdb.submitted_attempt(submission.question_id, submission.answer, "interview", now,
                                           submission.seconds, "pending" if graded else "skipped",
                                           option_order=option_order.dumps(order) if order else "")
        interview_id, state = self.interview_id, self.session.to_dict()
        answer = {"position": submission.index, "question_id": submission.question_id, "answer": submission.answer,
                  "outcome": submission.outcome, "seconds": submission.seconds, "submitted_at": now}
        self.writes.run(f"your answer to question {submission.index + 1}",
                        lambda: store.record_submission(self.db, interview_id, state, answer, attempt))
        if graded:
            self._queue(self.interview_id, submission.index, submission.question_id, submission.answer, order)

    def _close(self) -> None:
        report = self.report()
        interview_id, state, phase = self.interview_id, self.session.to_dict(), self.session.phase
        self.writes.run("the interview's report", lambda: store.close_interview(
            self.db, interview_id, state, phase, report.score, report_markdown(report)))

    def report(self):
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started_at))
        return build_report(self.session, self.items(self.session), self.titles, started, self.library.section_name,
                            self.library.designs_by_id)

    def items(self, session: Interview) -> dict:
        """Every slot's question, follow-up, probe or stage, by id (for the report)."""
        return {s.question_id: shown(item, s.order) for s in session.slots
                if (item := self.library.item(s.question_id)) is not None}

    # -- grading --------------------------------------------------------------------------------------------
    def _queue(self, interview_id: int, index: int, question_id: str, answer: str, order=()) -> None:
        key = (interview_id, index)
        question = shown(self.library.item(question_id), order)
        if question is None or (key in self._requests and not self._requests[key].cancel.is_set()):
            return
        self._requests[key] = self.dispatcher.grade(GradeRequest(
            question, answer, on_done=lambda g: self._graded(key, g), on_failed=lambda m: self._failed(key, m),
            on_verdict=lambda g: self._verdict(key, g)))
        self.listener.on_queue_changed()

    def cancel_grading(self) -> None:
        requests, self._requests = list(self._requests.values()), {}
        for request in requests:
            self.dispatcher.cancel(request)
        self.listener.on_queue_changed()

    def _verdict(self, key: tuple[int, int], grade: Grade) -> None:
        if key[0] == self.interview_id:
            self.listener.on_verdict(key[1], grade)

    def _graded(self, key: tuple[int, int], grade: Grade) -> None:
        self._requests.pop(key, None)
        interview_id, index = key
        session = self.session if interview_id == self.interview_id else self._load_other(interview_id)
        if session is not None:
            session.record_grade(index, grade)
            changes = {}
            if session.finished:
                report = build_report(session, self.items(session), self.titles, section_name=self.library.section_name,
                                      designs=self.library.designs_by_id)
                changes = {"score": report.score, "report_md": report_markdown(report)}
            stored, state = grade.to_dict(), session.to_dict()
            self.writes.run(f"the grade of answer {index + 1}", lambda: store.record_grade(
                self.db, interview_id, index, stored, state, **changes))
            if session is self.session:
                self.listener.on_graded(index)
        self.listener.on_queue_changed()

    def _load_other(self, interview_id: int) -> Interview | None:
        """A grade for an interview no longer on screen still belongs in its saved state."""
        try:
            return Interview.from_dict(store.load_interview(self.db, interview_id)["state"], self.clock)
        except (KeyError, InterviewError):
            return None

    def _failed(self, key: tuple[int, int], message: str) -> None:
        if self._requests.pop(key, None) is None:
            return  # cancelled on purpose (a new interview, closing the app): the answer waits, stored

        if key[0] == self.interview_id:
            self.listener.on_grading_failed(key[1], message)
        self.listener.on_queue_changed()

    def shutdown(self) -> None:
        """Closing the app: keep the draft and the state; stop grading (it resumes when the interview does)."""
        if self.running and self.interview_id is not None:
            self.save_draft()
            self.save_state()
        self.cancel_grading()


def shown(item, order):
    """A question with its options in the order this interview showed them (follow-ups and stages have none)."""
    return option_order.presented(item, order) if item is not None and order and getattr(item, "options", ()) else item
