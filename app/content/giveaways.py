"""Cues that give the answer away without reading the scenario: the right option is the longest, "both" is right,
the option that says "measure" is right. `content check` prints their shares and fails above the limits."""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.model import Option, Question

# A cue must be no better than a guess: the right option may be the longest in at most 40% of questions (chance
# is about 1 in 2.8 for our mix of 2-4 options), and a "both" or "measure it" option may be right at most half the
# time it is offered.
LONGEST_LIMIT = 0.40
BOTH_LIMIT = 0.50
MEASURE_LIMIT = 0.50

BOTH = re.compile(r"\bboth\b", re.I)
MEASURE = re.compile(r"\b(measur\w*|evaluat\w*|test\w*|benchmark\w*|a/b|metrics?|evals?)\b", re.I)


@dataclass
class Share:
    name: str
    hits: int
    total: int
    limit: float

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def over(self) -> bool:
        return self.value > self.limit


def is_both(option: Option) -> bool:
    return option.id == "both" or bool(BOTH.search(option.label))


def shares(questions: list[Question]) -> list[Share]:
    longest = Share("right option strictly the longest", 0, len(questions), LONGEST_LIMIT)
    both = Share("'both' right where offered", 0, 0, BOTH_LIMIT)
    measure = Share("a 'measure' option right where offered", 0, 0, MEASURE_LIMIT)
    for q in questions:
        right = q.option(q.correct)
        if right is None:
            continue
        others = [len(o.label) for o in q.options if o.id != q.correct]
        longest.hits += bool(others) and len(right.label) > max(others)
        for share, cue in ((both, is_both), (measure, lambda o: bool(MEASURE.search(o.label)))):
            if any(cue(o) for o in q.options):
                share.total += 1
                share.hits += cue(right)
    return [longest, both, measure]


def report(questions: list[Question]) -> str:
    return "giveaways: " + "; ".join(
        f"{s.name} {s.hits}/{s.total} ({s.value:.0%}, limit {s.limit:.0%})" for s in shares(questions))


def problems(questions: list[Question]) -> list[str]:
    return [f"giveaway: {s.name} in {s.hits} of {s.total} questions ({s.value:.0%}); the limit is {s.limit:.0%}"
            for s in shares(questions) if s.over]
