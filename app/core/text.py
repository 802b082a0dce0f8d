"""Small text tools for grading: sentences with offsets, content words, a light stemmer, negation."""
from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOPWORDS = frozenset("""a an the and or but if then so of to in on for is are was were be been being it its this
that these those with as at by from into about than i we you they he she me us them my our your their would should
could will can do does did done have has had not no yes just very really also too more most some any all each which
what who whom how why when where there here out up down over under again further once only own same such both
either neither nor per via vs versus i'd i'm we'd let's it's that's get go going want use using used make""".split())
# The grader's one negation vocabulary: a word here (or any "n't" contraction) negates what follows it, both for an
# option's mention (rubric.py) and for a sentence's polarity against a misconception.
NEGATIONS = frozenset("""not no never dont doesnt isnt wouldnt shouldnt wont cant cannot avoid avoiding skip skipping
against instead rather without nor neither reject rejecting""".split())
STRONG_NEGATIONS = frozenset({"not", "never"})  # negate an option from inside the words that name it


# Chat-template control tokens typed into an answer (<|im_end|>, <|start_header_id|>, <s>, [INST]): text, never
# structure. They are blanked before grading, offsets kept, so the model cannot read them as the end of the answer.
CONTROL_TOKEN = re.compile(r"<\|[^<>|\n]{0,40}\|>|</?s>|\[/?INST\]|<<\s*/?SYS\s*>>|<start_of_turn>|<end_of_turn>")


def without_control_tokens(text: str) -> str:
    return CONTROL_TOKEN.sub(lambda m: " " * len(m.group(0)), text)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


SENTENCE = r"(?:[^.!?;\n]|[.!?](?=\w))+(?:[.!?;]+|$)"


def sentences(text: str) -> list[Sentence]:
    """Split on sentence ends, line breaks, bullets and semicolons, keeping character offsets. A full stop, "?" or
    "!" followed by a letter or digit is inside a sentence ("0.8", "3.5x", "U.S."), not the end of one."""
    out = []
    for match in re.finditer(SENTENCE, text, flags=re.M):
        chunk = match.group(0)
        stripped = chunk.strip(" \t-*•>").strip()
        if len(WORD.findall(stripped.lower())) >= 1:
            start = match.start() + chunk.find(stripped[:1]) if stripped else match.start()
            out.append(Sentence(start, start + len(stripped), stripped))
    return out


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("’", "'").replace("-", " "))


def stem(word: str) -> str:
    for suffix in ("ization", "isation", "ations", "ation", "ings", "ing", "ness", "ments", "ment", "ies", "ied",
                   "ers", "er", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def positioned_stems(text: str) -> list[tuple[str, int]]:
    """(stem, character offset) of every content word, in order."""
    lowered = text.lower().replace("’", "'").replace("-", " ")
    return [(stem(m.group(0)), m.start()) for m in WORD.finditer(lowered)
            if m.group(0) not in STOPWORDS and len(m.group(0)) > 1]


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def is_negated(text: str) -> bool:
    return any(is_negation(w) for w in words(text))


def containment(needle: list[str], hay: set[str]) -> float:
    """Share of the needle's content stems that occur in hay."""
    if not needle:
        return 0.0
    return sum(1 for w in needle if w in hay) / len(needle)
