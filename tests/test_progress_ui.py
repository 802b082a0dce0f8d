"""The History and Progress tabs and the practice view's review bar, as real widgets driven by qtbot."""
from __future__ import annotations

import json
from datetime import date, datetime, time as dt_time

import pytest
from history_data import DAY, add_attempt
from PySide6.QtCore import Qt, QUrl

from app.core.review import AGAIN
from app.llm.grader import GradingTools, grade_answer
from app.storage import history
from app.ui.charts import count_axis
from app.ui.dashboard_view import DashboardView
from app.ui.history_view import HistoryView
from app.sessions.dispatcher import GradingDispatcher
from app.ui.delivery import GuiDelivery
from app.ui.practice_view import PracticeView

NOW = datetime.combine(date.today(), dt_time(12)).timestamp()  # midday: 'due today' never straddles midnight


@pytest.fixture
def filled(db, library) -> list[int]:
    q = library.by_id
    return [add_attempt(db, q["rag-001"], "correct", NOW - 3 * DAY, answer_seconds=60),
            add_attempt(db, q["embeddings-001"], "incorrect", NOW - 2 * DAY),
            add_attempt(db, q["agents-001"], "correct", NOW - DAY),
            add_attempt(db, q["chunking-001"], "partial", NOW - 60)]


def rows(view: HistoryView) -> list[int]:
    return [view.list.topLevelItem(i).data(0, Qt.UserRole) for i in range(view.list.topLevelItemCount())]


def test_history_lists_opens_and_filters(qtbot, db, library, filled) -> None:
    view = HistoryView(library, db)
    qtbot.addWidget(view)
    assert rows(view) == list(reversed(filled))
    view.list.setCurrentItem(view.list.topLevelItem(2))  # the embeddings answer, graded incorrect
    shown = view.grade_view.toPlainText()
    grade = history.attempt_grade(history.get_attempt(db, filled[1]))
    assert f"Incorrect {grade.score}/100" in " ".join(shown.split())
    assert grade.explanation.splitlines()[0] in shown
    assert history.get_attempt(db, filled[1])["answer"] in view.header.text()
    view.verdict.setCurrentIndex(view.verdict.findData("correct"))
    assert rows(view) == [filled[2], filled[0]]
    view.verdict.setCurrentIndex(0)
    view.text.setText("embeddings-001")
    assert rows(view) == [filled[1]]
    assert view.count.text() == "1 of 4"


def test_override_with_one_click(qtbot, db, library, filled) -> None:
    view = HistoryView(library, db)
    qtbot.addWidget(view)
    view.show()
    view.list.setCurrentItem(view.list.topLevelItem(2))
    assert not view.override_buttons["incorrect"].isEnabled()
    with qtbot.waitSignal(view.data_changed):
        qtbot.mouseClick(view.override_buttons["correct"], Qt.LeftButton)
    stored = history.get_attempt(db, filled[1])
    assert (stored["verdict"], stored["override_verdict"]) == ("incorrect", "correct")
    assert view.list.currentItem().text(3) == "correct (yours)"
    assert "you marked it" in view.override_label.text()
    shown = view.grade_view.toPlainText()
    assert shown.startswith("Correct (your verdict)") and "The grader said incorrect" in shown  # the headline follows
    qtbot.mouseClick(view.undo_button, Qt.LeftButton)
    assert history.get_attempt(db, filled[1])["override_verdict"] is None


def test_grade_again_grades_a_pending_practice_attempt(qtbot, db, library) -> None:
    from app.storage.userdb import record_attempt
    question = library.by_id["rag-001"]
    attempt_id = record_attempt(db, {"question_id": question.id, "answer": "RAG, because " + question.key_points[0].text,
                                     "choice": "", "verdict": "pending", "score": 0, "grade_json": "",
                                     "model": "rubric only", "mode": "practice", "started_at": NOW - 60,
                                     "submitted_at": NOW, "answer_seconds": 60.0, "grade_seconds": 0.0})
    dispatcher = GradingDispatcher(library, GuiDelivery())
    practice = PracticeView(library, db, dispatcher)
    view = HistoryView(library, db, practice.session)
    qtbot.addWidget(view)
    qtbot.addWidget(practice)
    view.show()
    view.list.setCurrentItem(view.list.topLevelItem(0))
    assert view.again_button.isVisible() and "was not graded" in view.grade_view.toPlainText()
    with qtbot.waitSignal(view.data_changed, timeout=30_000):
        qtbot.mouseClick(view.again_button, Qt.LeftButton)
    row = history.get_attempt(db, attempt_id)
    assert row["verdict"] in ("correct", "partial", "incorrect") and history.question_review(db, attempt_id)
    assert "/100" in view.grade_view.toPlainText()
    dispatcher.shutdown()


def test_history_empty_state(qtbot, db, library) -> None:
    view = HistoryView(library, db)
    qtbot.addWidget(view)
    assert rows(view) == [] and "Practice tab" in view.header.text()


