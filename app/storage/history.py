"""Attempt history, verdict overrides and the FSRS review log, stored in the user database."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlite_utils import Database

from app.core import learner_calls, schedule
from app.core.model import VERDICTS, Grade
from app.core.review import AGAIN, GOOD, effective_verdict, propose_rating
from app.core.thread import is_open_item, point_card_target
from app.storage.userdb import get_setting, grade_columns, set_setting, update_attempt

RETENTION_KEY = "desired_retention"


@dataclass
class ReviewResult:
    attempt_id: int
    proposed: int
    rating: int
    scheduled: bool  # False: the question was not due, so this was cramming and the schedule did not move
    due: float       # when the question is due next


def all_attempts(db: Database) -> list[dict]:
    return list(db["attempts"].rows_where(order_by="id"))


def pending_attempts(db: Database, mode: str) -> list[dict]:
    """Attempts stored at submit whose grade never arrived (the app was closed or killed while grading)."""
    return list(db["attempts"].rows_where("verdict = 'pending' AND mode = ?", [mode], order_by="id"))


def get_attempt(db: Database, attempt_id: int) -> dict | None:
    rows = list(db["attempts"].rows_where("id = ?", [attempt_id]))
    return rows[0] if rows else None


def attempt_grade(attempt: dict) -> Grade | None:
    """The stored grade, or None when there is none or it cannot be read (it is never rewritten)."""
    if not attempt.get("grade_json"):
        return None
    try:
        return Grade.from_dict(json.loads(attempt["grade_json"]))
    except (ValueError, KeyError, TypeError):
        return None


def desired_retention(db: Database) -> float:
    return float(get_setting(db, RETENTION_KEY, schedule.DEFAULT_RETENTION))


def set_desired_retention(db: Database, value: float) -> None:
    """Store the setting and reschedule every card as if it had always been scheduled with it."""
    schedule.scheduler(value)  # refuses an out-of-range value before anything is written
    with db.atomic():
        set_setting(db, RETENTION_KEY, value)
        for row in list(db["cards"].rows):
            _replay(db, row["key"], value)


def store_grade(db: Database, attempt_id: int, grade: dict, final: bool = True) -> ReviewResult | None:
    """The one rule for practice and interviews alike: a grade fills its attempt the moment it exists; the final
    grade (with its explanation) then logs the review."""
    update_attempt(db, attempt_id, grade_columns(grade))
    return record_review(db, attempt_id) if final else None


def record_review(db: Database, attempt_id: int, now: float | None = None) -> ReviewResult | None:
    """Log the graded attempt as a review of its question and of its key points (concepts).

    A card that is not due is crammed: the review is logged but the card keeps its schedule."""
    attempt = get_attempt(db, attempt_id)
    grade = attempt_grade(attempt) if attempt else None
    if grade is None:
        return None
    now = time.time() if now is None else now
    proposed = propose_rating(effective_verdict(attempt), attempt["score"], attempt.get("answer_seconds"))
    if proposed is None:
        return None
    retention = desired_retention(db)
    if is_open_item(grade.question_id):
        _review_points(db, attempt_id, grade, now, retention)
        return None
    with db.atomic():
        _forget_reviews(db, attempt_id, retention)
        card = _card(db, grade.question_id, "question", "", now)
        scheduled = schedule.is_due(json.loads(card["card_json"]), now)
        _log(db, attempt_id, card["key"], grade.question_id, proposed, proposed, scheduled, now, card["due"])
        for point in grade.key_points:
            point_card = _card(db, grade.question_id, "point", point.id, now)
            rating = GOOD if point.made else AGAIN
            _log(db, attempt_id, point_card["key"], grade.question_id, rating, rating, scheduled, now, point_card["due"])
            if scheduled:
                _replay(db, point_card["key"], retention)
        due = _replay(db, card["key"], retention) if scheduled else card["due"]
    return ReviewResult(attempt_id, proposed, proposed, scheduled, due)


def _review_points(db: Database, attempt_id: int, grade: Grade, now: float, retention: float) -> None:
    """A follow-up, probe or design stage is not a card of its own: each of its key points is a concept card, due
    again soon when missed (a probe's point is its question's key point)."""
    with db.atomic():
        _forget_reviews(db, attempt_id, retention)
        for point in grade.key_points:
            owner, point_id = point_card_target(grade.question_id, point.id)
            card = _card(db, owner, "point", point_id, now)
            rating = GOOD if point.made else AGAIN
            _log(db, attempt_id, card["key"], owner, rating, rating, True, now, card["due"])
            _replay(db, card["key"], retention)


def change_rating(db: Database, attempt_id: int, rating: int) -> ReviewResult:
    """The user's own rating for the attempt's question review; the card is replayed if it counted."""
    if rating not in schedule.RATINGS:
        raise ValueError(f"rating must be one of {sorted(schedule.RATINGS)}, got {rating}")
    review = question_review(db, attempt_id)
    if review is None:
        raise ValueError(f"attempt {attempt_id} has no review to rate")
    with db.atomic():
        db["reviews"].update(review["id"], {"rating": rating})
        due = _replay(db, review["card_key"], desired_retention(db)) if review["scheduled"] else card_due(db, review["card_key"])
    return ReviewResult(attempt_id, review["proposed"], rating, bool(review["scheduled"]), due)


def rating_intervals(db: Database, attempt_id: int) -> dict[int, float] | None:
    """Seconds to the next review for each rating of the attempt's question review, from the card's real history;
    None when there is no review or it did not count (extra practice). Nothing is stored."""
    review = question_review(db, attempt_id)
    if review is None or not review["scheduled"]:
        return None
    counted = db["reviews"].rows_where("card_key = ? AND scheduled = 1", [review["card_key"]],
                                       order_by="reviewed_at, id")
    this = (review["reviewed_at"], review["id"])
    earlier = [(r["reviewed_at"], r["rating"]) for r in counted if (r["reviewed_at"], r["id"]) < this]
    created_at = db["cards"].get(review["card_key"])["created_at"]
    return schedule.preview_intervals(earlier, created_at, review["reviewed_at"], desired_retention(db))


def set_override(db: Database, attempt_id: int, verdict: str | None, now: float | None = None) -> None:
    """Store the user's verdict beside the grader's (None removes it) and re-rate the attempt's review."""
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    attempt = get_attempt(db, attempt_id)
    if attempt is None:
        raise ValueError(f"no attempt with id {attempt_id}")
    with db.atomic():
        db["attempts"].update(attempt_id, {"override_verdict": verdict,
                                           "overridden_at": (time.time() if now is None else now) if verdict else None})
        review = question_review(db, attempt_id)
        if review is not None:
            rating = propose_rating(verdict or attempt["verdict"], attempt["score"], attempt.get("answer_seconds"))
            db["reviews"].update(review["id"], {"proposed": rating, "rating": rating})
            if review["scheduled"]:
                _replay(db, review["card_key"], desired_retention(db))


