"""Figures for the progress dashboard and the history filters, computed from plain attempt rows."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.core.model import Question
from app.core.review import effective_verdict

GRADED = ("correct", "partial", "incorrect")


def local_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp).date()


def graded(attempts: list[dict]) -> list[dict]:
    return [a for a in attempts if a["verdict"] in GRADED]


def attempts_per_day(attempts: list[dict]) -> list[tuple[date, int]]:
    counts = Counter(local_day(a["submitted_at"]) for a in graded(attempts))
    return sorted(counts.items())


def score_per_answer(attempts: list[dict], last: int = 30, window: int = 5) -> list[tuple[float, float]]:
    """(score, running mean of the last `window` scores) for each of the latest `last` graded answers, oldest first:
    a trend a learner can see from the second answer on, where a mean per day is one dot for weeks."""
    scores = [effective_score(a) for a in sorted(graded(attempts), key=lambda a: a["submitted_at"] or 0)]
    means = [sum(scores[max(0, i - window + 1):i + 1]) / len(scores[max(0, i - window + 1):i + 1])
             for i in range(len(scores))]
    return list(zip(scores, means))[-last:]


def effective_score(attempt: dict) -> float:
    """The grader's score, clamped into the band of the overriding verdict when the user disagreed."""
    verdict, score = effective_verdict(attempt), float(attempt["score"] or 0)
    if verdict == attempt["verdict"]:
        return score
    low, high = {"incorrect": (0, 39), "partial": (40, 69), "correct": (70, 100)}[verdict]
    return float(min(max(score, low), high))


def verdict_counts(attempts: list[dict]) -> dict[str, int]:
    counts = Counter(effective_verdict(a) for a in graded(attempts))
    return {v: counts.get(v, 0) for v in GRADED}


def due_forecast(due_times: list[float], today: date, days: int = 14) -> list[tuple[date, int]]:
    """Reviews due on each of the coming days; anything overdue counts today."""
    counts = Counter(max(local_day(t), today) for t in due_times)
    return [(today + timedelta(d), counts.get(today + timedelta(d), 0)) for d in range(days)]


@dataclass
class HistoryFilter:
    topic: str = ""
    verdict: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    mode: str = ""


def filter_attempts(attempts: list[dict], questions: dict[str, Question], wanted: HistoryFilter) -> list[dict]:
    """Attempts matching every set field, newest first; text matches the answer, question or explanation."""
    needle = wanted.text.strip().lower()
    result = []
    for attempt in attempts:
        question = questions.get(attempt["question_id"])
        day = local_day(attempt["submitted_at"] or 0)
        if wanted.topic and (question is None or question.topic != wanted.topic):
            continue
        if wanted.verdict and effective_verdict(attempt) != wanted.verdict:
            continue
        if (wanted.since and day < wanted.since) or (wanted.until and day > wanted.until):
            continue
        if wanted.mode and attempt.get("mode") != wanted.mode:
            continue
        if needle and needle not in _haystack(attempt, question):
            continue
        result.append(attempt)
    return sorted(result, key=lambda a: (a["submitted_at"] or 0, a["id"]), reverse=True)


def _haystack(attempt: dict, question: Question | None) -> str:
    explanation = json.loads(attempt["grade_json"]).get("explanation", "") if attempt.get("grade_json") else ""
    parts = [attempt["answer"] or "", attempt["question_id"], explanation]
    if question:
        parts.append(question.prompt)
    return "\n".join(parts).lower()


STAGE_WORDS = {"requirements": "requirements", "architecture": "architecture", "data": "data and retrieval",
               "evaluation": "evaluation", "risks": "failure modes and cost"}


def stage_strengths(attempts: list[dict]) -> list[tuple[str, int, int]]:
    """(stage id, mean score, answers) over graded design-round stages (ids '<round>:<stage>'), weakest first."""
    scores: dict[str, list[int]] = {}
    for attempt in graded(attempts):
        round_id, sep, stage = str(attempt["question_id"]).partition(":")
        if sep and round_id.startswith("design-"):
            scores.setdefault(stage, []).append(int(attempt["score"] or 0))
    means = [(stage, round(sum(s) / len(s)), len(s)) for stage, s in scores.items()]
    return sorted(means, key=lambda item: (item[1], item[0]))


def stage_sentence(strengths: list[tuple[str, int, int]]) -> str:
    """'evaluation is your weakest stage (34/100 over 2 answers); requirements your strongest (71/100).'"""
    if len(strengths) < 2:
        return ""
    (weak, weak_score, weak_n), (strong, strong_score, _) = strengths[0], strengths[-1]
    if weak_score == strong_score:
        return f"Your design-round stages score alike ({weak_score}/100)."
    return (f"{STAGE_WORDS.get(weak, weak).capitalize()} is your weakest stage ({weak_score}/100 over {weak_n} "
            f"answer{'s' if weak_n != 1 else ''}); {STAGE_WORDS.get(strong, strong)} your strongest "
            f"({strong_score}/100).")
