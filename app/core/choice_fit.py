"""The choice, when the model the fit was made with is loaded: the rubric's evidence and the model's two readings
combined by a conditional logit fitted on the dev split of the blind answers (`python -m app.fit_choice`; weights,
command and data in choice_fit.json). Each option scores

    w_share * (its share of the rubric's positive evidence) + w_letter * log P(its letter)
    + w_check * logit P(yes to "does the candidate finally recommend it?")
    + w_meaning * (how close the answer's nearest sentence is to its wording, less the options' mean)
    + w_stance * (whether the sentences naming it argue for it or against it, stance.py)
    + w_opening * (how close the answer's first sentence is to its wording, less the options' mean)
    + w_empty_letter * log P(its letter | an empty answer) + w_empty_check * logit P(yes | an empty answer)
    + w_closing * (how close the last sentence that names no option is to its wording, less the options' mean)
    + w_lead * (1 when the answer opens on a bare name of it, "INT4, since ...": rubric.LEAD)

and "no clear recommendation" its bias plus the same terms read from the letter 'none' and P(no) to the likeliest
option (its meaning, opening, closing and lead terms are 0). The softmax of the scores is the choice's probability. It
replaces fixed thresholds that let a one-sided rubric reading overrule the model: on dev, letters agreed with a right
rubric reading only half the time, so only the per-option checks, asked of every answer, can overturn the rubric where
it is wrong.
The meaning term reaches answers that describe their choice without naming it ("Send the manual", "stay hosted");
the stance term, answers that name an option only to give a reason against it; the opening term, answers that put
their decision first ("Re-embed everything.", "Up-front router.") and then argue about the options they reject; the
closing term, answers that turn the named options down and end on their own pick in other words ("Send the manual.").
The two empty terms are the model's readings of an empty answer to the same question (contextual calibration): the
1.5B model favours some letters and says yes to some options whatever the answer (on dev its letters picked the
first option for 189 of 330 answers, the third for 18, where the writers chose them 117 and 91 times), and the fit
learns to subtract what it says when there is nothing to read (both weights come out negative)."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

FIT_FILE = Path(__file__).with_name("choice_fit.json")
FEATURES = ("ev_share", "log_letter", "check", "meaning", "stance", "opening", "empty_letter", "empty_check",
            "closing", "lead")
NONE = "none"


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def option_features(evidence: dict[str, float], letters: dict[str, float], checks: dict[str, float],
                    closeness: dict[str, float], stance: dict[str, float],
                    opening: dict[str, float] | None = None, empty: dict | None = None,
                    closing: dict[str, float] | None = None, lead: str | None = None) -> dict[str, list[float]]:
    """Per option (and 'none'): the values of FEATURES. Without embeddings the meaning, stance, opening and closing
    terms are 0; without the empty reading ({"letters": ..., "checks": ...}), the empty terms."""
    positive = {o: max(evidence.get(o, 0.0), 0.0) for o in checks}
    total = sum(positive.values())
    rows = {o: [positive[o] / total if total else 0.0, math.log(letters[o] + 1e-6), logit(checks[o]),
                _relative(closeness, o, checks), stance.get(o, 0.0), _relative(opening or {}, o, checks),
                *_empty_terms(empty, o), _relative(closing or {}, o, checks), 1.0 if o == lead else 0.0]
            for o in checks}
    rows[NONE] = [0.0, math.log(letters[NONE] + 1e-6), logit(1.0 - max(checks.values())), 0.0, 0.0, 0.0,
                  *_empty_terms(empty, NONE), 0.0, 0.0]
    return rows


def _empty_terms(empty: dict | None, option: str) -> list[float]:
    """log P(letter) and logit P(yes) for an empty answer; for 'none', its letter and P(no) to the likeliest option."""
    if not empty:
        return [0.0, 0.0]
    checks = empty["checks"]
    check = 1.0 - max(checks.values()) if option == NONE else checks.get(option, 0.5)
    return [math.log(empty["letters"].get(option, 0.0) + 1e-6), logit(check)]


def _relative(closeness: dict[str, float], option: str, options) -> float:
    """The option's closeness less the mean over the options (0 without closeness)."""
    if not closeness:
        return 0.0
    mean = sum(closeness.get(o, 0.0) for o in options) / len(options)
    return closeness.get(option, mean) - mean


def probabilities(rows: dict[str, list[float]], weights: dict[str, float]) -> dict[str, float]:
    scores = {o: sum(weights[f] * v for f, v in zip(FEATURES, x)) + (weights[NONE] if o == NONE else 0.0)
              for o, x in rows.items()}
    top = max(scores.values())
    exp = {o: math.exp(s - top) for o, s in scores.items()}
    total = sum(exp.values())
    return {o: e / total for o, e in exp.items()}


@lru_cache(maxsize=1)
def fitted() -> dict:
    return json.loads(FIT_FILE.read_text(encoding="utf-8"))


def fitted_with(model_name: str) -> bool:
    """Whether the fit was made with this chat model (another model's probabilities sit on another scale)."""
    return fitted().get("model_file") == model_name


def fitted_choice(evidence: dict[str, float], letters: dict[str, float], checks: dict[str, float],
                  closeness: dict[str, float], stance: dict[str, float],
                  opening: dict[str, float] | None = None, empty: dict | None = None,
                  closing: dict[str, float] | None = None, lead: str | None = None) -> dict[str, float]:
    return probabilities(option_features(evidence, letters, checks, closeness, stance, opening, empty, closing, lead),
                         fitted()["weights"])


def stance_model() -> dict:
    """The fitted stance regression ({"weights": [...], "bias": b, ...}; stance.py)."""
    return fitted()["stance"]
