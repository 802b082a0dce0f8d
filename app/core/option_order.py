"""The order a question's options are shown in: shuffled per presentation, stored with the draft and the attempt,
so the letters a learner reads (and may write: "I'd go with B") are the letters the grader reads."""
from __future__ import annotations

import json
import random
from dataclasses import replace

from app.core.model import Question

LETTERS = "ABCDEFG"  # how options are lettered on screen, in reports and in the grader's prompt


def shuffled(question: Question, rng: random.Random | None = None) -> tuple[str, ...]:
    """A fresh random order of the question's option ids."""
    ids = [o.id for o in question.options]
    (rng or random).shuffle(ids)
    return tuple(ids)


def presented(question: Question, order) -> Question:
    """The question with its options in the stored order (a JSON list or a sequence of ids). Ids the question no
    longer has are dropped and options added since go last, so an old attempt still reads sensibly."""
    ids = parse(order)
    known = {o.id: o for o in question.options}
    shown = [known[i] for i in ids if i in known]
    shown += [o for o in question.options if o.id not in ids]
    return replace(question, options=tuple(shown))


def order_of(question: Question) -> tuple[str, ...]:
    return tuple(o.id for o in question.options)


def dumps(order) -> str:
    return json.dumps(list(order))


def parse(order) -> list[str]:
    """A stored order back as a list of ids; empty when nothing (or something unreadable) was stored."""
    if not order:
        return []
    if isinstance(order, str):
        try:
            order = json.loads(order)
        except ValueError:
            return []
    return [str(i) for i in order] if isinstance(order, (list, tuple)) else []
