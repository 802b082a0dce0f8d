"""Real attempts for the history, schedule, backup and progress tests: bank questions graded by the rubric-only grader."""
from __future__ import annotations

import json

from app.core.model import Question
from app.llm.grader import GradingTools, grade_answer
from app.storage import history
from app.storage.userdb import record_attempt, update_attempt

DAY = 86400.0
# Questions on which the answers below earn exactly the intended verdict from the rubric-only grader.
QUESTION_IDS = ("rag-001", "agents-001", "chunking-001", "embeddings-001", "quantization-002", "peft-002")


def answer_for(question: Question, verdict: str) -> str:
    """An answer written to earn this verdict: the right option with all, one or none of its key points."""
    right = question.option(question.correct)
    if verdict == "incorrect":
        wrong = next(o for o in question.options if o.id != question.correct)
        return f"I would go with {wrong.label}. It is simpler to run and I trust it more for this case."
    points = question.key_points if verdict == "correct" else question.key_points[:1]
    return f"I recommend {right.label}. " + " ".join(p.text for p in points)


def add_attempt(db, question: Question, verdict: str, submitted_at: float, answer_seconds: float = 120.0,
                mode: str = "practice", review: bool = True) -> int:
    """Record and grade an attempt the way the practice view does, then log its review at submission time."""
    answer = answer_for(question, verdict)
    attempt_id = record_attempt(db, {
        "question_id": question.id, "answer": answer, "choice": "", "verdict": "pending", "score": 0,
        "grade_json": "", "model": "rubric only", "mode": mode, "started_at": submitted_at - answer_seconds,
        "submitted_at": submitted_at, "answer_seconds": answer_seconds, "grade_seconds": 0.0})
    grade = grade_answer(question, answer, GradingTools())
    assert grade.verdict == verdict, f"{question.id}: the answer for {verdict} was graded {grade.verdict}"
    update_attempt(db, attempt_id, {"choice": grade.choice, "verdict": grade.verdict, "score": grade.score,
                                    "grade_json": json.dumps(grade.to_dict()), "model": grade.grader,
                                    "grade_seconds": grade.timings.get("total_s", 0.0)})
    if review:
        history.record_review(db, attempt_id, now=submitted_at)
    return attempt_id
