"""'Not in the notes', decided per query by a logistic model over search evidence, fitted on labelled queries.

The features are the best cosine over all chunks and log(1 + the best BM25 score); the model's coefficients,
the embedding model they were fitted with and the command that fitted them live in gate.json beside this file.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GATE_FILE = Path(__file__).with_name("gate.json")
FEATURES = ("top_cosine", "log_top_bm25")
L2 = 1.0  # ridge on the standardised weights: 21 not-in-notes queries are few


@dataclass(frozen=True)
class Gate:
    model_id: str          # the embedding model the cosines came from; another model needs a refit
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]   # intercept first
    threshold: float             # P(answerable) below this: "probably not in the notes"

    def probability(self, features: tuple[float, ...]) -> float:
        z = self.weights[0] + sum(w * (x - m) / s for w, x, m, s in
                                  zip(self.weights[1:], features, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "features": list(FEATURES), "mean": list(self.mean),
                "scale": list(self.scale), "weights": list(self.weights), "threshold": self.threshold}


def features(cosines: np.ndarray, bm25: np.ndarray) -> tuple[float, float]:
    return float(cosines.max()), math.log1p(float(bm25.max()))


def load_gate(path: Path = GATE_FILE) -> Gate | None:
    """The fitted gate, or None when there is no file (search then falls back to the fixed cosine gate)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(f"{path}: 'features' must be {list(FEATURES)}; refit with the command in its 'command' field")
    return Gate(data["model_id"], tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                float(data["threshold"]))


def fit_gate(rows: list[tuple[tuple[float, ...], bool]], model_id: str, threshold: float = 0.5) -> Gate:
    """Logistic regression by Newton's method, classes weighted equally (answerable queries far outnumber the
    rest), so 0.5 is the point where both kinds of mistake weigh the same."""
    x = np.array([f for f, _ in rows], dtype=float)
    y = np.array([1.0 if answerable else 0.0 for _, answerable in rows])
    if y.sum() in (0, len(y)):
        raise ValueError("fitting the gate needs both answerable and not-in-the-notes queries")
    mean, scale = x.mean(0), np.maximum(x.std(0), 1e-9)
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    ridge = L2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    w = np.zeros(z.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        step = np.linalg.solve((z * (weight * p * (1 - p))[:, None]).T @ z + ridge,
                               z.T @ (weight * (p - y)) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return Gate(model_id, tuple(mean.tolist()), tuple(scale.tolist()), tuple(w.tolist()), threshold)


def save_gate(gate: Gate, command: str, fitted_on: dict, path: Path = GATE_FILE) -> None:
    data = dict(gate.to_dict(), command=command, fitted_on=fitted_on)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
