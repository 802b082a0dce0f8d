"""The review session in a real main window: 'Review due (N)', grading, keys 1-4, intervals, the summary."""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from history_data import DAY, add_attempt
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app import paths
from app.core.review import AGAIN, GOOD, HARD
from app.core.schedule import RATINGS, interval_text
from app.library import open_library
from app.storage import history
from app.storage.userdb import attempts, open_user_db, set_setting
from app.ui import theme
from app.ui.main_window import MainWindow

LOAD_TIMEOUT_MS = 60_000
GRADE_TIMEOUT_MS = 120_000
DUE = ("embeddings-001", "agents-001")  # answered weeks ago, so due now, the most overdue first
UI = Path(__file__).resolve().parent.parent / "app" / "ui"


@pytest.fixture
def make_window(qtbot, bank_in_data_dir: Path):
    """A user database with past answers (two questions due today, one not), then MainWindow as app.ui.run builds it."""
    def make(model_path: Path | None = None) -> MainWindow:
        db = open_user_db(paths.user_db_path())
        library = open_library()
        now = time.time()
        add_attempt(db, library.by_id["embeddings-001"], "incorrect", now - 40 * DAY)
        add_attempt(db, library.by_id["agents-001"], "correct", now - 30 * DAY)
        add_attempt(db, library.by_id["rag-001"], "correct", now - 60)
        if model_path is not None:
            set_setting(db, "model_path", str(model_path))
        window = MainWindow(library, db)
        qtbot.addWidget(window)
        window.resize(1024, 640)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # keys reach a window only when it is the active one
        return window
    return make


def answer_with_keyboard(qtbot, window: MainWindow) -> int:
    """Type an answer to the question on screen, Ctrl+Return, and wait for the final grade and its rating buttons."""
    practice = window.practice
    question = practice.question
    practice.answer.clear()
    practice.answer.setFocus()
    qtbot.waitUntil(practice.answer.hasFocus)
    qtbot.keyClicks(practice.answer, f"I recommend {question.option(question.correct).label}. "
                    + question.key_points[0].text)
    qtbot.keyClick(practice.answer, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: practice.review_bar.ratings.button(GOOD).isVisible(), timeout=GRADE_TIMEOUT_MS)
    return practice.session.current.attempt_id


def press(qtbot, key: str) -> None:
    """A digit key, sent where the keyboard focus is."""
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, key)


def stored_rating(window: MainWindow, attempt_id: int) -> int:
    return history.question_review(window.db, attempt_id)["rating"]


def test_a_review_session_goes_through_the_due_queue_and_sums_up(make_window, qtbot, smol_path: Path) -> None:
    window = make_window(smol_path)
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=LOAD_TIMEOUT_MS)
    practice, bar = window.practice, window.practice.review_bar
    assert bar.due_button.text() == "Review due (2)" and not bar.end_button.isVisible()
    qtbot.mouseClick(bar.due_button, Qt.LeftButton)
    assert practice.question.id == DUE[0]
    assert bar.progress.isVisible() and bar.progress.text() == "Review 1 of 2"
    assert bar.end_button.isVisible() and not bar.due_button.isVisible()

    first = answer_with_keyboard(qtbot, window)
    assert "SmolLM2" in attempts(window.db, DUE[0])[-1]["model"]
    assert bar.ratings.checkedId() == stored_rating(window, first)  # the grader's proposal, shown
    intervals = history.rating_intervals(window.db, first)
    assert [bar.ratings.button(r).text() for r in RATINGS] == [
        f"{name} · {interval_text(intervals[r])}" for r, name in RATINGS.items()]
    assert "remember 90% of questions when they come due" in bar.status.toolTip()
    assert window.minimumSizeHint().width() <= 1024, "the bar must not force the window wider"
    status = bar.status  # it wraps instead, and gets the height its lines need
    qtbot.waitUntil(lambda: status.height() >= status.heightForWidth(status.width()) > 0)
    assert not practice.answer.hasFocus(), "after a submit the keys rate, they do not type"
    press(qtbot, "1")
    qtbot.waitUntil(lambda: practice.question.id == DUE[1])
    assert stored_rating(window, first) == AGAIN
    assert bar.progress.text() == "Review 2 of 2" and practice.grade_view.grade is None

    second = answer_with_keyboard(qtbot, window)
    qtbot.mouseClick(bar.ratings.button(GOOD), Qt.LeftButton)
    assert stored_rating(window, second) == GOOD
    shown = practice.grade_view.toPlainText()
    assert "Review done: all 2 due questions answered" in shown
    verdicts = [history.get_attempt(window.db, a)["verdict"] for a in (first, second)]
    assert (f"Answered 2: {verdicts.count('correct')} correct, {verdicts.count('partial')} partial, "
            f"{verdicts.count('incorrect')} incorrect.") in shown
    tomorrow = date.today() + timedelta(days=1)
    due_tomorrow = [c for c in history.cards(window.db) if datetime.fromtimestamp(c["due"]).date() == tomorrow]
    assert len(due_tomorrow) >= 1  # the one rated Again
    assert f"Next due tomorrow, {len(due_tomorrow)} question" in shown
    assert not any(b.isVisible() for b in bar.ratings.buttons()) and not bar.progress.isVisible()
    assert bar.due_button.text() == "Review due (0)"

    qtbot.mouseClick(bar.back_button, Qt.LeftButton)
    assert practice.question.id not in DUE[1:] and not bar.back_button.isVisible()
    assert "Review done" not in practice.grade_view.toPlainText()


