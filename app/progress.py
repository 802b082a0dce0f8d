"""Gathers the dashboard's figures from the user database and the bank; no Qt here."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as day_time, timedelta
from typing import Callable


from app.core import schedule, stats
from app.core.model import Question
from app.core.review import WeakPoint, section_for_point, topic_mastery, weakest_points
from app.storage import history


@dataclass
class Progress:
    attempts: int
    verdicts: dict[str, int]
    mastery: dict[str, tuple[float, str]]          # topic -> (0..1, "recall" or "verdicts")
    score_trend: list[tuple[float, float]]  # (score, running mean) per graded answer
    per_day: list[tuple[date, int]]
    due_forecast: list[tuple[date, int]]
    due_today: list[Question] = field(default_factory=list)
    weak_points: list[WeakPoint] = field(default_factory=list)
    retention: float = schedule.DEFAULT_RETENTION
    stages: list[tuple[str, int, int]] = field(default_factory=list)  # design-round stages, weakest first


def end_of_today(now: float) -> float:
    today = datetime.fromtimestamp(now).date()
    return datetime.combine(today + timedelta(days=1), day_time()).timestamp() - 0.001


def due_today(db, questions: dict[str, Question], now: float | None = None) -> list[Question]:
    """The review queue: questions whose card is due by the end of today, most overdue first."""
    until = end_of_today(time.time() if now is None else now)
    return [questions[c["question_id"]] for c in history.due_cards(db, until) if c["question_id"] in questions]


def gather(db, questions: dict[str, Question], retrieve: Callable | None = None,
           now: float | None = None) -> Progress:
    now = time.time() if now is None else now
    attempts = stats.graded(history.all_attempts(db))
    retention = history.desired_retention(db)
    cards = history.cards(db)
    recall = {c["question_id"]: schedule.retrievability(json.loads(c["card_json"]), now, retention) for c in cards}
    topic_of = {qid: q.topic for qid, q in questions.items()}
    grades = [json.loads(a["grade_json"]) for a in attempts if a["grade_json"]]
    weak = weakest_points(grades)
    for point in weak:
        point.section = section_for_point(questions.get(point.question_id), point.text, retrieve)
    return Progress(
        attempts=len(attempts), verdicts=stats.verdict_counts(attempts),
        mastery=topic_mastery(recall, attempts, topic_of), score_trend=stats.score_per_answer(attempts),
        per_day=stats.attempts_per_day(attempts),
        due_forecast=stats.due_forecast([c["due"] for c in cards], datetime.fromtimestamp(now).date()),
        due_today=due_today(db, questions, now), weak_points=weak, retention=retention,
        stages=stats.stage_strengths(attempts))
