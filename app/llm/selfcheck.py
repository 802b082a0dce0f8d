"""The start-up self-check: a short fixed prompt whose next-token distribution is compared with a reference
recorded for each known model, so that a llama.cpp build that computes wrong numbers on this CPU is refused
instead of grading. The embedding model is checked on three fixed sentences the same way."""
from __future__ import annotations

import numpy as np

CHECK_SYSTEM = "You are a helpful assistant."
CHECK_USER = "Complete the sentence with one word: the capital of France is"
TOP = 8
# Tolerances: kernels differ between CPUs (AVX2, AVX-512, repacked or plain weights, thread counts) and move
# log-probabilities a little; a broken build moves them a lot and changes the ranking.
TOP_OVERLAP = 5        # of the reference's top 8 tokens, at least this many must be in the model's top 8
LOGPROB_TOLERANCE = 1.0  # nats, for the reference's top token
EMBED_SENTENCES = ("A vector index finds passages similar to a question.",
                   "Retrieval looks up the text closest in meaning to a query.",
                   "Bake the bread at a high temperature for forty minutes.")
COSINE_TOLERANCE = 0.05

# top tokens (id, log-probability) and the embedding cosines, recorded with `python -m app.llm.selfcheck FILE` on an
# AVX-512 machine (AMD EPYC) with repacked weights. Plain weight buffers moved the 1.5B model's by up to 0.21 nats
# and swapped two of its lower tokens; one thread or two changed nothing.
CHAT_REFERENCES: dict[str, list[tuple[int, float]]] = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": [(504, -0.636), (1195, -2.841), (38634, -3.271), (33488, -4.341),
                                        (2068, -4.389), (49, -4.584), (54, -4.689), (57, -4.712)],
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf": [(59604, -0.846), (1782, -1.631), (785, -2.082), (285, -2.494),
                                                (1732, -3.157), (49, -4.482), (39572, -4.572), (44978, -4.657)],
    "qwen2.5-coder-0.5b-instruct.gguf": [(59604, -0.244), (39572, -2.358), (785, -4.055), (94409, -4.228),
                                         (1782, -4.374), (6828, -5.076), (12095, -5.31), (43, -5.426)],
}
EMBED_REFERENCES: dict[str, tuple[float, float]] = {"all-MiniLM-L6-v2.q8_0.gguf": (0.4658, -0.0304)}


def probe_chat(engine, wrong: bool = False) -> dict:
    """The model's top tokens after the check prompt (`wrong` garbles them: the tests' stand-in for a broken build)."""
    logprobs = engine.next_token_logprobs(engine.format(CHECK_SYSTEM, CHECK_USER))
    if wrong:
        logprobs = np.random.default_rng(0).permutation(logprobs)
    top = np.argsort(-logprobs)[:TOP]
    return {"top": [(int(t), round(float(logprobs[t]), 3)) for t in top], "finite": bool(np.isfinite(logprobs).all())}


def probe_embedder(embedder) -> dict:
    vectors = np.asarray(embedder.embed_texts(list(EMBED_SENTENCES)), dtype=np.float32)
    return {"cosines": [round(float(vectors[0] @ vectors[1]), 4), round(float(vectors[0] @ vectors[2]), 4)],
            "finite": bool(np.isfinite(vectors).all())}


def compare_chat(found: dict, reference: list[tuple[int, float]] | None) -> str | None:
    """None when the distribution matches the reference (or there is none to compare), else what differs."""
    if not found.get("finite", False):
        return "its next-token scores are not finite numbers"
    if not reference:
        return None
    top = dict(found["top"])
    overlap = len(set(top) & {t for t, _ in reference})
    if overlap < TOP_OVERLAP:
        return f"only {overlap} of the {len(reference)} most likely next tokens match the reference"
    token, expected = reference[0]
    if token not in top or abs(top[token] - expected) > LOGPROB_TOLERANCE:
        got = f"{top[token]:.2f}" if token in top else "not in its top tokens"
        return f"the reference's most likely token has log-probability {got}, expected {expected:.2f}"
    return None


def compare_embedder(found: dict, reference: tuple[float, float] | None) -> str | None:
    if not found.get("finite", False):
        return "its vectors are not finite numbers"
    if not reference:
        return None
    worst = max(abs(a - b) for a, b in zip(found["cosines"], reference))
    if worst > COSINE_TOLERANCE:
        return f"its similarities differ from the reference by {worst:.2f}"
    return None


def main(argv: list[str]) -> int:
    """Print a model file's probe, to record it above."""
    from pathlib import Path

    from app.llm.engine import ChatEngine
    from app.llm.embedder import Embedder
    path = Path(argv[0])
    if "embed" in path.parts:
        print(probe_embedder(Embedder(path)))
    else:
        print(probe_chat(ChatEngine(path)))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
