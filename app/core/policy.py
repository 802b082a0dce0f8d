"""The grading policy in one place: the flags an answer can raise, every threshold the grader uses (with where its
value came from), how the rubric's reading and the model's are combined into one choice, and the verdict and score
rule the human labels follow. rubric.py finds the evidence and llm/grader.py asks the model; this module decides."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from app.core.model import PointResult, Question


class Flag(StrEnum):
    """Stored in grades as their plain string values."""
    INSTRUCTIONS = "instructions-to-grader"  # an address to the grader or a demand for marks
    EMPTY = "empty"
    TOO_SHORT = "too-short"
    KEYWORD_LIST = "keyword-list"           # keywords with no argument
    OFF_TOPIC = "off-topic"                 # little of the answer's vocabulary belongs to the question
    EVASIVE = "evasive"                     # "it depends" and no option, or every sentence hedged
    BOTH = "recommends-both"                # "do both", "X and Y together"


NO_ANSWER_FLAGS = (Flag.EMPTY, Flag.KEYWORD_LIST, Flag.OFF_TOPIC, Flag.EVASIVE)  # nothing recommended: choice none
BLOCKING_FLAGS = (Flag.INSTRUCTIONS, *NO_ANSWER_FLAGS)                         # incorrect, score 0


@dataclass(frozen=True)
class GradingPolicy:
    # key points and misconceptions: best answer sentence against a point's phrasings (word overlap or MiniLM
    # cosine). Set for key-point precision on the blind dev answers, where a point credited that was not made is the
    # commoner error: swept over the 1.5B dev grades, 0.42 / 0.44 / 0.46 gave precision 0.775 / 0.819 / 0.859, recall
    # 0.884 / 0.855 / 0.824, verdict 0.849 / 0.847 / 0.826. 0.44 is the lowest that reaches precision 0.80 and costs
    # one verdict (0.42 had won on the older template answers). Misconceptions need more, and the same polarity.
    point_threshold: float = 0.44
    # ...and more when the grade's choice is not the right option. Principle: an answer that chose a wrong option
    # argues for it, so a sentence of it that sits near a key point (a reason for the right option) makes that point
    # less often. On the blind dev split (1.5B grades), 0.44 / 0.46 / 0.48 for these answers gave key-point precision
    # 0.815 / 0.840 / 0.860 and F1 0.838 / 0.847 / 0.852; 0.46 is the value whose F1 did not fall on either half of the
    # questions with either grader (rubric only: 0.838 -> 0.838 and 0.839 -> 0.847). The verdict cannot change: a
    # wrong choice is incorrect whatever points it makes.
    wrong_choice_point_threshold: float = 0.46
    misconception_threshold: float = 0.62
    # a misconception the rubric found stated stands, with the model the point fit was made with, only when the model
    # reads the answer as claiming it by this logit margin over an empty answer (grader._checked_misconceptions). Dev
    # (1.5B, the 40 the rubric found): the 7 not labelled had margins -0.45..+0.92, 32 of the 33 labelled +1.01..+3.31
    misconception_margin: float = 1.0
    # off-topic: share of the answer's words in the question's vocabulary (dev split: off-topic median 0.21)
    off_topic_relevance: float = 0.28
    # a sentence that states a decision names the option closest in meaning, if it is this close and this clearly
    # closest (dev split: 7 options named, all right; off-topic answers stay below, best 0.45 with margin 0.10)
    stated_similarity: float = 0.40
    stated_margin: float = 0.20
    # a mention inside an aside ("I'd also ...", "longer term ...") weighs this much
    aside_weight: float = 0.4
    # where "both" is an option, two others argued for with at least this ratio of evidence mean both (dev: 7 / 0)
    both_balance: float = 0.6
    # the rubric and the model (two-fold cross-validation on dev, 1.5B model; the same setting won on both halves):
    # rubric evidence this one-sided settles the choice...
    lexical_sure: float = 0.6
    # ...unless the model is at least this sure of another option
    model_sure: float = 0.9
    # otherwise the model's pick wins from this probability
    model_min: float = 0.35
    # an answer flagged off-topic that states a decision takes the model's pick from this
    # (dev split: 3 padded answers right, no off-topic answer above 0.43 when it states a decision)
    model_off_topic: float = 0.5
    # open answers (follow-ups, probes, design stages): a point the rubric did not find counts as made when the
    # model's P(yes) to "does the answer make this point?" reaches open_point_yes and the rubric saw at least
    # open_point_floor of it. Not yet calibrated on labelled open answers: 0.90 is the 1.5B model's best threshold
    # for key-point checks on scenario answers (FACTS.md), and the floor keeps a model that says yes to every
    # generic point from crediting a point the answer shares no words or meaning with.
    open_point_yes: float = 0.9
    open_point_floor: float = 0.2
    # say when unsure: a key point whose confidence is in [unsure_point_low, unsure_point_high) is shown as
    # uncertain, with "I made this point / I didn't". Principle: uncertain where the labels say the grader's call
    # is right less than three times in four. Blind dev split, rubric evidence (1,490 point decisions): right
    # 0.84 at 0.35-0.40, 0.44 at 0.40-0.45, 0.51 at 0.45-0.50, 0.72 at 0.50-0.55, 0.83 at 0.55-0.60.
    unsure_point_low: float = 0.40
    unsure_point_high: float = 0.55
    # the choice likewise below this confidence (blind dev split, rubric only: right 0.51 at 0.5-0.6, 0.71 at
    # 0.6-0.7, 0.96 at 0.7-0.8; a choice of "none" at confidence 0 was wrong for 37 of 38 answers)
    unsure_choice_below: float = 0.70
    # with the fitted choice (choice_fit.py), the per-option checks are skipped when the names are this one-sided and
    # the letter call picks the same option: on dev the fit never chose otherwise there (77 of 329 answers; from 0.6,
    # 110 answers and one choice lost). With the opening term (330 rows) it would choose otherwise, and rightly, on
    # 1 of the 75 such answers: one choice against a check call on every answer
    agreed_skips_checks: float = 0.9


POLICY = GradingPolicy()


def clear_off_topic(flags: list[str], choice: str) -> None:
    """An answer that recommends an option is weighed, even if most of it wanders."""
    if choice != "none" and Flag.OFF_TOPIC in flags:
        flags.remove(Flag.OFF_TOPIC)


def rubric_settles(choice: str, confidence: float, policy: GradingPolicy = POLICY) -> bool:
    """The names in the answer point one way clearly enough to stand unless the model is very sure of another."""
    return choice != "none" and confidence >= policy.lexical_sure


def filler_stating_a_decision(flags: list[str], states_decision: bool) -> bool:
    """Off-topic (mostly filler) and no other no-answer flag, but a sentence states a decision ("padding")."""
    return [f for f in flags if f in NO_ANSWER_FLAGS] == [Flag.OFF_TOPIC] and states_decision


def flags_settle(flags: list[str], states_decision: bool) -> bool:
    """A flag decides the choice whatever the model reads: no answer (unless filler states a decision), or "both"."""
    no_answer = any(f in NO_ANSWER_FLAGS for f in flags)
    return (no_answer and not filler_stating_a_decision(flags, states_decision)) or Flag.BOTH in flags


def settled_without_model(choice: str, confidence: float, flags: list[str], states_decision: bool,
                          policy: GradingPolicy = POLICY) -> bool:
    """Whether the model's reading cannot change the choice under the fixed rule: a flag or a one-sided rubric
    reading settles it. Only otherwise are the per-option checks worth their time (dev split: every choice they
    changed was one). The fitted combiner (choice_fit.py) skips them only by flags_settle and names_and_letters_agree."""
    return flags_settle(flags, states_decision) or rubric_settles(choice, confidence, policy)


def names_and_letters_agree(choice: str, confidence: float, letters: dict[str, float],
                            policy: GradingPolicy = POLICY) -> bool:
    """The rubric's reading is one-sided and the model's letter call picks the same option: nothing left to weigh."""
    return choice != "none" and confidence >= policy.agreed_skips_checks and max(letters, key=letters.get) == choice


def checks_wanted(choice: str, confidence: float, flags: list[str], states_decision: bool, letters: dict[str, float],
                  fitted: bool, policy: GradingPolicy = POLICY) -> bool:
    """Whether the per-option checks can change the choice. With the fitted combiner (choice_fit.py): unless a flag
    settles it or the names and the letter call agree; under the fixed rule: unless the rubric settles it."""
    if fitted:
        return not flags_settle(flags, states_decision) and not names_and_letters_agree(choice, confidence, letters,
                                                                                         policy)
    return not settled_without_model(choice, confidence, flags, states_decision, policy)


def combine_choice(lexical: str, lexical_conf: float, model: dict[str, float] | None, flags: list[str],
                   states_decision: bool = False, policy: GradingPolicy = POLICY,
                   fitted: bool = False) -> tuple[str, float]:
    """One choice from the rubric's reading and the model's P(option): by fixed rules, or, when `model` is the fitted
    combiner's (choice_fit.py, which already weighs the rubric's evidence), its likeliest option."""
    no_answer = any(f in NO_ANSWER_FLAGS for f in flags)
    if model and filler_stating_a_decision(flags, states_decision):
        # mostly filler, but it states a decision the model reads with some certainty ("padding" answers)
        best = max(model, key=model.get)
        if best != "none" and model[best] >= policy.model_off_topic:
            return best, model[best]
    if no_answer:
        return "none", 0.9
    if Flag.BOTH in flags or not model:
        return lexical, lexical_conf
    best = max(model, key=model.get)
    if fitted:
        return best, model[best]
    if rubric_settles(lexical, lexical_conf, policy) and not (best != lexical and model[best] >= policy.model_sure):
        return lexical, max(lexical_conf, model.get(lexical, 0.0))
    if best != "none" and model[best] >= policy.model_min:
        return best, model[best]
    return lexical, lexical_conf


def points_for_choice(question: Question, choice: str, points: list[PointResult],
                      policy: GradingPolicy = POLICY) -> list[PointResult]:
    """The key points made, decided with the threshold that goes with the choice (point_threshold for the right
    option, wrong_choice_point_threshold otherwise) from each point's confidence."""
    threshold = policy.point_threshold if choice == question.correct else policy.wrong_choice_point_threshold
    return [replace(p, made=p.confidence >= threshold) for p in points]


