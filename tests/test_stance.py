"""Stance (app/core/stance.py): the sentences that name an option are read for or against it, by their meaning with
the option's words masked, so a reason against an option counts against it however it is put."""
from __future__ import annotations

import pytest

from app.core import choice_fit, stance
from app.core.option_order import model_order
from app.core.rubric import rubric_signals


def _units(questions, qid: str, answer: str) -> list[tuple[str, str]]:
    return rubric_signals(model_order(questions[qid]), answer).stance_units


def test_each_sentence_is_read_once_per_option_it_names_with_that_option_masked_as_x(questions) -> None:
    answer = ("A nightly export of orders into the vector index would be hours out of date. "
              "I'd use a single API lookup.")
    units = _units(questions, "agents-001", answer)
    by_option = {}
    for option_id, text in units:
        by_option.setdefault(option_id, []).append(text)
    export = by_option["index-export"]
    assert len(export) == 1 and "X" in export[0] and "would be hours out of date" in export[0], units
    assert "export" not in export[0].lower()  # the words that name the option are masked
    lookup = by_option["single-tool"]
    assert any(text.startswith("I'd use a") and "X" in text for text in lookup), units


def test_another_options_words_are_masked_as_y_and_a_shared_word_stays_the_options_own() -> None:
    answer = "Fine-tuning beats RAG here."
    mentions = {"ft": [[(0, 4), (5, 11)]], "rag": [[(18, 21)]]}
    assert stance.masked_sentences(answer, mentions) == [("ft", "X beats Y here."), ("rag", "Y beats X here.")]
    shared = {"a": [[(0, 4), (5, 11)]], "b": [[(5, 11)]]}
    assert stance.masked_sentences(answer, shared) == [("a", "X beats RAG here."), ("b", "Y-X beats RAG here.")]


def test_a_but_after_the_option_is_read_as_turning_away_from_it() -> None:
    """The regression's one input read from the words: "X ..., but ..." grants X something and turns from it; the
    fitted weight on it is negative (dev: 36 of 42 such sentences give a reason against X)."""
    assert stance.inputs([0.5, 0.5], "X is tempting, but the wait is before the first token.") == [0.5, 0.5, 1.0]
    assert stance.inputs([0.5, 0.5], "Y is tempting, but X fixes the wait before the first token.")[-1] == 0.0
    weights = choice_fit.stance_model()["weights"]
    assert weights[-1] < -0.5, weights[-1]


def test_per_option_stance_is_the_mean_for_minus_against_and_zero_when_never_named() -> None:
    units = [("a", "X is right"), ("a", "X is fine"), ("b", "X is too slow")]
    assert stance.per_option(units, [0.9, 0.7, 0.1], ["a", "b", "c"]) == {"a": 0.6, "b": -0.8, "c": 0.0}


def test_the_fitted_stance_reads_a_stated_pick_as_more_for_than_a_reason_against(questions, embedder) -> None:
    """What MiniLM can carry: a sentence that states the pick reads "for", one that gives a problem with the option
    reads much less so. It is a weak reader of the rest: it does not read negation ("Don't build a planning X" reads
    slightly for; the rubric's negation scope handles that), and "X is overkill" reads about even."""
    model = choice_fit.stance_model()
    read = model_order(questions["agents-001"])
    ids = [o.id for o in read.options]

    def stance_of(answer: str) -> dict:
        return stance.option_stance(rubric_signals(read, answer).stance_units, ids, embedder, model)

    picked = stance_of("I'd go with a nightly export of orders into the vector index.")
    against = stance_of("A nightly export of orders into the vector index would be hours out of date.")
    assert picked["index-export"] > 0.3, picked
    assert against["index-export"] < picked["index-export"] - 0.3, (against, picked)
    assert stance_of("The orders table has an index.")["agent"] == 0.0  # never named: no stance


def test_the_stance_model_was_fitted_on_dev_sentences_and_beats_calling_all_of_them_for() -> None:
    model = choice_fit.stance_model()
    assert len(model["weights"]) == 385 and model["sentences"] > 500
    assert model["right_in_sample"] > model["for"] and model["right_in_sample"] > model["sentences"] - model["for"]
    rows = choice_fit.fitted()["rows"]
    assert all("stance" in r and set(r["stance"]) == set(r["checks"]) for r in rows)
    assert any(v < 0 for r in rows for v in r["stance"].values()) and any(v > 0 for r in rows for v in r["stance"].values())


@pytest.fixture(scope="module")
def qwen_engine(qwen_path):
    from app.llm.engine import ChatEngine
    return ChatEngine(qwen_path)


@pytest.mark.slow
def test_the_default_models_grade_reads_the_stance_into_its_choice(questions, qwen_engine, embedder) -> None:
    """A real 1.5B grade of a dev answer that names two options only to reject them: the stance is in the grade's
    evidence, and the choice's probabilities are the fitted combiner's with that stance (not without it)."""
    from app.llm.grader import GradingTools, embedding_similarity, grade_answer
    answer = ("One tool call. The model pulls the order number out of the message, our backend checks that order "
              "actually belongs to the logged-in customer, then hits the orders API live. A nightly dump would be "
              "hours out of date for something that moves every few minutes, and there's only one fixed step here so "
              "a planning agent has nothing to plan.")
    from app.core.option_order import model_order
    from app.llm import grader
    question = questions["agents-001"]
    grader.prime_question(qwen_engine, question)  # while the user types: the empty answer's reading is taken here
    assert (qwen_engine.name, grader.choice_prefix(model_order(question))) in grader._EMPTY_READINGS
    empty = grader.empty_reading(qwen_engine, model_order(question))
    grade = grade_answer(question, answer, GradingTools(qwen_engine, embedding_similarity(embedder)), explain=False)
    ev = grade.evidence
    options = {o.id for o in question.options}
    assert ev["empty"] == empty and set(empty["letters"]) == options | {"none"} and set(empty["checks"]) == options
    assert ev["checks"] and set(ev["stance"]) == {o.id for o in questions["agents-001"].options}, ev
    with_stance = choice_fit.fitted_choice(ev["lexical"], ev["letters"], ev["checks"], ev["closeness"], ev["stance"],
                                           ev["opening"], ev["empty"], ev["closing"])
    without = choice_fit.fitted_choice(ev["lexical"], ev["letters"], ev["checks"], ev["closeness"], {}, ev["opening"],
                                       ev["empty"], ev["closing"])
    assert ev["model"] == pytest.approx(with_stance, abs=5e-3), (ev["model"], with_stance, without)
    assert with_stance != pytest.approx(without, abs=2e-2), (with_stance, without)
