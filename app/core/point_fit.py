"""Key points checked by the model, when the model the fit was made with is loaded and the grade's choice is the
right option (only then do the points decide the verdict). For a point whose rubric confidence sits in BAND, the
model is asked "does the candidate's answer itself make this point?" (one short suffix after the evaluated answer)
and the fit gives

    P(made) = sigmoid(w_rubric * z(rubric confidence) + w_yes * z(logit P(yes))
                      + w_empty * z(logit P(yes | an empty answer)) + bias)

with z the standardisation of the fit's rows. P(made) becomes the point's confidence, and the point is made from the
same threshold as a rubric confidence (policy.point_threshold), so the learner's calls and the unsure band read it
alike. The weights were fitted on the dev split of the blind answers whose writers chose the right option
(`python -m app.fit_points`; weights, command and rows in point_fit.json). The empty reading is the same contextual
calibration as the choice's (choice_fit.py): the 1.5B model says yes to some points whatever the answer, and the fit
learns to subtract it. Outside BAND the rubric's reading stands: there it was right
for most points and the checks would cost time for little."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from app.core.choice_fit import logit

FIT_FILE = Path(__file__).with_name("point_fit.json")
FEATURES = ("rubric", "yes", "empty")
BAND = (0.2, 0.7)


def features(rubric: float, yes: float, empty: float) -> list[float]:
    return [rubric, logit(yes), logit(empty)]


@lru_cache(maxsize=1)
def fitted() -> dict | None:
    if not FIT_FILE.exists():
        return None
    return json.loads(FIT_FILE.read_text(encoding="utf-8"))


def fitted_with(model_name: str) -> bool:
    """Whether the point fit applies: it was made with this model's file (another model's P(yes) is on another
    scale)."""
    found = fitted()
    return bool(found) and found.get("model_file") == model_name


def in_band(confidence: float) -> bool:
    return BAND[0] <= confidence < BAND[1]


def probability(values: list[float], model: dict | None = None) -> float:
    """P(the point is made) from features() values, under the stored fit (or the one given)."""
    model = model or fitted()
    score = model["bias"] + sum(w * (v - m) / s for w, v, m, s in
                                zip(model["weights"], values, model["mean"], model["scale"]))
    return 1.0 / (1.0 + math.exp(-score))


def decide(confidences: list[float], threshold: float, ask, model: dict | None = None) -> dict[int, float]:
    """P(made) for the points the model is asked about: those in BAND, the likeliest first, only while the verdict
    still depends on them (until the points made reach half of them, or can no longer). ask(index) -> (P(yes),
    P(yes | empty answer)). A point is made when its confidence, the rubric's or P(made), reaches threshold."""
    needed = math.ceil(len(confidences) / 2)
    band = sorted((i for i, c in enumerate(confidences) if in_band(c)), key=lambda i: -confidences[i])
    made = sum(1 for i, c in enumerate(confidences) if i not in band and c >= threshold)
    left, found = len(band), {}
    for index in band:
        if made >= needed or made + left < needed:
            break
        found[index] = probability(features(confidences[index], *ask(index)), model)
        made += found[index] >= threshold
        left -= 1
    return found
