"""The fitted choice combiner (app/core/choice_fit.py): its file names data, command and model; the per-option checks
can overturn a one-sided rubric reading; another model keeps the fixed rule."""
from __future__ import annotations

import pytest

from app.core import choice_fit
from app.core.policy import combine_choice


def test_the_fit_file_names_its_data_command_and_model() -> None:
    fit = choice_fit.fitted()
    assert fit["command"].startswith("python -m app.fit_choice") and "--split dev" in fit["command"]
    assert fit["model_file"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert set(fit["weights"]) == {"none", *choice_fit.FEATURES}
    # every reading of the answer counts for an option; what the model says for an empty answer counts against it
    assert all(fit["weights"][f] > 0 for f in choice_fit.FEATURES if not f.startswith("empty_"))
    assert fit["weights"]["empty_letter"] < 0 and fit["weights"]["empty_check"] < 0
    assert len(fit["rows"]) > 200 and all(r["question"] and r["checks"] and r["closeness"] for r in fit["rows"])


def test_a_clear_check_overturns_a_one_sided_rubric_reading() -> None:
    evidence = {"a": 3.0, "b": 0.0}
    letters = {"a": 0.5, "b": 0.3, "none": 0.2}
    probs = choice_fit.fitted_choice(evidence, letters, {"a": 0.05, "b": 0.97}, {}, {})
    assert max(probs, key=probs.get) == "b" and sum(probs.values()) == pytest.approx(1.0)
    assert combine_choice("a", 1.0, probs, [], fitted=True) == ("b", probs["b"])
    # the fixed rule lets the one-sided rubric stand against the same letters
    assert combine_choice("a", 1.0, letters, [])[0] == "a"
    # with checks that agree with the rubric, the rubric's pick stands
    agree = choice_fit.fitted_choice(evidence, letters, {"a": 0.9, "b": 0.1}, {}, {})
    assert max(agree, key=agree.get) == "a"


def test_where_names_letters_and_checks_are_level_the_option_closest_in_meaning_wins() -> None:
    evidence, letters, checks = {"a": 0.0, "b": 0.0}, {"a": 0.45, "b": 0.45, "none": 0.1}, {"a": 0.6, "b": 0.6}
    probs = choice_fit.fitted_choice(evidence, letters, checks, {"a": 0.62, "b": 0.41}, {})
    assert max(probs, key=probs.get) == "a" and probs["a"] > probs["b"] + 0.1
    # without embeddings the term is 0 for every option: the two stay level
    level = choice_fit.fitted_choice(evidence, letters, checks, {}, {})
    assert level["a"] == pytest.approx(level["b"])


def test_where_everything_else_is_level_the_option_argued_for_wins_over_the_one_argued_against() -> None:
    evidence, letters, checks = {"a": 1.0, "b": 1.0}, {"a": 0.45, "b": 0.45, "none": 0.1}, {"a": 0.6, "b": 0.6}
    probs = choice_fit.fitted_choice(evidence, letters, checks, {}, {"a": -0.6, "b": 0.5})
    assert max(probs, key=probs.get) == "b" and probs["b"] > probs["a"] + 0.3


def test_where_everything_else_is_level_the_option_closest_to_the_first_sentence_wins() -> None:
    evidence, letters, checks = {"a": 1.0, "b": 1.0}, {"a": 0.45, "b": 0.45, "none": 0.1}, {"a": 0.6, "b": 0.6}
    closeness = {"a": 0.6, "b": 0.6}
    probs = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {"a": 0.3, "b": 0.7})
    assert max(probs, key=probs.get) == "b" and probs["b"] > probs["a"] + 0.1
    level = choice_fit.fitted_choice(evidence, letters, checks, closeness, {})
    assert level["a"] == pytest.approx(level["b"])