def verdict_and_score(question: Question, choice: str, points: list[PointResult],
                      misconceptions: list[PointResult], flags: list[str]) -> tuple[str, int]:
    """The documented rule (README, 'How an answer is graded'); the model is never asked for a score."""
    made = sum(1 for p in points if p.made)
    share = made / max(len(points), 1)
    needed = math.ceil(len(points) / 2)
    if any(f in flags for f in BLOCKING_FLAGS):
        return "incorrect", 0
    if choice != question.correct:
        return "incorrect", round(10 + 20 * share)
    if any(m.made for m in misconceptions):
        return "partial", round(40 + 25 * share)
    if made >= needed:
        return "correct", round(70 + 30 * share)
    return "partial", round(40 + 25 * share)


OPEN_CORRECT_SHARE = 2 / 3
OPEN_MISCONCEPTION_PENALTY = 20


def open_verdict_and_score(points: list[PointResult], misconceptions: list[PointResult],
                           flags: list[str]) -> tuple[str, int]:
    """The rule for an open answer (README, 'How an answer is graded'): no options, so the key points decide.
    Correct: at least two thirds of the key points made and no misconception stated; partial: at least one point made;
    otherwise incorrect. Score: the share of points made, 0-100, minus 20 for each misconception stated."""
    if any(f in flags for f in (Flag.INSTRUCTIONS, Flag.EMPTY, Flag.KEYWORD_LIST, Flag.OFF_TOPIC)):
        return "incorrect", 0
    made = sum(1 for p in points if p.made)
    share = made / max(len(points), 1)
    wrong = sum(1 for m in misconceptions if m.made)
    score = max(0, round(100 * share) - OPEN_MISCONCEPTION_PENALTY * wrong)
    if share >= OPEN_CORRECT_SHARE - 1e-9 and not wrong:
        return "correct", score
    return ("partial" if made else "incorrect"), score
