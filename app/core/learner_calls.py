"""Where the grader is unsure, the learner says what they meant: "I made this point / I didn't", "I meant this
option". Their calls are kept beside the grader's grade (never over it), shown with what the rule would give with
them, and exported by export-overrides as labels."""
from __future__ import annotations

import json

from app.core.model import Grade, PointResult, Question
from app.core.policy import (BLOCKING_FLAGS, POLICY, GradingPolicy, open_verdict_and_score, points_for_choice,
                             verdict_and_score)

CHOICE = "choice"   # the call's key for the option the learner meant; every other key is a key point's id
MADE, MISSED = "made", "missed"


def unsure_points(grade: Grade, policy: GradingPolicy = POLICY) -> list[PointResult]:
    """The key points whose confidence falls in the uncertain band."""
    if any(f in grade.flags for f in BLOCKING_FLAGS):
        return []
    return [p for p in grade.key_points if policy.unsure_point_low <= p.confidence < policy.unsure_point_high]


def choice_unsure(question: Question, grade: Grade, policy: GradingPolicy = POLICY) -> bool:
    """Whether the grader is unsure which option the learner chose (an open answer has none to choose)."""
    if not question.options or any(f in grade.flags for f in BLOCKING_FLAGS):
        return False
    return grade.choice_confidence < policy.unsure_choice_below


def parse(stored) -> dict[str, str]:
    """Calls as stored (JSON text or a dict); empty when none or unreadable."""
    if not stored:
        return {}
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            return {}
    return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}


def check(question: Question, grade: Grade, item: str, value: str | None) -> None:
    """A call must name something the grade has: a ValueError says what was wrong."""
    if item == CHOICE:
        ids = {o.id for o in question.options} | {"none"}
        if value is not None and value not in ids:
            raise ValueError(f"the option {value!r} is not one of {sorted(ids)}")
        return
    if item not in {p.id for p in grade.key_points}:
        raise ValueError(f"{item!r} is not a key point of this grade")
    if value not in (MADE, MISSED, None):
        raise ValueError(f"a key point is called {MADE!r} or {MISSED!r}, not {value!r}")


def with_calls(question: Question, grade: Grade, calls: dict[str, str]) -> tuple[str, list[PointResult], str, int]:
    """The choice, key points, verdict and score the documented rule gives once the learner's calls replace the
    grader's reading where they were made."""
    choice = calls.get(CHOICE, grade.choice)
    decided = points_for_choice(question, choice, grade.key_points) if question.options else grade.key_points
    points = [PointResult(p.id, p.text, calls[p.id] == MADE, p.confidence, p.span) if p.id in calls else p
              for p in decided]
    if not question.options:  # an open answer: no choice, its own rule
        verdict, score = open_verdict_and_score(points, grade.misconceptions, list(grade.flags))
    else:
        verdict, score = verdict_and_score(question, choice, points, grade.misconceptions, list(grade.flags))
    return choice, points, verdict, score
