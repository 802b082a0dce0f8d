"""How each sentence that names an option stands towards it: for or against. "A nightly dump would be hours out of
date" names the export to reject it; "hits the orders API live, one call" argues for the tool. Listed phrases cannot
keep up with the ways a reason against an option is put, so the stance is read from the sentence's meaning: the
sentence, with the option's own words masked as X and any other option's as Y (so no option's name is learnt, only
what is said about it), is embedded with MiniLM and scored by a logistic regression fitted on the dev split of the
blind answers (`python -m app.fit_choice`; weights in choice_fit.json under "stance"). Each option's stance is the
mean over its mentions of 2 P(for) - 1, in [-1, 1]; an option never named has 0.
MiniLM hardly carries how a sentence is built, so one input is read from its words: a "but" after the option
("X is tempting, but ...", "X would work, but ...") grants it something and turns away from it. On dev 36 of the 42
masked sentences with a "but" after X give a reason against X, where 335 of 849 do overall."""
from __future__ import annotations

import math
import re
from typing import Callable, Sequence

from app.core.text import sentences

Vectors = Callable[[Sequence[str]], list[list[float]]]  # texts -> unit-length embeddings
OWN, OTHER = "X", "Y"
CONTRAST_AFTER = re.compile(rf"\b{OWN}\b.*\b(?i:but)\b", re.S)  # the mask is a capital X; "4 x 8" is not it


def masked_sentences(answer: str, mentions: dict[str, list[list[tuple[int, int]]]]) -> list[tuple[str, str]]:
    """(option id, masked sentence) for every sentence that names an option (the sentence where a mention ends), once
    per option: the option's words replaced by X, other options' words by Y (a word both name counts as the
    option's own), and a run of masked words by one letter."""
    sents = sentences(answer)
    words_of = {o: [w for place in places for w in place] for o, places in mentions.items()}
    units = []
    for sentence in sents:
        for option_id, places in mentions.items():
            if not any(place and sentence.start <= place[-1][0] < sentence.end for place in places):
                continue
            letters = [""] * (sentence.end - sentence.start)
            for other, words in words_of.items():
                for start, end in words:
                    for at in range(max(start, sentence.start), min(end, sentence.end)):
                        if other == option_id or not letters[at - sentence.start]:
                            letters[at - sentence.start] = OWN if other == option_id else OTHER
            text, at = [], 0
            while at < len(letters):
                if letters[at]:
                    end = at
                    while end < len(letters) and letters[end] == letters[at]:
                        end += 1
                    text.append(letters[at])
                    at = end
                else:
                    text.append(answer[sentence.start + at])
                    at += 1
            units.append((option_id, re.sub(rf"\b([{OWN}{OTHER}])(\W+\1\b)+", r"\1", "".join(text))))
    return units


def inputs(vector: Sequence[float], text: str) -> list[float]:
    """What the regression reads of a masked sentence: its embedding, and 1 when a "but" follows the option."""
    return [*vector, 1.0 if CONTRAST_AFTER.search(text) else 0.0]


def p_for(vector: Sequence[float], text: str, model: dict) -> float:
    """P(the masked sentence argues for its X) under a fitted model ({"weights": [...], "bias": b})."""
    return probability(inputs(vector, text), model["weights"], model["bias"])


def probability(vector: Sequence[float], weights: Sequence[float], bias: float) -> float:
    """P(the sentence argues for its X)."""
    z = bias + sum(w * v for w, v in zip(weights, vector))
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def per_option(units: Sequence[tuple[str, str]], probabilities: Sequence[float],
               options: Sequence[str]) -> dict[str, float]:
    """Each option's mean of 2 P(for) - 1 over its mentions; 0 for an option never named."""
    found: dict[str, list[float]] = {o: [] for o in options}
    for (option_id, _), p in zip(units, probabilities):
        found.setdefault(option_id, []).append(2.0 * p - 1.0)
    return {o: round(sum(v) / len(v), 4) if v else 0.0 for o, v in found.items()}


def option_stance(units: Sequence[tuple[str, str]], options: Sequence[str], vectors: Vectors,
                  model: dict) -> dict[str, float]:
    """The stance per option with a fitted model ({"weights": [...], "bias": b})."""
    if not units:
        return {o: 0.0 for o in options}
    rows = vectors([text for _, text in units])
    return per_option(units, [p_for(v, text, model) for v, (_, text) in zip(rows, units)], options)
