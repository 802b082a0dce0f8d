"""Agreement metrics for the grader and the retriever: accuracy, macro F1, quadratic weighted kappa, F1."""
from __future__ import annotations

import hashlib
import statistics
from typing import Sequence

from app.core.model import VERDICTS


def split_of(question_id: str) -> str:
    """Held-out split by question: sha1 first hex digit 0-4 is test (see content/answers/LABELLING.md)."""
    return "test" if hashlib.sha1(question_id.encode()).hexdigest()[0] in "01234" else "dev"


def accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(1 for a, b in pairs if a == b) / len(pairs) if pairs else 0.0


def macro_f1(pairs: Sequence[tuple[str, str]], labels: Sequence[str] = VERDICTS) -> float:
    scores = []
    for label in labels:
        tp = sum(1 for truth, guess in pairs if truth == label and guess == label)
        fp = sum(1 for truth, guess in pairs if truth != label and guess == label)
        fn = sum(1 for truth, guess in pairs if truth == label and guess != label)
        scores.append(f1(tp, fp, fn))
    return sum(scores) / len(scores) if scores else 0.0


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def quadratic_weighted_kappa(pairs: Sequence[tuple[str, str]], labels: Sequence[str] = VERDICTS) -> float:
    """Cohen's kappa with quadratic weights over the ordered labels (incorrect < partial < correct)."""
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    n = len(pairs)
    if n == 0:
        return 0.0
    observed = [[0.0] * k for _ in range(k)]
    for truth, guess in pairs:
        observed[index[truth]][index[guess]] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    numerator = denominator = 0.0
    for i in range(k):
        for j in range(k):
            weight = (i - j) ** 2 / (k - 1) ** 2
            numerator += weight * observed[i][j]
            denominator += weight * rows[i] * cols[j] / n
    return 1.0 - numerator / denominator if denominator else 1.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] if 1 <= q <= 99 else ordered[-1]