def set_call(db: Database, attempt_id: int, item: str, value: str | None, question=None,
             now: float | None = None) -> dict[str, str]:
    """Store the learner's call on one unsure item beside the grader's grade (None takes it back); returns all the
    attempt's calls. With the question, the call is checked against it and the grade first."""
    attempt = get_attempt(db, attempt_id)
    if attempt is None:
        raise ValueError(f"no attempt with id {attempt_id}")
    grade = attempt_grade(attempt)
    if grade is None:
        raise ValueError(f"attempt {attempt_id} has no grade to call")
    if question is not None:
        learner_calls.check(question, grade, item, value)
    calls = learner_calls.parse(attempt.get("learner_calls"))
    if value is None:
        calls.pop(item, None)
    else:
        calls[item] = value
    with db.atomic():
        db["attempts"].update(attempt_id, {"learner_calls": json.dumps(calls) if calls else None,
                                           "called_at": (time.time() if now is None else now) if calls else None})
    return calls


def called_attempts(db: Database) -> list[dict]:
    """Graded attempts with an override or a learner's call: the ones export-overrides writes as labels."""
    return list(db["attempts"].rows_where("(override_verdict IS NOT NULL OR learner_calls IS NOT NULL) "
                                          "AND grade_json != ''", order_by="id"))


def question_review(db: Database, attempt_id: int) -> dict | None:
    rows = list(db["reviews"].rows_where("attempt_id = ? AND card_key = (SELECT question_id FROM attempts WHERE id = ?)",
                                         [attempt_id, attempt_id]))
    return rows[0] if rows else None


def cards(db: Database, kind: str = "question") -> list[dict]:
    return list(db["cards"].rows_where("kind = ?", [kind], order_by="due"))


def due_cards(db: Database, until: float, kind: str = "question") -> list[dict]:
    return list(db["cards"].rows_where("kind = ? AND due <= ?", [kind, until], order_by="due"))


def card_due(db: Database, key: str) -> float:
    return db["cards"].get(key)["due"]


def reviews(db: Database) -> list[dict]:
    return list(db["reviews"].rows_where(order_by="reviewed_at, id"))


def _card(db: Database, question_id: str, kind: str, point_id: str, now: float) -> dict:
    key = question_id if kind == "question" else f"{question_id}/{point_id}"
    rows = list(db["cards"].rows_where("key = ?", [key]))
    if rows:
        return rows[0]
    card = schedule.new_card(now)
    row = {"key": key, "kind": kind, "question_id": question_id, "point_id": point_id,
           "card_json": json.dumps(card), "due": schedule.due_at(card), "created_at": now}
    db["cards"].insert(row)
    return row


def _log(db: Database, attempt_id: int, key: str, question_id: str, rating: int, proposed: int, scheduled: bool,
         now: float, due_before: float) -> None:
    db["reviews"].insert({"attempt_id": attempt_id, "card_key": key, "question_id": question_id, "rating": rating,
                          "proposed": proposed, "scheduled": int(scheduled), "reviewed_at": now,
                          "due_before": due_before})


def _forget_reviews(db: Database, attempt_id: int, retention: float) -> None:
    """Drop an attempt's earlier reviews (it was graded again) and undo their effect on the cards."""
    keys = [r["card_key"] for r in db["reviews"].rows_where("attempt_id = ? AND scheduled = 1", [attempt_id])]
    db["reviews"].delete_where("attempt_id = ?", [attempt_id])
    for key in keys:
        _replay(db, key, retention)


def _replay(db: Database, key: str, retention: float) -> float:
    """Recompute a card from its counted reviews; returns its new due time."""
    row = db["cards"].get(key)
    counted = db["reviews"].rows_where("card_key = ? AND scheduled = 1", [key], order_by="reviewed_at, id")
    card = schedule.replay([(r["reviewed_at"], r["rating"]) for r in counted], row["created_at"], retention)
    due = schedule.due_at(card)
    db["cards"].update(key, {"card_json": json.dumps(card), "due": due})
    return due


def sync_reviews(db: Database) -> int:
    """Log reviews for graded attempts that have none (mock interviews, attempts from before reviews existed),
    in the order they were answered and as of their submission time; returns how many were logged."""
    rows = db.execute("SELECT id, submitted_at FROM attempts WHERE verdict IN ('correct', 'partial', 'incorrect') "
                      "AND grade_json != '' AND id NOT IN (SELECT attempt_id FROM reviews) "
                      "ORDER BY submitted_at, id").fetchall()
    for attempt_id, submitted_at in rows:
        record_review(db, attempt_id, now=submitted_at)
    return len(rows)
