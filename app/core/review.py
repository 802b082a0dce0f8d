"""Review logic with no storage: the rating a grade proposes, effective verdicts, mastery, weak points."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from app.core import learner_calls
from app.core.model import Grade, Question

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
# A "fast strong" answer earns Easy: correct, scored 90 or more, and written in under three minutes.
EASY_SCORE = 90
EASY_SECONDS = 180.0
VERDICT_RATING = {"incorrect": AGAIN, "partial": HARD, "correct": GOOD}
VERDICT_VALUE = {"incorrect": 0.0, "partial": 0.5, "correct": 1.0}
RECENT = 5
MIN_REVIEWS = 3  # graded answers in a topic before its forgetting curve is trusted to lower its mastery
MIN_ANSWERS = 2  # below this a topic's mastery is "not enough data": one answer says little about a topic


def propose_rating(verdict: str, score: int, answer_seconds: float | None) -> int | None:
    """Again / Hard / Good from the verdict, Easy for a fast strong answer; None when not graded."""
    if verdict not in VERDICT_RATING:
        return None
    if verdict == "correct" and score >= EASY_SCORE and answer_seconds is not None and 0 < answer_seconds < EASY_SECONDS:
        return EASY
    return VERDICT_RATING[verdict]


def effective_verdict(attempt: dict) -> str:
    """The user's override when there is one, else the grader's verdict."""
    return attempt.get("override_verdict") or attempt["verdict"]


def recent_verdict_mastery(attempts: Iterable[dict], topic_of: dict[str, str]) -> dict[str, float]:
    """Per topic, the mean of the last RECENT effective verdicts per question (correct 1, partial 0.5)."""
    by_question: dict[str, list[float]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: a["submitted_at"] or 0):
        verdict = effective_verdict(attempt)
        if verdict in VERDICT_VALUE and attempt["question_id"] in topic_of:
            by_question[attempt["question_id"]].append(VERDICT_VALUE[verdict])
    by_topic: dict[str, list[float]] = defaultdict(list)
    for question_id, values in by_question.items():
        recent = values[-RECENT:]
        by_topic[topic_of[question_id]].append(sum(recent) / len(recent))
    return {topic: sum(v) / len(v) for topic, v in by_topic.items()}


def topic_mastery(retrievability: dict[str, float | None], attempts: list[dict],
                  topic_of: dict[str, str]) -> dict[str, tuple[float, str]]:
    """Per topic, with its source: "too few" answers to say; recent verdicts ("verdicts"); once the topic's questions have MIN_REVIEWS reviews,
    FSRS recall may lower that ("recall": forgetting since), never raise it. Recall alone said 100% for a topic
    whose every answer scored 0, because a card is 'recalled' right after it is reviewed, even after a failure."""
    verdicts = recent_verdict_mastery(attempts, topic_of)
    reviews: dict[str, int] = defaultdict(int)
    for attempt in attempts:
        if attempt["question_id"] in topic_of:
            reviews[topic_of[attempt["question_id"]]] += 1
    recall: dict[str, list[float]] = defaultdict(list)
    for question_id, value in retrievability.items():
        if value is not None and question_id in topic_of:
            recall[topic_of[question_id]].append(value)
    result = {}
    for topic, value in verdicts.items():
        if reviews[topic] < MIN_ANSWERS:
            result[topic] = (value, "too few")
        elif reviews[topic] >= MIN_REVIEWS and recall[topic]:
            result[topic] = (min(value, sum(recall[topic]) / len(recall[topic])), "recall")
        else:
            result[topic] = (value, "verdicts")
    return result


@dataclass
class WeakPoint:
    question_id: str
    point_id: str
    text: str
    missed: int
    seen: int
    section: str = ""

    @property
    def miss_rate(self) -> float:
        return self.missed / self.seen if self.seen else 0.0


def weakest_points(grades: Iterable[dict], limit: int = 10) -> list[WeakPoint]:
    """Key points missed most often across all graded answers (grade dicts), worst first."""
    points: dict[tuple[str, str], WeakPoint] = {}
    for grade in grades:
        for point in grade.get("key_points", []):
            key = (grade["question_id"], point["id"])
            item = points.setdefault(key, WeakPoint(grade["question_id"], point["id"], point["text"], 0, 0))
            item.seen += 1
            item.missed += 0 if point["made"] else 1
    missed = [p for p in points.values() if p.missed]
    return sorted(missed, key=lambda p: (-p.missed, -p.miss_rate, p.question_id, p.point_id))[:limit]


def section_for_point(question: Question | None, text: str, retrieve: Callable[..., tuple] | None = None) -> str:
    """The note section that best teaches a key point: retrieval within the question's notes, else its first note."""
    notes = list(question.notes) if question else []
    if retrieve is not None:
        hits, _ = retrieve(text, 1, [ref.split("#")[0] for ref in notes])
        if hits:
            return hits[0].section_id
    return notes[0] if notes else (question.topic if question else "")


def override_case(question: Question, attempt: dict, grade: dict) -> dict:
    """An overridden or called attempt as a labelled evaluation case (the README's case format; kind "override" when
    the learner overrode the verdict, else "learner-call").

    The learner's calls on unsure items replace the grader's reading of them; the verdict is theirs when they
    overrode it, else the documented rule's on the called reading. Partial and correct both require the right
    option, so those overrides label the choice as the correct one unless the learner said which option they meant."""
    calls = learner_calls.parse(attempt.get("learner_calls"))
    choice, points, rule_verdict, _ = learner_calls.with_calls(question, Grade.from_dict(grade), calls)
    verdict = attempt.get("override_verdict") or rule_verdict
    if attempt.get("override_verdict") in ("correct", "partial") and learner_calls.CHOICE not in calls:
        choice = question.correct
    case = {"question": question.to_dict(), "answer": attempt["answer"],
            "label": {"choice": choice, "verdict": verdict, "key_points": [p.id for p in points if p.made]},
            "kind": "override" if attempt.get("override_verdict") else "learner-call", "attempt_id": attempt["id"],
            "grader": {"verdict": attempt["verdict"], "score": attempt["score"], "model": attempt.get("model", "")}}
    if calls:
        case["learner_calls"] = calls
    return case