def test_where_everything_else_is_level_the_option_closest_to_the_last_unnamed_sentence_wins() -> None:
    evidence, letters, checks = {"a": 1.0, "b": 1.0}, {"a": 0.45, "b": 0.45, "none": 0.1}, {"a": 0.6, "b": 0.6}
    closeness = {"a": 0.6, "b": 0.6}
    probs = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {}, None, {"a": 0.2, "b": 0.7})
    assert max(probs, key=probs.get) == "b" and probs["b"] > probs["a"] + 0.1


def test_where_everything_else_is_level_the_option_the_answer_opens_on_wins() -> None:
    evidence, letters, checks = {"a": 1.0, "b": 1.0}, {"a": 0.45, "b": 0.45, "none": 0.1}, {"a": 0.6, "b": 0.6}
    closeness = {"a": 0.6, "b": 0.6}
    level = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {}, None, {})
    probs = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {}, None, {}, lead="b")
    assert level["a"] == pytest.approx(level["b"]) and probs["b"] > probs["a"] + 0.3


def _read(questions, embedder, qid: str, answer: str):
    """The question as the model reads it, and the rubric's signals for the answer (without embeddings when
    embedder is None)."""
    from app.core.option_order import model_order
    from app.core.rubric import rubric_signals
    from app.llm.grader import embedding_similarity
    question = model_order(questions[qid])
    return question, rubric_signals(question, answer, embedding_similarity(embedder) if embedder else None)


def test_an_option_the_model_favours_for_an_empty_answer_must_earn_more_from_the_answer() -> None:
    """Contextual calibration: the same readings of an answer, with the model's bias towards 'a' (what it says when
    the answer is empty) known, lean less to 'a' than with no bias; with a strong bias they turn to 'b'."""
    evidence, letters, checks = {"a": 1.0, "b": 1.0}, {"a": 0.5, "b": 0.4, "none": 0.1}, {"a": 0.6, "b": 0.6}
    closeness = {"a": 0.5, "b": 0.5}
    unbiased = {"letters": {"a": 0.45, "b": 0.45, "none": 0.1}, "checks": {"a": 0.5, "b": 0.5}}
    biased = {"letters": {"a": 0.8, "b": 0.1, "none": 0.1}, "checks": {"a": 0.9, "b": 0.3}}
    plain = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {}, unbiased)
    calibrated = choice_fit.fitted_choice(evidence, letters, checks, closeness, {}, {}, biased)
    assert max(plain, key=plain.get) == "a"
    assert max(calibrated, key=calibrated.get) == "b" and sum(calibrated.values()) == pytest.approx(1.0)


MANUAL_LAST = ("Tuning RAG further will not fix this: top-5 chunks never show two distant sections side by side. It "
               "runs once a quarter, so cost hardly matters. Give the model the entire manual.")


@pytest.mark.parametrize("qid, answer, part, nearest", [
    ("embeddings-002", "Re-embed everything. Mixing two models' vectors in one index is tempting because it is "
                       "cheap, and the new documents would go in straight away.", "option_opening", "reembed-all"),
    # the named option (RAG) is turned down by reasons; the pick comes last, in other words
    ("long-context-004", MANUAL_LAST, "option_closing", "long-context"),
])
def test_the_opening_is_the_first_sentence_and_the_closing_the_last_that_names_no_option(
        questions, embedder, qid: str, answer: str, part: str, nearest: str) -> None:
    question, signals = _read(questions, embedder, qid, answer)
    read = getattr(signals, part)
    assert set(read) == {o.id for o in question.options} and max(read, key=read.get) == nearest
    assert all(read[o] <= signals.option_closeness[o] + 1e-6 for o in read)
    assert getattr(_read(questions, None, qid, answer)[1], part) == {}


def test_the_closing_reads_past_the_named_options_and_is_empty_when_every_sentence_names_one(questions,
                                                                                           embedder) -> None:
    signals = _read(questions, embedder, "long-context-004", MANUAL_LAST)[1]
    assert max(signals.option_opening, key=signals.option_opening.get) == "rag"
    every_one_named = "Keep tuning RAG. Sending the whole manual in the context is too slow."
    assert _read(questions, embedder, "long-context-004", every_one_named)[1].option_closing == {}


