"""The rubric's reading of an open answer (a follow-up, a probe, a design stage): no options to find, so only key
points, misconceptions and the flags that say an answer is not an answer. The instructions-to-the-grader rule is the
one scenario answers get."""
from __future__ import annotations

from app.core.model import Question
from app.core.policy import POLICY, GradingPolicy
from app.core.rubric import (
    RubricSignals,
    Similarity,
    flags_for,
    grader_sentences,
    point_matches,
    relevance_of,
)
from app.core.text import sentences


def is_open(question: Question) -> bool:
    """An item with no options is graded on its points alone."""
    return not question.options


def open_signals(question: Question, answer: str, similarity: Similarity | None = None,
                 policy: GradingPolicy = POLICY) -> RubricSignals:
    sents = sentences(answer)
    relevance = relevance_of(question, answer)
    address, addressed = grader_sentences(question, answer, similarity)
    flags = flags_for(question, answer, sents, relevance, addressed)
    points = point_matches(question.key_points, sents, similarity, policy.point_threshold)
    wrong = point_matches(question.misconceptions, sents, similarity, policy.misconception_threshold,
                          require_polarity=True)
    return RubricSignals({}, "none", 0.0, points, wrong, flags, relevance, address=address, addressed=addressed)
