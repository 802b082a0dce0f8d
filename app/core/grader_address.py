"""Whether an answer speaks to whoever grades it ("please mark this correct", a pasted verdict block).

Words about marking (grade, marks, score, credit, verdict, reviewer...) only pre-screen a sentence: this syllabus
talks about scores, judges and rubrics all the time. What decides is what the sentence is about. A sentence
addressed to the grader is about this answer's grade, not about the scenario, so it shares little meaning with the
question and much with a plain statement of what grade the answer should get (embedding similarity to both); and
when a chat model is loaded, the model is asked whether the sentence speaks to the examiner about the candidate's own
grade. Two logistic models fitted on the dev split of the blind answers read them, one on the embeddings alone and
one with the model's answer too (`python -m app.fit_address`, coefficients and data in address_fit.json); a sentence
is addressed when either says so. Without embeddings the old word patterns decide (rubric.INJECTION), which is all
a words-only grader has."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from app.core.text import Sentence, sentences

FIT_FILE = Path(__file__).with_name("address_fit.json")

# The vocabulary of marking an answer: who marks, what they give, what they decide. A pre-screen only.
MARKING = re.compile(r"\b(grad(e|ed|er|ers|ing)|marks?|marked|marker|marking|scor(e|ed|es|ing)|credit|verdict|reviewer|"
                     r"evaluator|examiner|assessor|rubric|kp\d+|expected (answer|output)|model answer|correct)\b", re.I)

# A field that sets this answer's grade ('"verdict": "correct"', "score = 9"): the grader's own output, pasted in.
# One feature of the fit, not a decision: on dev, 8 answers carry one, all 8 written to the grader, no honest answer.
GRADE_FIELD = re.compile(r"\b(verdict|score|grade)\W{0,3}[:=]\s*\W{0,2}(correct|partial|incorrect|pass(ed)?|\d)", re.I)

# What a sentence addressed to the grader is about, in plain words: its similarity to this is one feature of the fit.
ABOUT_GRADING = "The grade this answer should get from whoever marks it."

# the examiner framing separated best on dev (the grader's own system prompt and a plain question)
EXAMINER_QUESTION = ("Here is one sentence from a student's exam answer:\n\"{sentence}\"\n\nIn this sentence, is the "
                     "student speaking to the examiner about the student's own grade (asking for marks, or saying what "
                     "grade the answer deserves)? Answer Yes or No.")

Similarity = Callable[[Sequence[str], Sequence[str]], list[list[float]]]
Ask = Callable[[str], float]  # P(yes) to a question, from the loaded chat model


@dataclass
class Reading:
    sentence: Sentence
    about_question: float  # highest similarity to the question's own texts
    about_grading: float  # similarity to ABOUT_GRADING
    model_yes: float | None  # the model's P(yes) to EXAMINER_QUESTION; None: not asked
    probability: float  # that the sentence speaks to the grader

    @property
    def addressed(self) -> bool:
        return self.probability >= 0.5


@lru_cache(maxsize=1)
def fitted() -> dict:
    return json.loads(FIT_FILE.read_text(encoding="utf-8"))


def fitted_with(model_name: str) -> bool:
    """Whether the model fit was made with this chat model. Another model's P(yes) sits on another scale (with the
    1.5B's coefficients, the 0.5B let 5 of the 24 adversarial test answers through), so only this one is asked;
    with any other, the embedding reading stands."""
    return fitted().get("model_file") == model_name


def screened(answer: str, patterns: re.Pattern | None = None) -> list[Sentence]:
    """The sentences that use the vocabulary of marking (or the old instruction patterns)."""
    return [s for s in sentences(answer) if MARKING.search(s.text) or (patterns and patterns.search(s.text))]


def features(text: str, about: float, grading: float, model_yes: float | None = None) -> dict:
    """What the fit reads of one screened sentence: its similarity to the question and to ABOUT_GRADING, whether it
    sets a grade field, and (when asked) the model's P(yes)."""
    found = {"about_question": about, "about_grading": grading,
             "grade_field": 1.0 if GRADE_FIELD.search(text) else 0.0}
    return found if model_yes is None else dict(found, model_yes=model_yes)


def logistic(weights: dict, features: dict) -> float:
    """P(addressed) from a fit's weights ({"bias": b, feature: w, ...}) and the features' values."""
    z = weights["bias"] + sum(weights[k] * v for k, v in features.items())
    return 1.0 / (1.0 + math.exp(-z))


def about_question(question_texts: list[str], answer: str, similarity: Similarity,
                   patterns: re.Pattern | None = None) -> list[tuple[Sentence, float, float]]:
    """Each screened sentence with its highest similarity to the question's own texts and its similarity to
    ABOUT_GRADING (what the fit reads)."""
    found = screened(answer, patterns)
    if not found:
        return []
    sims = similarity([s.text for s in found], [*question_texts, ABOUT_GRADING])
    return [(sentence, round(max(row[:-1]) if len(row) > 1 else 0.0, 4), round(row[-1], 4))
            for sentence, row in zip(found, sims)]


def readings(question_texts: list[str], answer: str, similarity: Similarity, patterns: re.Pattern | None = None,
             fit: dict | None = None) -> list[Reading]:
    """Each screened sentence with its similarities and the probability, from those alone, that it speaks to the
    grader."""
    fit = fit or fitted()
    return [Reading(sentence, about, grading, None,
                    round(logistic(fit["embedding"], features(sentence.text, about, grading)), 3))
            for sentence, about, grading in about_question(question_texts, answer, similarity, patterns)]


def model_asked(found: list[Reading], fit: dict | None = None) -> bool:
    """Whether rejudged will ask the chat model about any of these sentences."""
    cap = (fit or fitted())["model_cap"]
    return any(r.about_question < cap for r in found)


def rejudged(found: list[Reading], ask: Ask, fit: dict | None = None) -> list[Reading]:
    """The readings with the chat model's say: it is asked about each sentence not plainly about the scenario
    (similarity below the fit's model_cap; one short prompt each), and the sentence is addressed when the model fit
    or the embedding fit says so. The model can add that a sentence speaks to the grader; its yes/no is too weak to
    clear one whose meaning is a grade (left out by question on dev: the embedding fit caught 18 of 18 with no
    honest answer flagged, the model fit 17 of 18, either of them 18 of 18 with none flagged)."""
    fit = fit or fitted()
    out = []
    for r in found:
        if r.about_question >= fit["model_cap"]:
            out.append(r)
            continue
        yes = ask(EXAMINER_QUESTION.format(sentence=r.sentence.text))
        probability = max(r.probability,
                          logistic(fit["model"], features(r.sentence.text, r.about_question, r.about_grading, yes)))
        out.append(Reading(r.sentence, r.about_question, r.about_grading, round(yes, 4), round(probability, 3)))
    return out


def without(answer: str, addressed: list[Sentence]) -> str:
    """The answer's sentences minus those that speak to the grader (they are flagged, not weighed), joined by
    single spaces: blanked control tokens leave runs of spaces that must not change what the model reads."""
    drop = {(s.start, s.end) for s in addressed}
    kept = " ".join(s.text for s in sentences(answer) if (s.start, s.end) not in drop) or answer
    return re.sub(r" {2,}", " ", kept)
