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



CHECKS = [FULL_USER + f"\nDoes the candidate finally recommend option {o}? Reply Yes or No."
          for o in ("A (RAG)", "B (fine-tuning the model on the wiki)", "C (no clear recommendation at all)")]
# A prompt's numbers depend a little on where its ending sits in the batch: llama.cpp works through the rows of a
# batch in groups of 16, and a row's sums come out in another order in a group filled otherwise. Measured on this
# model: up to 0.29 in log-probability (11 prompts), 0.17 with one prompt read four times in one batch; none when each
# ending is padded to start a group (tried, and dropped: the padding rows cost what reading side by side saves). A
# leak between the endings moves them by nats (test_endings_read_side_by_side_do_not_see_each_other).
ROW_NOISE = 0.5


def test_prompts_read_side_by_side_give_what_each_gives_alone(engine: ChatEngine, smol_path: Path) -> None:
    # the option checks of one answer share everything up to their last line: read in one batch, each ending in a
    # sequence of its own over the shared cells, they give each prompt's own numbers, in any order
    cold = ChatEngine(smol_path)
    prompts = [engine.format(SYSTEM, user) for user in CHECKS]
    ids = [engine.first_token(t) for t in ("Yes", "No", "A", " the")]
    alone = np.array([[cold.next_token_logprobs(p)[i] for i in ids] for p in prompts])
    engine.prime(prompts[0][: prompts[0].index("\nDoes")])  # the answer evaluated, as the letter call leaves it
    together = np.array(engine.branch_logprobs(prompts, ids))
    assert together.shape == (3, 4)
    assert np.abs(together - alone).max() < ROW_NOISE
    assert np.abs(np.array(engine.branch_logprobs(prompts[::-1], ids)[::-1]) - alone).max() < ROW_NOISE
    # nothing of the endings is left in the cache: a prompt read afterwards gives a cold engine's numbers
    full = engine.format(SYSTEM, FULL_USER)
    assert np.abs(engine.next_token_logprobs(full) - cold.next_token_logprobs(full)).max() < 1e-3


def test_endings_read_side_by_side_do_not_see_each_other(engine: ChatEngine) -> None:
    # the second ending asks for a password only the first one states; if it could see the first ending's cells,
    # " BLUE" would be likely (as it is when the question follows the statement in one prompt)
    base = "Here is a list of facts.\n"
    told = base + "Fact: the secret password is BLUE. Remember it: the password is BLUE. BLUE BLUE BLUE."
    asked = base + "Fact: the sky is green today. Question: what is the secret password? Answer: the password is"
    blue = [engine.first_token(" BLUE")]
    engine.reset()
    alone = engine.branch_logprobs([asked], blue)[0][0]
    seen = engine.branch_logprobs([told + "\n" + asked[len(base):]], blue)[0][0]
    engine.prime(base)
    beside = engine.branch_logprobs([told, asked], blue)[1][0]
    assert seen > alone + 5  # the test can tell a leak
    assert abs(beside - alone) < ROW_NOISE


def test_side_by_side_from_a_cold_cache_and_with_more_prompts_than_sequences(engine: ChatEngine,
                                                                           smol_path: Path) -> None:
    # nothing cached: the shared prefix is evaluated once; 11 prompts do not fit the cache's 8 sequences at once
    cold = ChatEngine(smol_path)
    prompts = [engine.format(SYSTEM, FULL_USER + f"\nIs option {n} recommended? Reply Yes or No.") for n in range(11)]
    ids = [engine.first_token("Yes"), engine.first_token("No")]
    engine.reset()
    together = np.array(engine.branch_logprobs(prompts, ids))
    alone = np.array([[cold.next_token_logprobs(p)[i] for i in ids] for p in prompts])
    assert together.shape == (11, 2) and np.abs(together - alone).max() < ROW_NOISE


def test_a_set_cancel_stops_side_by_side_reading_and_the_engine_still_works(engine: ChatEngine,
                                                                            smol_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    prompts = [engine.format(SYSTEM, user + " (cancelled)") for user in CHECKS]
    with pytest.raises(Cancelled):
        engine.branch_logprobs(prompts, [engine.first_token("Yes")], cancel)
    full = engine.format(SYSTEM, FULL_USER)
    assert np.abs(engine.next_token_logprobs(full) - ChatEngine(smol_path).next_token_logprobs(full)).max() < 1e-3


def test_yes_no_checks_read_together_match_each_read_alone_and_are_remembered(engine: ChatEngine) -> None:
    from app.llm.yes_no import forget_readings, p_yes, p_yes_together, readings_taken
    users = [user + " (together)" for user in CHECKS]
    forget_readings()
    together = p_yes_together(engine, users)
    assert readings_taken() == {"read": 3, "remembered": 3}  # read in one batch, then served from memory
    assert p_yes_together(engine, users) == together and readings_taken()["read"] == 3
    forget_readings()
    alone = [p_yes(engine, user) for user in users]
    # a probability moves at most a quarter of its log-odds, which move at most twice ROW_NOISE
    assert np.abs(np.array(together) - np.array(alone)).max() < ROW_NOISE / 2
    assert all(0.0 < p < 1.0 for p in together)
