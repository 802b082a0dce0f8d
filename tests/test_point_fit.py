"""The key-point checks (app/core/point_fit.py): the fit file names its data, command and model; the model is asked
only about points in the band, only while the verdict depends on them; a real 1.5B grade uses them only when the
choice is the right option."""
from __future__ import annotations

import pytest

from app.core import point_fit
from app.core.policy import POLICY

# a fit that follows the model's yes alone: P(made) = sigmoid(4 * (logit P(yes) - logit P(yes | empty)))
FOLLOWS_YES = {"weights": [0.0, 4.0, -4.0], "bias": 0.0, "mean": [0.0, 0.0, 0.0], "scale": [1.0, 1.0, 1.0]}


def test_the_fit_file_names_its_data_command_and_model() -> None:
    fit = point_fit.fitted()
    assert fit["command"].startswith("python -m app.fit_points") and "--split dev" in fit["command"]
    assert fit["model_file"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert fit["features"] == list(point_fit.FEATURES) and fit["band"] == list(point_fit.BAND)
    # the rubric and the model's yes count for a point; the model's yes to an empty answer counts against it
    rubric, yes, empty = fit["weights"]
    assert rubric > 0 and yes > 0 and empty < 0
    assert len(fit["rows"]) > 150 and all(r["points"] and r["question"] for r in fit["rows"])


def test_only_points_in_the_band_are_asked_and_only_while_the_verdict_depends_on_them() -> None:
    asked = []

    def ask(index):
        asked.append(index)
        return (0.9, 0.3) if index == 1 else (0.2, 0.3)

    # four points, two needed: 0.8 is made by the rubric, 0.1 is not; of the two in the band the likelier (0.5) is
    # asked first and says yes: two made, the verdict no longer depends on the last one, which is not asked
    found = point_fit.decide([0.8, 0.5, 0.3, 0.1], POLICY.point_threshold, ask, FOLLOWS_YES)
    assert asked == [1] and set(found) == {1} and found[1] > 0.9
    # when the likelier one says no, the other is asked too
    asked.clear()
    found = point_fit.decide([0.8, 0.3, 0.5, 0.1], POLICY.point_threshold, ask, FOLLOWS_YES)
    assert asked == [2, 1] and found[2] < POLICY.point_threshold < found[1]
    # nothing asked when the rubric's sure points settle it either way
    asked.clear()
    assert point_fit.decide([0.9, 0.75, 0.5, 0.1], POLICY.point_threshold, ask, FOLLOWS_YES) == {}
    assert point_fit.decide([0.1, 0.15, 0.5, 0.05], POLICY.point_threshold, ask, FOLLOWS_YES) == {}
    assert asked == []


def test_held_out_by_question_the_checks_get_more_verdicts_and_points_right_than_the_rubric_alone() -> None:
    from app.fit_choice import question_halves
    from app.fit_points import fit, scores
    rows = point_fit.fitted()["rows"]
    rubric_points, rubric_verdicts, _ = scores(rows, None)
    points = verdicts = asked = 0
    for held in question_halves(rows, "0"):
        got = scores([r for r in rows if r["question"] in held], fit([r for r in rows if r["question"] not in held]))
        points, verdicts, asked = points + got[0], verdicts + got[1], asked + got[2]
    assert verdicts > rubric_verdicts + 5 and points > rubric_points
    assert asked < 2 * len(rows)  # early stopping: fewer than two checks per answer


def test_what_the_model_says_for_an_empty_answer_is_subtracted_by_the_stored_fit() -> None:
    eager = point_fit.probability(point_fit.features(0.45, 0.85, 0.85))  # says yes whatever the answer
    reads = point_fit.probability(point_fit.features(0.45, 0.85, 0.30))  # says yes only to this answer
    assert reads > eager + 0.1


@pytest.mark.slow
def test_the_default_models_grade_checks_the_points_that_decide_a_right_choice(questions, qwen_path, embedder):
    """A real 1.5B grade of a dev answer that chose the right option: the points the verdict depends on are checked,
    each checked point's confidence is the fit's P(made) from its rubric confidence and the model's two P(yes), and a
    point is made from the same threshold. An answer that chose a wrong option gets no point checks."""
    from app.core.option_order import model_order
    from app.core.rubric import rubric_signals
    from app.llm import grader
    from app.llm.engine import ChatEngine
    from app.llm.grader import GradingTools, embedding_similarity, grade_answer
    engine, similarity = ChatEngine(qwen_path), embedding_similarity(embedder)
    question = questions["agents-001"]
    answer = ("One tool call. The model pulls the order number out of the message, our backend checks that order "
              "actually belongs to the logged-in customer, then hits the orders API live. A nightly dump would be "
              "hours out of date for something that moves every few minutes, and there's only one fixed step here so "
              "a planning agent has nothing to plan.")
    grader.prime_question(engine, question)  # while the user types: the empty answer's point checks are read here
    empty = grader.empty_points(engine, model_order(question))
    assert set(empty) == {p.id for p in question.key_points}
    grade = grade_answer(question, answer, GradingTools(engine, similarity), explain=False)
    assert grade.choice == question.correct
    checked = grade.evidence["point_checks"]
    assert checked, grade.evidence
    rubric = {p.id: p.confidence for p in rubric_signals(model_order(question), answer, similarity).key_points}
    for point in grade.key_points:
        if point.id in checked:
            index = [p.id for p in question.key_points].index(point.id)
            yes = grader.point_yes(engine, model_order(question), answer, index)
            expected = point_fit.probability(point_fit.features(rubric[point.id], yes, empty[point.id]))
            assert point.confidence == pytest.approx(expected, abs=5e-3) == pytest.approx(checked[point.id], abs=5e-3)
            assert point_fit.in_band(rubric[point.id])
        else:
            assert point.confidence == pytest.approx(rubric[point.id], abs=1e-3)
        assert point.made == (point.confidence >= POLICY.point_threshold)
    from app.ui.grade_view import details_html  # the grade's details say which points the model was asked about
    lines = details_html(grade, "#000").split("<br>")
    for point in grade.key_points:
        line = next(line for line in lines if point.text[:40] in line)
        assert ("the model was asked" in line) == (point.id in checked)
    wrong = ("A planning agent. It can look the order up, check the nightly export and decide what to do next; a "
             "single tool call is too rigid for support work.")
    other = grade_answer(question, wrong, GradingTools(engine, similarity), explain=False)
    assert other.choice != question.correct and other.evidence["point_checks"] == {}


def test_the_stored_rows_read_as_todays_rubric_reads_them(questions, embedder) -> None:
    """As for the choice fit: a rubric change that alters a stored row needs `python -m app.fit_points ... --refit`."""
    from app.fit_points import reread
    from app.llm.grader import embedding_similarity
    from tests.test_choice_fit import same_reading, stored_cases
    fit = point_fit.fitted()
    now = reread(fit["rows"], stored_cases(fit["command"]), questions, embedding_similarity(embedder))
    stale = [(r["question"], r["kind"]) for r, again in zip(fit["rows"], now) if not same_reading(r, again)]
    assert len(now) == len(fit["rows"]) and not stale, stale
