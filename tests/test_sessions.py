"""The session services without Qt: a practice answer and a whole mock interview (crash and resume included) driven
through the services alone, on a real user database, the real library and the small model in its own process."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import paths
from app.core.interview import InterviewSettings
from app.sessions.dispatcher import GradingDispatcher
from app.sessions.interview import InterviewController
from app.sessions.practice import PracticeSession
from app.storage import history
from app.storage import interviews as store
from app.storage.userdb import attempts, get_setting, open_user_db

QID = "fine-tuning-vs-rag-001"
ANSWER = ("I recommend retrieval-augmented generation: index the wiki and look up the relevant pages at query time. "
          "The wiki changes every day, so an index updated in minutes stays current, and users need the source page.")


class Recorder:
    """Listens as a view would, and keeps what it was told, in order."""

    def __init__(self):
        self.events: list[tuple] = []

    def __getattr__(self, name: str):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.events.append((name, *args))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_practice_answer_is_stored_graded_explained_and_reviewed_in_that_order(services, smol_path: Path) -> None:
    library, dispatcher, mailbox, db, statuses = services
    dispatcher.load(smol_path)
    assert mailbox.run_until(lambda: "ready" in statuses)
    view = Recorder()
    session = PracticeSession(db, dispatcher, view)
    assert session.show(library.by_id[QID]) == ""
    assert get_setting(db, "current_question") == QID
    attempt_id = session.submit(ANSWER)
    row = attempts(db, QID)[0]
    assert (row["id"], row["verdict"], row["answer"]) == (attempt_id, "pending", ANSWER)  # stored before grading
    assert mailbox.run_until(lambda: "on_final" in view.kinds())
    kinds = view.kinds()
    assert kinds[0] == "on_verdict" and kinds[-1] == "on_final" and "on_token" in kinds
    grade, review = view.events[-1][1:]
    row = attempts(db, QID)[0]
    assert row["verdict"] == grade.verdict and json.loads(row["grade_json"])["explanation"] == grade.explanation
    assert grade.grader.startswith("SmolLM2") and review is not None and review.attempt_id == attempt_id
    assert history.question_review(db, attempt_id)["rating"] == review.rating


def test_moving_on_keeps_the_grade_and_a_queued_cancel_keeps_the_answer(services) -> None:
    library, dispatcher, mailbox, db, _ = services  # no chat model: rubric-only grades
    view = Recorder()
    session = PracticeSession(db, dispatcher, view)
    session.show(library.by_id[QID])
    first = session.submit(ANSWER)
    session.show(library.by_id["rag-001"])  # moved on before the grade arrived
    second = session.submit("RAG.")
    session.cancel()
    assert view.events == [("on_failed", "Grading cancelled.")]  # it had not started: reported at once
    assert mailbox.run_until(lambda: history.question_review(db, first) is not None)
    assert json.loads(attempts(db, QID)[0]["grade_json"])["grader"] == "rubric only"
    assert "on_final" not in view.kinds()  # the first attempt is no longer on screen: stored, not shown
    assert attempts(db, "rag-001")[0]["id"] == second


def test_a_whole_interview_with_a_crash_and_a_resume(services, smol_path: Path) -> None:
    library, dispatcher, mailbox, db, statuses = services
    dispatcher.load(smol_path)
    assert mailbox.run_until(lambda: "ready" in statuses)
    clock = FakeClock(100.0)
    view = Recorder()
    control = InterviewController(db, library, dispatcher, view, clock)
    assert control.start(InterviewSettings(count=3, seconds_per_question=60, topics=("rag",))) is None
    interview_id = control.interview_id
    clock.now += 20
    [first] = control.answer(ANSWER)
    assert (first.index, first.outcome, first.seconds) == (0, "answered", 20)
    clock.now += 7
    control.set_draft("half a second answer")
    assert control.save_draft()
    # the app dies here: a new process opens the same files
    other_db = open_user_db(paths.user_db_path())
    later = FakeClock(5.0)
    other_view = Recorder()
    resumed = InterviewController(other_db, library, dispatcher, other_view, later)
    assert resumed.find_unfinished()["id"] == interview_id
    assert resumed.start(InterviewSettings(count=1)) == "Finish or resume the unfinished interview first."
    assert resumed.resume_unfinished() is None
    assert resumed.session.current == 1 and resumed.session.draft == "half a second answer"
    assert resumed.session.question_elapsed == pytest.approx(7)
    later.now += 60
    timed_out = resumed.tick()
    assert [s.outcome for s in timed_out] == ["timed out"]
    resumed.skip("")
    assert resumed.session.finished
    assert mailbox.run_until(lambda: not resumed.session.needing_grades() and not resumed.pending)
    row = store.load_interview(other_db, interview_id)
    report = resumed.report()
    assert row["status"] == "finished" and row["score"] == report.score
    assert [r.outcome for r in report.results] == ["answered", "timed out", "skipped"]
    graded = [a for a in attempts(other_db) if a["mode"] == "interview"]
    assert [a["verdict"] in ("correct", "partial", "incorrect") for a in graded] == [True, True, False]
    assert all(history.question_review(other_db, a["id"]) for a in graded[:2])
    assert all(json.loads(a["grade_json"])["grader"].startswith("SmolLM2") for a in graded[:2])
    assert "on_graded" in other_view.kinds()


def test_writes_that_storage_refuses_wait_in_order_and_land_when_space_returns(services) -> None:
    from app.sessions.writes import Writes
    library, dispatcher, mailbox, db, _ = services
    problems: list[str] = []
    writes = Writes(problems.append)
    session = PracticeSession(db, dispatcher, Recorder(), writes=writes)
    session.show(library.by_id[QID])
    attempt_id = session.submit(ANSWER)
    control = InterviewController(db, library, dispatcher, Recorder(), FakeClock(0.0), writes)
    assert control.start(InterviewSettings(count=2, seconds_per_question=60, topics=("rag",))) is None
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")  # the disk is full from here
    control.answer("RAG, because the documents change daily. " * 200)
    assert mailbox.run_until(lambda: writes.waiting >= 2)  # the answer, then the practice grade behind it
    assert problems and "database or disk is full" in problems[-1] and "kept in memory" in problems[-1]
    assert attempts(db, QID)[0]["verdict"] == "pending" and store.interview_answers(db, control.interview_id) == []
    db.execute("PRAGMA max_page_count=1073741823")
    assert mailbox.run_until(lambda: writes.retry() and not control.pending and not dispatcher.busy)
    assert writes.retry()
    assert history.question_review(db, attempt_id) is not None
    [saved] = store.interview_answers(db, control.interview_id)
    assert saved["answer"].startswith("RAG, because") and saved["attempt_id"] is not None
    assert history.get_attempt(db, saved["attempt_id"])["verdict"] in ("correct", "partial", "incorrect")


def test_answers_left_ungraded_by_a_kill_are_graded_on_the_next_start(services) -> None:
    library, dispatcher, mailbox, db, _ = services
    session = PracticeSession(db, dispatcher, Recorder())
    session.show(library.by_id[QID])
    control = InterviewController(db, library, dispatcher, Recorder(), FakeClock(0.0))
    assert control.start(InterviewSettings(count=1, seconds_per_question=60, topics=("rag",))) is None
    dispatcher.shutdown()  # the app is killed: nothing queued from here on is graded
    attempt_id = session.submit(ANSWER)
    control.answer("RAG, because the documents change daily and answers need sources.")
    assert control.session.finished and control.session.needing_grades() == [0]
    fresh = GradingDispatcher(library, mailbox)  # the next start
    again = PracticeSession(db, fresh, Recorder())
    later = InterviewController(db, library, fresh, Recorder(), FakeClock(0.0))
    assert again.finish_pending() == 1 and later.finish_past_grades() == 1
    assert mailbox.run_until(lambda: history.question_review(db, attempt_id) is not None and not later.pending)
    state = store.load_interview(db, control.interview_id)["state"]
    assert state["slots"][0]["grade"] is not None
    assert [a["verdict"] for a in attempts(db) if a["verdict"] == "pending"] == []
    fresh.shutdown()


def test_a_grader_error_reaches_whoever_asked_with_its_message(services) -> None:
    from app.sessions.dispatcher import GradeRequest
    library, dispatcher, mailbox, db, _ = services
    failed: list[str] = []
    question = library.by_id[QID]
    broken = GradeRequest(question, None, on_done=lambda g: failed.append("done"),  # type: ignore[arg-type]
                          on_failed=failed.append)
    dispatcher.grade(broken)  # an answer that is not text: the grader raises
    assert mailbox.run_until(lambda: bool(failed))
    assert failed[0].startswith("Grading failed: ")
