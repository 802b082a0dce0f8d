"""Spaced review: the rating a grade proposes, the due queue, cramming, and the desired-retention setting."""
from __future__ import annotations

import json

import pytest
from history_data import DAY, add_attempt

from app.core.review import AGAIN, EASY, GOOD, HARD, propose_rating
from app.progress import due_today
from app.storage import history

T0 = 1_780_000_000.0  # a fixed start, so the tests never depend on today's date


def card(db, key: str) -> dict:
    return db["cards"].get(key)


def test_rating_proposal_rule() -> None:
    assert propose_rating("incorrect", 30, 60) == AGAIN
    assert propose_rating("partial", 65, 60) == HARD
    assert propose_rating("correct", 89, 60) == GOOD
    assert propose_rating("correct", 90, 179) == EASY
    assert propose_rating("correct", 100, 180) == GOOD  # strong but not fast
    assert propose_rating("correct", 100, None) == GOOD
    assert propose_rating("pending", 0, 10) is None


def test_real_grades_propose_ratings(db, questions) -> None:
    fast = add_attempt(db, questions["rag-001"], "correct", T0, answer_seconds=60)
    slow = add_attempt(db, questions["agents-001"], "correct", T0, answer_seconds=400)
    partial = add_attempt(db, questions["chunking-001"], "partial", T0)
    wrong = add_attempt(db, questions["embeddings-001"], "incorrect", T0)
    ratings = {a: history.question_review(db, a)["rating"] for a in (fast, slow, partial, wrong)}
    assert ratings == {fast: EASY, slow: GOOD, partial: HARD, wrong: AGAIN}


def test_due_queue_orders_by_schedule(db, questions) -> None:
    add_attempt(db, questions["rag-001"], "correct", T0, answer_seconds=60)     # Easy: days away
    add_attempt(db, questions["embeddings-001"], "incorrect", T0)              # Again: back tomorrow
    assert due_today(db, questions, T0) == []
    assert [q.id for q in due_today(db, questions, T0 + 2 * DAY)] == ["embeddings-001"]
    assert {q.id for q in due_today(db, questions, T0 + 30 * DAY)} == {"rag-001", "embeddings-001"}
    assert card(db, "embeddings-001")["due"] < card(db, "rag-001")["due"]


def test_cramming_is_logged_but_does_not_reschedule(db, questions) -> None:
    question = questions["rag-001"]
    add_attempt(db, question, "correct", T0, answer_seconds=60)
    before = card(db, "rag-001")
    assert before["due"] > T0 + 3 * DAY
    crammed = add_attempt(db, question, "incorrect", T0 + DAY, mode="interview")
    review = history.question_review(db, crammed)
    assert review["scheduled"] == 0 and review["rating"] == AGAIN
    assert card(db, "rag-001") == before
    assert all(r["scheduled"] == 0 for r in db["reviews"].rows_where("attempt_id = ?", [crammed]))
    points = [c for c in history.cards(db, "point") if c["question_id"] == "rag-001"]
    assert points and all(json.loads(c["card_json"])["last_review"] is not None for c in points)
    due = add_attempt(db, question, "incorrect", before["due"] + 60)
    assert history.question_review(db, due)["scheduled"] == 1
    assert card(db, "rag-001")["due"] != before["due"]


def test_first_answer_in_free_practice_schedules_the_question(db, questions) -> None:
    attempt = add_attempt(db, questions["chunking-001"], "partial", T0)
    assert history.question_review(db, attempt)["scheduled"] == 1
    assert card(db, "chunking-001")["due"] > T0


def test_key_points_are_scheduled_as_concepts(db, questions) -> None:
    question = questions["chunking-001"]
    add_attempt(db, question, "partial", T0)  # makes the first key point only
    ratings = {r["card_key"]: r["rating"] for r in history.reviews(db) if r["card_key"] != question.id}
    assert ratings[f"{question.id}/{question.key_points[0].id}"] == GOOD
    assert ratings[f"{question.id}/{question.key_points[-1].id}"] == AGAIN


def test_user_rating_and_override_reschedule(db, questions) -> None:
    attempt = add_attempt(db, questions["agents-001"], "correct", T0, answer_seconds=400)
    good_due = card(db, "agents-001")["due"]
    result = history.change_rating(db, attempt, EASY)
    assert result.rating == EASY and result.due > good_due
    history.set_override(db, attempt, "incorrect")
    assert history.question_review(db, attempt)["rating"] == AGAIN
    assert card(db, "agents-001")["due"] < good_due
    with pytest.raises(ValueError, match="rating"):
        history.change_rating(db, attempt, 7)


def test_desired_retention_changes_intervals(db, questions) -> None:
    question = questions["agents-001"]
    add_attempt(db, question, "correct", T0, answer_seconds=400)
    add_attempt(db, question, "correct", card(db, question.id)["due"] + 60, answer_seconds=400)
    default = card(db, question.id)["due"]
    history.set_desired_retention(db, 0.8)
    lower = card(db, question.id)["due"]
    history.set_desired_retention(db, 0.95)
    higher = card(db, question.id)["due"]
    assert higher < default < lower
    assert history.desired_retention(db) == 0.95
    with pytest.raises(ValueError, match="desired retention"):
        history.set_desired_retention(db, 1.5)
    assert history.desired_retention(db) == 0.95 and card(db, question.id)["due"] == higher


def test_attempts_graded_elsewhere_are_reviewed_as_of_their_time(db, questions) -> None:
    add_attempt(db, questions["rag-001"], "correct", T0, answer_seconds=60)
    before = card(db, "rag-001")
    crammed = add_attempt(db, questions["rag-001"], "incorrect", T0 + DAY, mode="interview", review=False)
    first = add_attempt(db, questions["peft-002"], "partial", T0 + 2 * DAY, mode="interview", review=False)
    assert history.question_review(db, crammed) is None
    assert history.sync_reviews(db) == 2
    assert history.question_review(db, crammed)["scheduled"] == 0 and card(db, "rag-001") == before
    review = history.question_review(db, first)
    assert (review["scheduled"], review["reviewed_at"], review["rating"]) == (1, T0 + 2 * DAY, HARD)
    assert history.sync_reviews(db) == 0
