"""Choosing an interview's questions: the difficulty mix, the topic filter, and weights from past scores."""
from __future__ import annotations

import random
from typing import Iterable

from app.core import option_order
from app.core.interview import InterviewError, InterviewSettings, Slot
from app.core.model import DIFFICULTIES, Question

RECENT = 5              # how many of a topic's latest scores count
UNTRIED_SCORE = 50.0    # a topic with no history weighs like a middling one
SEEN_FACTOR = 0.3       # a question answered before is less likely to come back
REPEAT_FACTOR = 0.25    # each use of a topic in this interview makes it less likely again


def topic_weights(history: Iterable[tuple[str, float]], topics: Iterable[str]) -> dict[str, float]:
    """history: (topic, score) oldest first. Weight 1 (recent scores all 100) to 3 (all 0)."""
    recent: dict[str, list[float]] = {}
    for topic, score in history:
        recent.setdefault(topic, []).append(float(score))
    weights = {}
    for topic in topics:
        scores = recent.get(topic, [])[-RECENT:]
        mean = sum(scores) / len(scores) if scores else UNTRIED_SCORE
        weights[topic] = 1.0 + 2.0 * (100.0 - max(0.0, min(100.0, mean))) / 100.0
    return weights


def apportion(count: int, mix: dict[str, int]) -> list[str]:
    """count difficulty levels in proportion to mix (largest remainder), easiest first."""
    total = sum(mix.get(d, 0) for d in DIFFICULTIES)
    shares = {d: count * mix.get(d, 0) / total for d in DIFFICULTIES}
    counts = {d: int(shares[d]) for d in DIFFICULTIES}
    by_remainder = sorted(DIFFICULTIES, key=lambda d: (-(shares[d] - counts[d]), -mix.get(d, 0)))
    for d in by_remainder[: count - sum(counts.values())]:
        counts[d] += 1
    return [d for d in DIFFICULTIES for _ in range(counts[d])]


def plan_questions(questions: list[Question], settings: InterviewSettings, weights: dict[str, float] | None = None,
                   seen: set[str] | frozenset = frozenset(), rng: random.Random | None = None) -> list[Slot]:
    """Pick settings.count distinct questions; weights (by topic) apply only when settings.weak_topics is on."""
    settings.validate()
    rng = rng or random.Random()
    pool = [q for q in questions if not settings.topics or q.topic in settings.topics]
    if len(pool) < settings.count:
        raise InterviewError(f"only {len(pool)} question(s) match the chosen topics; "
                             f"the interview needs {settings.count}")
    chosen: list[Question] = []
    used_topics: dict[str, int] = {}
    for level in apportion(settings.count, settings.difficulty_mix):
        left = [q for q in pool if q not in chosen]
        candidates = [q for q in left if q.difficulty == level] or left

        def weight(q: Question) -> float:
            base = (weights or {}).get(q.topic, 1.0) if settings.weak_topics else 1.0
            return base * (SEEN_FACTOR if q.id in seen else 1.0) * REPEAT_FACTOR ** used_topics.get(q.topic, 0)

        pick = rng.choices(candidates, [weight(q) for q in candidates])[0]
        chosen.append(pick)
        used_topics[pick.topic] = used_topics.get(pick.topic, 0) + 1
    return [Slot(q.id, q.topic, q.difficulty, order=option_order.shuffled(q, rng)) for q in chosen]
