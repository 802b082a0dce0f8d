"""P(yes) to one yes/no question about an answer, from whichever engine grades: a local model's next-token
log-probabilities, a server's top log-probabilities, or a server's constrained one-word reply."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from app.llm.prompts import SYSTEM
from app.llm.server_engine import REPLY_CONFIDENCE, REPLY_PATH

YES_WORDS, NO_WORDS = ("Yes", "yes", " Yes"), ("No", "no", " No")
KEEP_READINGS = 512  # readings remembered: a draft read ahead while the learner pauses leaves a few

_READINGS: OrderedDict[tuple, Any] = OrderedDict()
_READINGS_LOCK = threading.Lock()
_TAKEN = {"read": 0, "remembered": 0}  # since forget_readings(): readings the model took, and ones served remembered


def remembered(engine, kind: str, user: str, read: Callable[[], Any]) -> Any:
    """The model's reading of one prompt, taken once: a draft read ahead during a typing pause (dispatcher.read_ahead)
    leaves its readings here, so submitting the same text pays for none of them. A reading is a pure function of the
    model and the prompt, so the remembered value is the one a fresh read would give; a cancelled read stores
    nothing."""
    key = _key(engine, kind, user)
    with _READINGS_LOCK:
        if key in _READINGS:
            _READINGS.move_to_end(key)
            _TAKEN["remembered"] += 1
            return _READINGS[key]
    value = read()
    with _READINGS_LOCK:
        _READINGS[key] = value
        _TAKEN["read"] += 1
        while len(_READINGS) > KEEP_READINGS:
            _READINGS.popitem(last=False)
    return value


def _key(engine, kind: str, user: str) -> tuple:
    return engine.name, getattr(engine, "sha256", None), getattr(engine, "grading_path", None), kind, user


def forget_readings(containing: str | None = None) -> None:
    """Forget every reading, or (with containing) those whose prompt holds that text, an answer's for example."""
    with _READINGS_LOCK:
        if containing is None:
            _READINGS.clear()
            _TAKEN.update(read=0, remembered=0)
            return
        for key in [k for k in _READINGS if containing in k[4]]:
            del _READINGS[key]


def readings_taken() -> dict[str, int]:
    """How many readings the model took, and how many were served remembered, since forget_readings()."""
    with _READINGS_LOCK:
        return dict(_TAKEN)


def is_server(engine) -> bool:
    """A model behind an OpenAI-compatible server (ServerEngine) rather than a local file."""
    return hasattr(engine, "candidate_logprobs")


def p_yes(engine, user: str, cancel: threading.Event | None = None) -> float:
    """The model's P(yes) to the question that ends `user` (remembered: see remembered())."""
    return remembered(engine, "yes", user, lambda: _read_yes(engine, user, cancel))


def _read_yes(engine, user: str, cancel: threading.Event | None) -> float:
    if not is_server(engine):
        logprobs = engine.next_token_logprobs(engine.format(SYSTEM, user), cancel=cancel)
        yes_ids, no_ids = _answer_ids(engine)
        return _share([logprobs[t] for t in yes_ids], [logprobs[t] for t in no_ids])
    if engine.grading_path == REPLY_PATH:
        said = engine.constrained_reply(SYSTEM, user, ["Yes", "No"], cancel)
        return REPLY_CONFIDENCE if said == "Yes" else 1.0 - REPLY_CONFIDENCE if said == "No" else 0.5
    scores, floor = engine.candidate_logprobs(SYSTEM, user, YES_WORDS + NO_WORDS, cancel)
    return _share([scores[t] for t in YES_WORDS if t in scores] or [floor],
                  [scores[t] for t in NO_WORDS if t in scores] or [floor])


def _answer_ids(engine) -> tuple[list[int], list[int]]:
    """The first tokens of the yes words and of the no words (a local model's reading sums each group)."""
    return [engine.first_token(t) for t in set(YES_WORDS)], [engine.first_token(t) for t in set(NO_WORDS)]


def _share(yes_logprobs, no_logprobs) -> float:
    """P(yes) from the log-probabilities of the yes words and the no words: yes against yes or no."""
    yes, no = np.logaddexp.reduce(yes_logprobs), np.logaddexp.reduce(no_logprobs)
    return float(1.0 / (1.0 + np.exp(no - yes)))


def p_yes_together(engine, users: list[str], cancel: threading.Event | None = None) -> list[float]:
    """P(yes) to each question, like p_yes, but a local model reads the ones not remembered side by side (one batch
    over their shared prompt: ChatEngine.branch_logprobs): three option checks take 0.75x the time of one after
    another (`python -m app bench --only checks`). A reading stays a function of its prompt and the set it is read
    with; each is remembered under its own prompt."""
    if is_server(engine) or not hasattr(engine, "branch_logprobs") or len(users) < 2:
        return [p_yes(engine, user, cancel) for user in users]
    with _READINGS_LOCK:
        missing = [u for u in users if _key(engine, "yes", u) not in _READINGS]
    if len(missing) > 1:
        yes_ids, no_ids = _answer_ids(engine)
        rows = engine.branch_logprobs([engine.format(SYSTEM, u) for u in missing], yes_ids + no_ids, cancel)
        for user, row in zip(missing, rows):
            said = _share(row[: len(yes_ids)], row[len(yes_ids):])
            remembered(engine, "yes", user, lambda said=said: said)
    return [p_yes(engine, user, cancel) for user in users]
