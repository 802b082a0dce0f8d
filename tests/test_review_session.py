"""The review session and the rating buttons' interval preview, without Qt, on a real user database."""
from __future__ import annotations

from datetime import date, datetime, time as day_time, timedelta

import pytest
from history_data import DAY, add_attempt

from app.core.review import AGAIN, EASY, GOOD, HARD
from app.core.schedule import RATINGS, interval_text, preview_intervals
from app.sessions.review import ReviewSession
from app.storage import history

TODAY = date(2026, 6, 1)
NOW = datetime.combine(TODAY, day_time(12)).timestamp()  # midday: 'due today' never straddles midnight
DUE = ("embeddings-001", "rag-001", "agents-001")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seeded(db, questions) -> None:
    """Three questions answered weeks ago (so due now, the most overdue first) and one answered just now."""
    add_attempt(db, questions["embeddings-001"], "incorrect", NOW - 40 * DAY)
    add_attempt(db, questions["rag-001"], "partial", NOW - 30 * DAY)
    add_attempt(db, questions["agents-001"], "correct", NOW - 20 * DAY)
    add_attempt(db, questions["chunking-001"], "correct", NOW - 60)


def dump(db) -> list:
    return [list(db[t].rows) for t in ("attempts", "reviews", "cards")]


@pytest.mark.parametrize("days, text", [(0.2, "<1d"), (0.99, "<1d"), (1, "1d"), (1.4, "1d"), (12, "12d"),
                                        (30, "30d"), (45, "1mo"), (92, "3mo"), (364, "12mo"), (365, "1.0y"),
                                        (438, "1.2y")])
def test_interval_text(days: float, text: str) -> None:
    assert interval_text(days * DAY) == text


def test_preview_of_a_first_review_grows_with_the_rating() -> None:
    intervals = preview_intervals([], NOW, NOW)
    assert set(intervals) == set(RATINGS)
    assert intervals[AGAIN] <= intervals[HARD] < intervals[GOOD] < intervals[EASY]
    assert [interval_text(intervals[r]) for r in RATINGS] == ["1d", "1d", "2d", "8d"]


def test_a_one_day_interval_prints_1d_at_any_time_of_day() -> None:
    for at in (NOW + 0.123456789, NOW + 3600.987654321, NOW + 0.5):
        intervals = preview_intervals([(at - 40 * DAY, AGAIN)], at - 40 * DAY, at)
        assert intervals[AGAIN] == DAY and interval_text(intervals[AGAIN]) == "1d"


def test_preview_is_what_each_rating_then_schedules(db, questions) -> None:
    question = questions["rag-001"]
    add_attempt(db, question, "correct", NOW - 30 * DAY)
    add_attempt(db, question, "incorrect", NOW - 20 * DAY)
    attempt = add_attempt(db, question, "correct", NOW)
    before = dump(db)
    intervals = history.rating_intervals(db, attempt)
    assert dump(db) == before, "a preview must store nothing"
    assert intervals[AGAIN] < intervals[HARD] < intervals[GOOD] < intervals[EASY]
    for rating in RATINGS:
        result = history.change_rating(db, attempt, rating)
        assert result.due - NOW == pytest.approx(intervals[rating], abs=1.0), RATINGS[rating]
        assert history.rating_intervals(db, attempt) == intervals  # the preview ignores the rating chosen now


def test_extra_practice_has_no_interval_preview(db, questions) -> None:
    question = questions["rag-001"]
    add_attempt(db, question, "correct", NOW - DAY)
    crammed = add_attempt(db, question, "correct", NOW)  # not due yet: the rating will not move its date
    assert history.question_review(db, crammed)["scheduled"] == 0
    assert history.rating_intervals(db, crammed) is None


def answer(db, session: ReviewSession, verdict: str, clock: Clock) -> int:
    """Answer the question the session is at, as the practice view would, and tell the session."""
    question = session.current
    clock.now += 120
    attempt = add_attempt(db, question, verdict, clock.now)
    session.graded(question.id, attempt)
    return attempt


def test_a_session_goes_through_the_due_queue_in_order_and_sums_up(db, questions, seeded) -> None:
    clock = Clock(NOW)
    session = ReviewSession(db, questions, clock)
    first = session.start()
    assert [q.id for q in session.queue] == list(DUE) and first.id == "embeddings-001"
    assert session.progress_text == "Review 1 of 3"
    assert session.rated(first.id).id == first.id, "no graded answer yet: the session stays"
    answer(db, session, "incorrect", clock)
    assert session.rated("rag-001").id == first.id, "a rating for another question does not move it"
    second = session.rated(first.id)
    assert second.id == "rag-001" and session.progress_text == "Review 2 of 3"
    attempt = answer(db, session, "partial", clock)
    history.set_override(db, attempt, "correct")  # the learner's verdict counts in the summary
    assert session.rated(second.id).id == "agents-001"
    answer(db, session, "correct", clock)
    assert session.rated("agents-001") is None and not session.active and session.progress_text == ""
    summary = session.summary()
    assert (summary.answered, summary.correct, summary.partial, summary.incorrect) == (3, 2, 0, 1)
    assert history.due_cards(db, NOW + DAY / 3) == []
    assert summary.next_day == TODAY + timedelta(days=1) and summary.next_count == 1  # the Again one
    assert summary.next_due_text(TODAY) == "Next due tomorrow, 1 question."


def test_ending_early_keeps_the_answers_and_says_what_is_left(db, questions, seeded) -> None:
    clock = Clock(NOW)
    session = ReviewSession(db, questions, clock)
    session.start()
    attempt = answer(db, session, "correct", clock)
    summary = session.end()
    assert not session.active and session.current is None
    assert (summary.answered, summary.correct) == (1, 1)
    assert history.question_review(db, attempt)["scheduled"] == 1
    assert summary.next_due_text(TODAY) == "Next due today, 2 questions."
    assert ReviewSession(db, questions, clock).start().id == "rag-001", "the rest is still due"


def test_nothing_due_starts_nothing(db, questions) -> None:
    session = ReviewSession(db, questions, Clock(NOW))
    assert session.start() is None and not session.active
    summary = session.end()
    assert summary.answered == 0 and summary.next_due_text(TODAY) == "No question is scheduled yet."


def test_a_later_next_review_is_named_by_its_date(db, questions) -> None:
    add_attempt(db, questions["rag-001"], "correct", NOW - 60)
    summary = ReviewSession(db, questions, Clock(NOW)).summary()
    due = datetime.fromtimestamp(history.card_due(db, "rag-001")).date()
    assert due > TODAY + timedelta(days=1)
    assert summary.next_due_text(TODAY) == f"Next due {due.strftime('%a %d %b')}, 1 question."