def test_dashboard_with_data(qtbot, db, library, filled) -> None:
    view = DashboardView(library, db)
    qtbot.addWidget(view)
    view.resize(1100, 900)
    view.show()
    assert view.stack.currentWidget() is view.content
    progress = view.progress
    assert progress.attempts == 4 and set(progress.mastery) == {"rag", "embeddings", "chunking", "agents"}
    mastery = view.charts["mastery"].chart().series()[0]
    assert mastery.barSets()[0].count() == 0  # one answer per topic is not enough to say
    assert all(view.library.notes_by_id[t].title in view.mastery_note.text() for t in progress.mastery)
    [dots] = [s for s in view.charts["trend"].chart().series() if s.name() == "score"]
    trend = [point.y() for point in dots.points()]
    assert len(trend) == 4 and max(trend) == 100
    per_day = view.charts["per_day"].chart().series()[0].barSets()[0]
    assert sum(per_day.at(i) for i in range(per_day.count())) == 4
    assert sum(n for _, n in progress.per_day) == 4
    assert [q.id for q in progress.due_today] == ["embeddings-001"]  # Again two days ago; the others are not due
    assert view.due_list.item(0).data(Qt.UserRole).id == "embeddings-001"
    assert sum(n for _, n in progress.due_forecast) == 4
    weak = view.weak.toHtml()
    assert progress.weak_points and f"cite:{progress.weak_points[0].section}" in weak
    with qtbot.waitSignal(view.section_clicked) as clicked:
        view.weak.anchorClicked.emit(QUrl(f"cite:{progress.weak_points[0].section}"))
    assert clicked.args == [progress.weak_points[0].section]
    with qtbot.waitSignal(view.question_requested) as chosen:
        view.due_list.itemActivated.emit(view.due_list.item(0))
    assert chosen.args[0].id == "embeddings-001"
    add_attempt(db, library.by_id["rag-001"], "correct", NOW - 3600)  # rag now has two answers
    view.refresh()
    mastery = view.charts["mastery"].chart().series()[0]
    assert mastery.barSets()[0].count() == 1 and view.progress.mastery["rag"][1] == "verdicts"


def test_dashboard_empty_state(qtbot, db, library) -> None:
    view = DashboardView(library, db)
    qtbot.addWidget(view)
    assert view.stack.currentWidget() is view.empty
    assert "Practice" in view.empty_label.text() and "first question" in view.empty_label.text()


def test_retention_setting(qtbot, db, library, filled) -> None:
    view = DashboardView(library, db)
    qtbot.addWidget(view)
    due = db["cards"].get("rag-001")["due"]
    view.retention.setValue(80)
    assert history.desired_retention(db) == 0.8 and db["cards"].get("rag-001")["due"] > due


def test_practice_records_the_review_and_draws_from_the_queue(qtbot, db, library, filled) -> None:
    dispatcher = GradingDispatcher(library, GuiDelivery())  # no chat model: rubric-only grades
    view = PracticeView(library, db, dispatcher)
    qtbot.addWidget(view)
    assert view.review_bar.due_button.text() == "Review due (1)"
    qtbot.mouseClick(view.review_bar.due_button, Qt.LeftButton)
    assert view.question.id == "embeddings-001"
    view.answer.setPlainText("I would pick the cheapest option; " + view.question.key_points[0].text)
    view.submit()
    qtbot.waitUntil(view.submit_button.isEnabled)
    attempt_id = view.session.current.attempt_id
    grade = grade_answer(view.question, view.answer.toPlainText(), GradingTools())
    review = history.question_review(db, attempt_id)
    assert review is not None and review["scheduled"] == 1
    assert json.loads(history.get_attempt(db, attempt_id)["grade_json"])["verdict"] == grade.verdict
    assert view.review_bar.ratings.checkedId() == review["rating"]
    assert view.review_bar.due_button.text() == "Review due (0)"
    qtbot.mouseClick(view.review_bar.ratings.button(AGAIN), Qt.LeftButton)
    assert history.question_review(db, attempt_id)["rating"] == AGAIN
    view.show_question(library.by_id["rag-001"])  # not due: answering it is cramming
    view.answer.setPlainText("RAG, because " + library.by_id["rag-001"].key_points[0].text)
    view.submit()
    qtbot.waitUntil(view.submit_button.isEnabled)
    assert view.review_bar.status.text().startswith("Extra practice: this question was not due, so its review date")
    assert history.question_review(db, view.session.current.attempt_id)["scheduled"] == 0
    dispatcher.shutdown()


@pytest.mark.parametrize("largest", [1, 2, 3, 5, 7, 13, 40, 99, 250])
def test_count_axes_tick_at_whole_numbers(qtbot, largest: int) -> None:
    # a count of 2 used to get ticks at 0.5 steps, printed "0, 0, 1, 1, 2"
    axis = count_axis(largest)
    step = axis.tickInterval()
    assert step >= 1 and step == int(step) and axis.min() == 0 and axis.max() >= largest
    assert axis.max() % step == 0 and axis.max() / step <= 6 and axis.max() - largest < step


def test_a_topic_whose_answers_all_scored_zero_shows_red_not_full_mastery(qtbot, db, library) -> None:
    question = library.by_id["rag-001"]
    for day in range(4):  # failed four times; each failure was a review, so FSRS alone said "recalled"
        add_attempt(db, question, "incorrect", NOW - (4 - day) * DAY)
    view = DashboardView(library, db)
    qtbot.addWidget(view)
    assert view.progress.mastery["rag"] == (0.0, "recall")
    bars = view.charts["mastery"].chart().series()[0].barSets()
    red = next(b for b in bars if b.label() == "below 40%")
    assert red.at(0) > 0 and all(b.at(0) == 0 for b in bars if b is not red)
