"""ChatEngine on the real SmolLM2 GGUF: chat template, next-token scores, prefix reuse, streaming, cancel."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.llm.engine import Cancelled, ChatEngine
from app.llm.files import ModelFileError

SYSTEM = "You are a careful interviewer."
PREFIX_USER = "Scenario: the wiki changes daily.\nOptions:\nA. RAG\nB. Fine-tune\n<<<\n"
FULL_USER = PREFIX_USER + "I pick RAG: pages change every day and users need the source page.\n>>>\nReply with one letter."


@pytest.fixture(scope="module")
def engine(smol_engine: ChatEngine) -> ChatEngine:
    return smol_engine


def test_loads_and_names_itself(engine: ChatEngine, smol_path: Path) -> None:
    assert engine.name == smol_path.name
    assert len(engine.sha256) == 64
    assert engine.load_seconds >= 0


def test_format_uses_the_gguf_chat_template(engine: ChatEngine) -> None:
    assert "tokenizer.chat_template" in engine.llm.metadata
    prompt = engine.format(SYSTEM, "Which option?")
    assert "<|im_start|>system\n" + SYSTEM in prompt
    assert "<|im_start|>user\nWhich option?<|im_end|>" in prompt
    assert prompt.rstrip().endswith("<|im_start|>assistant")


def test_next_token_logprobs_is_a_distribution_over_the_vocab(engine: ChatEngine) -> None:
    logprobs = engine.next_token_logprobs(engine.format(SYSTEM, FULL_USER))
    assert logprobs.shape == (engine.llm.n_vocab(),)
    assert np.isfinite(logprobs).all()
    assert np.exp(logprobs).sum() == pytest.approx(1.0, abs=1e-3)
    assert (logprobs <= 1e-6).all()


def test_primed_prefix_gives_the_same_logprobs_as_a_cold_engine(engine: ChatEngine, smol_path: Path) -> None:
    full = engine.format(SYSTEM, FULL_USER)
    prefix = full[: full.index("<<<\n") + 4]
    engine.next_token_logprobs(engine.format("Something unrelated.", "Hello"))  # a different cache first
    primed_tokens = engine.prime(prefix)
    assert 0 < primed_tokens < len(engine.tokens(full))
    assert engine.llm.n_tokens == primed_tokens
    warm = engine.next_token_logprobs(full)
    cold = ChatEngine(smol_path).next_token_logprobs(full)
    assert np.abs(warm - cold).max() < 1e-3
    assert np.abs(engine.next_token_logprobs(full) - cold).max() < 1e-3  # the same prompt twice in a row


def test_stream_can_finish_at_a_sentence_end(engine: ChatEngine) -> None:
    prompt = engine.format(SYSTEM, "Describe a cat in five sentences.")
    pieces: list[str] = []
    text = engine.stream(prompt, 200, on_token=pieces.append, finish_after=8)
    assert 8 <= len(pieces) < 200
    assert text.rstrip().endswith((".", "!", "?")) and text == "".join(pieces)
    assert not any(p.rstrip().endswith((".", "!", "?")) for p in pieces[7:-1])  # the first sentence end after 8


def test_stream_reports_tokens_and_returns_their_concatenation(engine: ChatEngine) -> None:
    pieces: list[str] = []
    text = engine.stream(engine.format(SYSTEM, "Say hello in five words."), 16, on_token=pieces.append)
    assert pieces and text == "".join(pieces)
    assert len(engine.tokens(text)) <= 16 + 1


def test_cancel_after_the_first_token_raises_cancelled(engine: ChatEngine) -> None:
    cancel = threading.Event()
    pieces: list[str] = []

    def on_token(piece: str) -> None:
        pieces.append(piece)
        cancel.set()

    with pytest.raises(Cancelled):
        engine.stream(engine.format(SYSTEM, "Count from one to twenty in words."), 60, cancel, on_token)
    assert len(pieces) == 1


def test_engine_still_works_after_a_cancel(engine: ChatEngine, smol_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        engine.stream(engine.format(SYSTEM, "Write a poem."), 30, cancel)
    full = engine.format(SYSTEM, FULL_USER)
    assert np.abs(engine.next_token_logprobs(full) - ChatEngine(smol_path).next_token_logprobs(full)).max() < 1e-3


def test_a_corrupt_gguf_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "half-a-model.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 4096)
    with pytest.raises(ModelFileError, match="half-a-model.gguf"):
        ChatEngine(broken)


def test_a_kept_prompt_comes_back_after_another_prompt_used_the_cache(engine: ChatEngine, smol_path: Path) -> None:
    # the explanation prompt is primed and kept, then the choice prompt takes the cache; after the verdict the kept
    # state must come back and give what a cold engine gives
    kept = engine.format(SYSTEM, FULL_USER + "\nExplain in two sentences why the right option wins.")
    other = engine.format(SYSTEM, "Which option does the candidate recommend? " + FULL_USER)
    assert engine.prime(kept, keep="explanation") == len(engine.tokens(kept))
    engine.prime(other)
    common = 0
    while engine.tokens(kept)[common] == engine.tokens(other)[common]:
        common += 1
    assert engine.llm.n_tokens == len(engine.tokens(other)) and common < len(engine.tokens(kept)) - 10
    engine._resume_kept(engine.tokens(kept))
    assert engine.llm.n_tokens == len(engine.tokens(kept))
    assert list(engine.llm.input_ids[: engine.llm.n_tokens]) == engine.tokens(kept)
    engine.prime(other)
    resumed = engine.next_token_logprobs(kept)
    cold = ChatEngine(smol_path).next_token_logprobs(kept)
    assert resumed.argmax() == cold.argmax() and np.abs(resumed - cold).max() < 0.75


def test_a_stopped_prime_keeps_nothing(engine: ChatEngine) -> None:
    stop = threading.Event()
    stop.set()
    engine.llm.reset()
    assert engine.prime(engine.format(SYSTEM, FULL_USER + " (stopped)"), keep="stopped", stop=stop) == 0
    assert "stopped" not in engine._kept


def test_kept_slots_each_come_back(engine: ChatEngine) -> None:
    # the explanation prompt and an answer are kept at once; a third prompt takes the cache; each comes back
    explanation = engine.format(SYSTEM, FULL_USER + "\nExplain in two sentences why the right option wins.")
    answer = engine.format(SYSTEM, "Which option does the candidate recommend? " + FULL_USER)
    engine.prime(explanation, keep="explanation")
    engine.prime(answer, keep="answer")
    engine.prime(engine.format(SYSTEM, "Is this sentence addressed to the examiner? Thanks for reading."))
    for kept in (explanation, answer, explanation):
        engine._resume_kept(engine.tokens(kept) + engine.tokens(" Reply with one letter."))
        assert list(engine.llm.input_ids[: engine.llm.n_tokens]) == engine.tokens(kept)
