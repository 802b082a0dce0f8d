"""Say when unsure: key points and choices in the uncertain band are shown as such, with the learner's own call
("I made this point / I didn't", "I meant this option") stored beside the grader's grade, shown with what the rule
gives with it, and exported by export-overrides as a label."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from app.core import learner_calls
from app.core.model import PointResult
from app.core.policy import POLICY, points_for_choice
from app.evaluation import read_cases
from app.llm.grader import GradingTools, grade_answer
from app.storage import history
from app.storage.userdb import record_attempt, submitted_attempt, update_attempt
from app.ui.history_view import HistoryView

REPO_ROOT = Path(__file__).resolve().parent.parent
QID = "rag-001"


def graded(question, confidences: list[float], choice_confidence: float = 0.95):
    """A real rubric grade of the right option with its first key point, its points' confidences then set to the
    given values (the grade is the input here: what is tested is what happens to an unsure one)."""
    right = question.option(question.correct)
    grade = grade_answer(question, f"I recommend {right.label}. {question.key_points[0].text}", GradingTools(),
                         explain=False)
    points = [PointResult(p.id, p.text, c >= POLICY.point_threshold, c, p.span) for p, c in zip(grade.key_points, confidences)]
    return replace(grade, key_points=points, choice_confidence=choice_confidence)


def test_a_wrong_choice_needs_a_closer_sentence_to_make_a_key_point(questions) -> None:
    """A point between the two thresholds is made for an answer that chose the right option and not for one that
    chose a wrong one; when the learner says they meant the right option, the point counts again."""
    question = questions[QID]
    between = round((POLICY.point_threshold + POLICY.wrong_choice_point_threshold) / 2, 3)
    grade = graded(question, [between, 0.9, 0.2][: len(question.key_points)])
    wrong = next(o.id for o in question.options if o.id != question.correct)
    right_points = points_for_choice(question, question.correct, grade.key_points)
    wrong_points = points_for_choice(question, wrong, grade.key_points)
    assert [p.made for p in right_points][:2] == [True, True]
    assert [p.made for p in wrong_points][:2] == [False, True]
    as_wrong = replace(grade, choice=wrong, key_points=wrong_points)
    _, points, verdict, _ = learner_calls.with_calls(question, as_wrong, {learner_calls.CHOICE: question.correct})
    assert points[0].made and verdict == "correct"


def stored(db, question, grade) -> int:
    attempt_id = record_attempt(db, submitted_attempt(question.id, "my answer", "practice", 1000.0, 60.0))
    update_attempt(db, attempt_id, {"choice": grade.choice, "verdict": grade.verdict, "score": grade.score,
                                    "grade_json": json.dumps(grade.to_dict())})
    return attempt_id


def test_the_band_and_what_the_rule_gives_with_the_calls(questions) -> None:
    question = questions[QID]
    grade = graded(question, [0.9, 0.47, 0.2][: len(question.key_points)])
    assert [p.id for p in learner_calls.unsure_points(grade)] == [question.key_points[1].id]
    assert not learner_calls.choice_unsure(question, grade)
    assert learner_calls.choice_unsure(question, replace(grade, choice_confidence=0.55))
    assert not learner_calls.choice_unsure(question, replace(grade, flags=["keyword-list"], choice_confidence=0.1))
    every_point = {p.id: learner_calls.MADE for p in question.key_points}
    choice, points, verdict, score = learner_calls.with_calls(question, grade, every_point)
    assert choice == grade.choice and all(p.made for p in points) and (verdict, score) == ("correct", 100)
    wrong = next(o.id for o in question.options if o.id != question.correct)
    assert learner_calls.with_calls(question, grade, {learner_calls.CHOICE: wrong})[2] == "incorrect"
    with pytest.raises(ValueError, match="not a key point"):
        learner_calls.check(question, grade, "kp99", learner_calls.MADE)
    with pytest.raises(ValueError, match="not one of"):
        learner_calls.check(question, grade, learner_calls.CHOICE, "no-such-option")


def test_calls_are_stored_beside_the_grade_and_exported_as_labels(db, questions, tmp_path: Path) -> None:
    question = questions[QID]
    grade = graded(question, [0.9, 0.47, 0.2][: len(question.key_points)])
    attempt_id = stored(db, question, grade)
    unsure = question.key_points[1].id
    assert history.set_call(db, attempt_id, unsure, learner_calls.MADE, question) == {unsure: "made"}
    with pytest.raises(ValueError):
        history.set_call(db, attempt_id, unsure, "maybe", question)
    row = history.get_attempt(db, attempt_id)
    assert (row["verdict"], row["grade_json"]) == (grade.verdict, json.dumps(grade.to_dict()))  # the grade stands
    out = tmp_path / "labels.jsonl"
    result = subprocess.run([sys.executable, "-m", "app", "export-overrides", str(out)], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    [case] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    made_by_grader = [p.id for p in grade.key_points if p.made]
    assert case["kind"] == "learner-call" and case["learner_calls"] == {unsure: "made"}
    assert case["label"]["key_points"] == sorted({*made_by_grader, unsure}, key=[p.id for p in question.key_points].index)
    assert case["label"]["verdict"] == learner_calls.with_calls(question, grade, {unsure: "made"})[2]
    assert read_cases([out], {})[0]["question"].id == QID  # a valid eval case
    history.set_call(db, attempt_id, unsure, None, question)  # taken back: nothing left to export
    assert history.called_attempts(db) == []


def test_the_history_shows_unsure_items_and_takes_the_learners_call(qtbot, db, questions, library) -> None:
    question = questions[QID]
    grade = graded(question, [0.9, 0.47, 0.2][: len(question.key_points)], choice_confidence=0.55)
    attempt_id = stored(db, question, grade)
    view = HistoryView(library, db)
    qtbot.addWidget(view)
    view.refresh()
    view.open_attempt(attempt_id)
    text = view.grade_view.toPlainText()
    assert text.count("The grader is unsure here.") == 1 and "I made this point" in text
    assert "The grader is unsure which option you chose" in text
    html = view.grade_view.toHtml()
    unsure = question.key_points[1].id
    assert f"call:{unsure}:made" in html and f"call:choice:{question.correct}" in html
    view.grade_view.anchorClicked.emit(QUrl(f"call:{unsure}:made"))   # what a click on the link sends
    assert learner_calls.parse(history.get_attempt(db, attempt_id)["learner_calls"]) == {unsure: "made"}
    text = view.grade_view.toPlainText()
    assert "You said you made this point" in text and "The grader is unsure here." not in text
    assert "With your calls the rule gives" in text or "Your calls do not change the grade" in text
    view.grade_view.anchorClicked.emit(QUrl(f"call:choice:{question.correct}"))
    assert "You said you meant: " + question.option(question.correct).label in view.grade_view.toPlainText()
    view.grade_view.anchorClicked.emit(QUrl(f"call:{unsure}:undo"))
    assert learner_calls.parse(history.get_attempt(db, attempt_id)["learner_calls"]) == {"choice": question.correct}
    view.open_attempt(attempt_id)  # reopened: the calls come back from the database
    assert "You said you meant" in view.grade_view.toPlainText()