def test_keys_rate_a_graded_answer_but_type_in_the_answer_box(make_window, qtbot, no_models) -> None:
    window = make_window()
    practice, bar = window.practice, window.practice.review_bar
    practice.show_question(window.library.by_id[DUE[1]])  # a due question, in normal practice (no review session)
    before = len(attempts(window.db))
    practice.grade_view.setFocus()
    press(qtbot, "2")  # no graded answer on screen: the key does nothing
    qtbot.wait(300)
    assert len(attempts(window.db)) == before and not bar.ratings.button(HARD).isVisible()
    attempt = answer_with_keyboard(qtbot, window)
    proposed = stored_rating(window, attempt)
    assert " · " in bar.ratings.button(GOOD).text()  # the intervals are shown, and the keys still work

    practice.answer.setFocus()  # the learner goes back to edit the answer: a digit is text there
    qtbot.waitUntil(practice.answer.hasFocus)
    typed = practice.answer.toPlainText()
    press(qtbot, "1")
    assert practice.answer.toPlainText() == typed + "1"
    qtbot.wait(300)  # a button shortcut clicks after a short animation: give it the chance to (wrongly) fire
    assert stored_rating(window, attempt) == proposed

    practice.grade_view.setFocus()
    for key, rating in (("1", AGAIN), ("2", HARD), ("3", GOOD)):
        press(qtbot, key)
        qtbot.waitUntil(lambda: stored_rating(window, attempt) == rating)
        assert bar.ratings.checkedId() == rating
    assert practice.question.id == DUE[1], "outside a review session a rating does not move on"

    practice.show_question(window.library.by_id["rag-001"])  # not due: extra practice, its rating moves no date
    crammed = answer_with_keyboard(qtbot, window)
    assert bar.status.text().startswith("Extra practice: this question was not due")
    assert [b.text() for b in bar.ratings.buttons()] == list(RATINGS.values())
    press(qtbot, "4")
    qtbot.waitUntil(lambda: stored_rating(window, crammed) == 4)


def test_end_review_keeps_what_was_answered_and_leaving_ends_it(make_window, qtbot, no_models) -> None:
    window = make_window()
    practice, bar = window.practice, window.practice.review_bar
    qtbot.mouseClick(bar.due_button, Qt.LeftButton)
    attempt = answer_with_keyboard(qtbot, window)  # graded, rating proposed, not confirmed
    qtbot.mouseClick(bar.end_button, Qt.LeftButton)
    shown = practice.grade_view.toPlainText()
    assert "Review ended: 1 of 2 due questions answered" in shown and "Answered 1:" in shown
    assert "Next due today, 1 question." in shown
    assert history.question_review(window.db, attempt)["scheduled"] == 1
    assert bar.due_button.isVisible() and bar.due_button.text() == "Review due (1)"
    assert not bar.end_button.isVisible() and bar.back_button.isVisible()

    qtbot.mouseClick(bar.due_button, Qt.LeftButton)  # again: the rest of the queue
    assert practice.question.id == DUE[1] and bar.progress.text() == "Review 1 of 1"
    qtbot.mouseClick(practice.next_button, Qt.LeftButton)  # off to another question
    assert practice.question.id != DUE[1] and not bar.progress.isVisible() and bar.due_button.isVisible()
    assert bar.status.text().startswith("Review ended: you moved to another question")


def test_the_bar_follows_the_theme(make_window, no_models) -> None:
    bar = make_window().practice.review_bar
    app = QApplication.instance()
    style, palette = app.style().name(), app.palette()
    assert theme.colour("muted") in bar.status.styleSheet()
    try:
        theme.apply("dark")
        assert theme.DARK["muted"] in bar.status.styleSheet() and theme.DARK["accent"] in bar.progress.styleSheet()
    finally:
        app.setStyle(style)
        app.setPalette(palette)
        theme.notifier().changed.emit()
    assert theme.colour("muted") in bar.status.styleSheet()


def test_no_colour_literals_in_the_review_bar() -> None:
    source = (UI / "review_view.py").read_text(encoding="utf-8")
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|QColor\(|Qt\.(red|green|blue|gray|black|white)"
                         r"|color:\s*[a-zA-Z]", source)
