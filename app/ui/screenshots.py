"""`python -m app screenshots DIR`: drives the real window offscreen and saves each tab, light and dark, at two sizes."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app import paths
from app.core.interview import InterviewSettings
from app.core.schedule import DAY
from app.library import Library, open_library
from app.llm.grader import grade_answer
from app.storage import history
from app.storage.userdb import open_user_db, record_attempt, submitted_attempt
from app.ui import theme

SIZES = ((1280, 800), (1024, 640))
PRACTICE_QUESTION = "rag-001"
NOTE_SECTION = "fine-tuning-vs-rag#decision-guide"


def take_screenshots(out: Path, seed_answers: int = 18) -> list[Path]:
    """A throwaway data folder with some history graded from the rubric, one answer graded by the default model,
    then every tab grabbed in each theme and size. The learner's own data folder is never touched."""
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["COACH_DATA_DIR"] = scratch
        library = open_library()
        db = open_user_db(paths.user_db_path())
        seed_history(db, library, seed_answers)
        from app.ui.main_window import MainWindow
        window = MainWindow(library, db)
        window.show()
        window.start()
        _wait(app, lambda: window.model_state in ("ready", "failed", "none"), 180)
        _write_one(window, library)
        saved = _grab_tabs(app, window, out, {"practice-writing": window.practice})
        window.practice.submit()
        _wait(app, lambda: not window.practice.session.grading, 300)
        saved += _grab_tabs(app, window, out)
        _run_interview(app, window)
        saved += _grab_tabs(app, window, out, {"interview": window.interview})
        window.close()
        db.close()
    return saved


def _labelled_answers(per_file: int = 2) -> list[dict]:
    rows = []
    for path in sorted((paths.content_dir() / "answers").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:per_file] if line.strip()]
    return rows


def seed_history(db, library: Library, count: int) -> None:
    """Labelled learner answers from content/answers, graded from the rubric, spread over the last fortnight."""
    tools = library.grading_tools(None)
    rows = _labelled_answers()
    now = time.time()
    for n, row in enumerate(rows[:count]):
        question = library.by_id.get(row["question"])
        if question is None or question.id == PRACTICE_QUESTION:
            continue
        at = now - (count - n) * 0.8 * DAY
        attempt_id = record_attempt(db, submitted_attempt(question.id, row["answer"], "practice", at, 150.0))
        grade = grade_answer(question, row["answer"], tools)
        history.store_grade(db, attempt_id, grade.to_dict())
        history.record_review(db, attempt_id, now=at)


def _write_one(window, library: Library) -> None:
    """The practice question on screen with a labelled answer in the box, not yet submitted."""
    answers = (paths.content_dir() / "answers" / "rag.jsonl").read_text(encoding="utf-8").splitlines()
    window.practice.show_question(library.by_id[PRACTICE_QUESTION])
    window.practice.answer.setPlainText(json.loads(answers[0])["answer"])


def _run_interview(app, window) -> None:
    """A two-question mock interview answered with labelled answers, graded, its report on screen."""
    view = window.interview
    answers = {}
    for row in _labelled_answers(per_file=40):
        answers.setdefault(row["question"], row["answer"])
    if not view.start_interview(InterviewSettings(count=2, difficulty_mix={"easy": 1, "medium": 1, "hard": 0})):
        raise RuntimeError(f"the mock interview did not start: {view.setup.error.text()}")
    for _ in range(6):
        if view.session.finished:
            break
        if view.pages.currentWidget() is view.run_page:
            question_id = view.session.slots[view.session.current].question_id
            view.answer.setPlainText(answers.get(question_id, "I would pick the first option: it is simpler to run."))
        view.submit()  # on a feedback page (coached mode) this goes on to the next question
        _settle(app, 0.2)
    _wait(app, lambda: view.pages.currentWidget() is view.report_view and not view.control.pending, 300)


def _grab_tabs(app, window, out: Path, tabs: dict | None = None) -> list[Path]:
    tabs = tabs or {"practice": window.practice, "notes": window.notes, "history": window.history,
                    "progress": window.progress}
    window.notes.open_section(NOTE_SECTION)
    if window.history.list.topLevelItemCount():
        window.history.list.setCurrentItem(window.history.list.topLevelItem(0))
    saved = []
    for mode in ("light", "dark"):
        theme.apply(mode)
        for width, height in SIZES:
            window.resize(width, height)
            for name, tab in tabs.items():
                window.tabs.setCurrentWidget(tab)
                _settle(app)
                path = out / f"{name}-{mode}-{width}x{height}.png"
                window.grab().save(str(path))
                saved.append(path)
    return saved


def _settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _wait(app, done, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.05)