def test_an_answer_that_describes_its_choice_sits_closest_to_that_option(questions, embedder) -> None:
    from app.core.option_order import model_order
    from app.core.rubric import rubric_signals
    from app.llm.grader import embedding_similarity
    question = model_order(questions["long-context-004"])
    answer = ("More retrieval tuning won't get there: no query finds the contradictions. It runs once a quarter, so "
              "the cost of one huge prompt is irrelevant. Hand the model the entire document in one go.")
    near = rubric_signals(question, answer, embedding_similarity(embedder)).option_closeness
    assert set(near) == {o.id for o in question.options} and max(near, key=near.get) == "long-context", near
    assert rubric_signals(question, answer, None).option_closeness == {}


def test_another_model_is_not_read_through_the_fit() -> None:
    assert choice_fit.fitted_with("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert not choice_fit.fitted_with("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_checks_are_skipped_only_where_one_sided_names_and_the_letters_agree() -> None:
    from app.core.policy import names_and_letters_agree
    letters = {"a": 0.6, "b": 0.3, "none": 0.1}
    assert names_and_letters_agree("a", 1.0, letters)
    assert not names_and_letters_agree("b", 1.0, letters)  # the letters pick another option
    assert not names_and_letters_agree("a", 0.7, letters)  # the names are not one-sided enough
    assert not names_and_letters_agree("none", 1.0, {"none": 0.9, "a": 0.1})


def stored_cases(command: str) -> list[dict]:
    """The labelled dev answers a fit's command read, in its order (a row's "case" indexes them)."""
    from pathlib import Path
    from app.evaluation import labelled_answers
    repo = Path(__file__).resolve().parent.parent
    return labelled_answers([repo / part for part in command.split() if part.endswith(".jsonl")], "dev")


def test_the_stored_rows_read_as_todays_rubric_reads_them(questions, embedder) -> None:
    """The fit weighs what the grader now sees: a rubric change that alters a stored row needs `python -m
    app.fit_choice ... --refit` (no model run), which reads the rows again with the rubric of the day."""
    from app.fit_choice import still_asked
    from app.llm.grader import embedding_similarity
    fit = choice_fit.fitted()
    reread = still_asked(fit["rows"], stored_cases(fit["command"]), questions, embedding_similarity(embedder))
    stale = [(r["question"], r["kind"]) for r, now in zip(fit["rows"], reread) if not same_reading(r, now)]
    assert len(reread) == len(fit["rows"]) and not stale, stale


# The embedder's numbers differ a little from one CPU to another (its kernels sum in another order): read on an AVX-512
# machine without AMX, the stored rows' closeness moved by up to 0.0028, the key points' rubric confidence by 0.001.
# A rubric change moves a reading by more, or changes what it names.
CPU_NOISE = 0.01


def same_reading(stored, now) -> bool:
    """Equal, but for numbers within CPU_NOISE of each other."""
    if isinstance(stored, dict) and isinstance(now, dict):
        return stored.keys() == now.keys() and all(same_reading(stored[k], now[k]) for k in stored)
    if isinstance(stored, list) and isinstance(now, list):
        return len(stored) == len(now) and all(same_reading(a, b) for a, b in zip(stored, now))
    if isinstance(stored, float) or isinstance(now, float):
        return not isinstance(stored, bool) and not isinstance(now, bool) and abs(stored - now) <= CPU_NOISE
    return stored == now


def test_a_rubric_change_is_not_taken_for_cpu_noise() -> None:
    row = {"lexical": "rag", "closeness": {"rag": 0.5528, "fine-tune": 0.61}, "flags": [], "both": None}
    assert same_reading(row, {**row, "closeness": {"rag": 0.5553, "fine-tune": 0.61}})
    assert not same_reading(row, {**row, "closeness": {"rag": 0.58, "fine-tune": 0.61}})
    assert not same_reading(row, {**row, "lexical": "fine-tune"})
    assert not same_reading(row, {**row, "flags": ["both"]})
    assert not same_reading(row, {**row, "closeness": {"rag": 0.5528}})
