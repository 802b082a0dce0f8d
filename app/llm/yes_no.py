"""P(yes) to one yes/no question about an answer, from whichever engine grades: a local model's next-token
log-probabilities, a server's top log-probabilities, or a server's constrained one-word reply."""
from __future__ import annotations

import threading

import numpy as np

from app.llm.prompts import SYSTEM
from app.llm.server_engine import REPLY_CONFIDENCE, REPLY_PATH

YES_WORDS, NO_WORDS = ("Yes", "yes", " Yes"), ("No", "no", " No")


def is_server(engine) -> bool:
    """A model behind an OpenAI-compatible server (ServerEngine) rather than a local file."""
    return hasattr(engine, "candidate_logprobs")


def p_yes(engine, user: str, cancel: threading.Event | None = None) -> float:
    """The model's P(yes) to the question that ends `user`."""
    if not is_server(engine):
        logprobs = engine.next_token_logprobs(engine.format(SYSTEM, user), cancel=cancel)
        yes = np.logaddexp.reduce([logprobs[engine.first_token(t)] for t in set(YES_WORDS)])
        no = np.logaddexp.reduce([logprobs[engine.first_token(t)] for t in set(NO_WORDS)])
        return float(1.0 / (1.0 + np.exp(no - yes)))
    if engine.grading_path == REPLY_PATH:
        said = engine.constrained_reply(SYSTEM, user, ["Yes", "No"], cancel)
        return REPLY_CONFIDENCE if said == "Yes" else 1.0 - REPLY_CONFIDENCE if said == "No" else 0.5
    scores, floor = engine.candidate_logprobs(SYSTEM, user, YES_WORDS + NO_WORDS, cancel)
    yes = np.logaddexp.reduce([scores[t] for t in YES_WORDS if t in scores] or [floor])
    no = np.logaddexp.reduce([scores[t] for t in NO_WORDS if t in scores] or [floor])
    return float(1.0 / (1.0 + np.exp(no - yes)))
