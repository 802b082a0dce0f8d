"""The order a question's options are shown in: shuffled per presentation, stored with the draft and the attempt,
so the letters a learner reads (and may write: "I'd go with B") are the letters the grader reads."""
from __future__ import annotations

import hashlib
import json
import random
import re
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


def model_order(question: Question) -> Question:
    """The question with its options in a fixed order of its own, whatever order it arrives in: the order the
    grading model reads. The model favours some positions over others, so reading the learner's order would make the
    grade depend on the shuffle; a per-question order (hashed from the ids, so the right option's place is not
    tied to the file) makes it the same for every presentation."""
    def rank(option) -> str:
        return hashlib.sha1(f"{question.id}\x00{option.id}".encode()).hexdigest()
    return replace(question, options=tuple(sorted(question.options, key=rank)))


# A capital letter that names an option: after a word that introduces one ("option B", "I'd go with C", "pick (A)"),
# with the letters listed after it ("options A and C", "B, not A"), in parentheses, or opening the answer or a line
# ("B. Because ...", "C"). A capital "A" anywhere else is the article.
_LEADS = (r"options?|choices?|answers?|alternatives?|picks?|picking|picked|choose|choosing|chose|select|selecting|"
          r"selected|go(?:ing)?\s+with|went\s+with|vote\s+for|prefer|recommend(?:ing)?|favou?r")
_LETTER = r"\(?[A-G]\)?(?![\w/'’-])"
_JOINS = r"(?:\s*(?:,|;|/|&|(?i:and|or|over|not|but|vs\.?|versus|rather\s+than|instead\s+of)))+\s*"
_NAMED = re.compile(rf"(?i:\b(?:{_LEADS}))\s*:?\s*{_LETTER}(?:{_JOINS}{_LETTER})*")
_BRACKETED = re.compile(r"\(([A-G])\)")
_OPENING = re.compile(r"(?m)^\s*([A-G])(?=\s*(?:[.):,—–-]|$))")
_ANY_LETTER = re.compile(r"(?<![\w])[A-G](?![\w])")


def letter_spans(answer: str) -> list[int]:
    """Where the answer names an option by its letter (the letter's offset), each place once."""
    found = set()
    for match in _NAMED.finditer(answer):
        head = re.match(rf"(?i:{_LEADS})", match.group(0)).end()
        found.update(match.start() + m.start() for m in _ANY_LETTER.finditer(match.group(0), head))
    found.update(m.start(1) for m in _BRACKETED.finditer(answer))
    found.update(m.start(1) for m in _OPENING.finditer(answer))
    return sorted(found)


def relettered(answer: str, shown: Question, read: Question) -> str:
    """The answer with each letter that names an option of `shown` rewritten to that option's letter in `read`
    ("I'd go with B" stays the same choice when the model reads the options in another order). Letters past the
    options are left alone; so is every capital that does not name an option."""
    position = {o.id: i for i, o in enumerate(read.options)}
    mapping = {LETTERS[i]: LETTERS[position[o.id]] for i, o in enumerate(shown.options) if o.id in position}
    if all(k == v for k, v in mapping.items()):
        return answer
    chars = list(answer)
    for at in letter_spans(answer):
        chars[at] = mapping.get(chars[at], chars[at])
    return "".join(chars)
