"""`python -m app screenshots DIR --threads`: an interview thread (a question and its follow-up), a design round
stage and the report of both, light and dark, at 1280x800 and 1024x640. Graded from the rubric (no chat model is
loaded, so the figures come quickly); the bank's own design round and follow-ups when it has them, else the test
fixtures."""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app import paths
from app.content.open_items import parse_design_file, parse_followup_file
from app.core.interview import InterviewSettings
from app.library import open_library
from app.storage.userdb import open_user_db
from app.ui import theme
from app.ui.screenshots import SIZES, _settle, _wait

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "content"
QUESTION = "rag-006"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _library():
    library = open_library()
    followups = library.followups or parse_followup_file(FIXTURES / "followups" / "rag.toml", "rag.toml")[0]
    designs = library.designs or [parse_design_file(p, p.name)[0] for p in sorted((FIXTURES / "design").glob("*.toml"))]
    return dataclasses.replace(library, questions=[library.by_id[QUESTION]], followups=followups, designs=designs)


def take_thread_screenshots(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["COACH_DATA_DIR"] = scratch
        models = Path(scratch) / "models"
        models.mkdir()
        (models / "embed").symlink_to(paths.models_dir() / "embed", target_is_directory=True)
        os.environ["COACH_MODELS_DIR"] = str(models)
        library = _library()
        db = open_user_db(paths.user_db_path())
        from app.ui.main_window import MainWindow
        window = MainWindow(library, db)
        clock = Clock()
        window.interview.clock = clock
        window.show()
        window.start()
        view = window.interview
        window.tabs.setCurrentWidget(view)
        design = library.designs[0]
        if not view.start_interview(InterviewSettings(count=1, followups=True, design_round=design.id)):
            raise RuntimeError(view.setup.error.text())
        saved = []

        def answer(text: str, seconds: float) -> None:
            clock.now += seconds
            view.answer.setPlainText(text)
            view.submit()
            _settle(app, 0.2)
        answer("Fix the generation step. Instruct the model to answer strictly from the retrieved text, cite a chunk "
               "id per claim, and allow 'not in the documents' as an answer. Then have the LLM judge score "
               "faithfulness per claim on the 300 questions and compare against the current 20% baseline.", 150)
        follow = library.item(view.session.current_slot.question_id)
        points = [p.alternatives[0] if p.alternatives else p.text for p in follow.key_points]
        view.answer.setPlainText(points[0])
        saved += _grab(app, window, out, "interview-thread")
        answer(" ".join(points[:2]), 80)  # what a learner writes: two of its points in other words
        answer("Who reads the drafts, agents or customers? How quickly must a revised manual show up in answers? "
               "With $2,000 a month and 30,000 questions a day, each answer may cost under a fifth of a cent.", 300)
        view.answer.setPlainText("Retrieve passages from the manuals with hybrid search, rerank, and generate an "
                                 "answer that cites the manual page it used; agents approve drafts before sending.")
        saved += _grab(app, window, out, "design-stage")
        answer(view.answer.toPlainText(), 420)
        clock.now += 30 * 60
        _wait(app, lambda: view.pages.currentWidget() is view.report_view and not view.control.pending, 300)
        saved += _grab(app, window, out, "design-report")
        browser = view.report_view.browser
        browser.moveCursor(browser.textCursor().MoveOperation.End)
        browser.find("1 · follow-up", browser.document().FindFlag.FindBackward)  # the thread, then the stages
        saved += _grab(app, window, out, "design-report-thread")
        window.close()
        db.close()
    return saved


def _grab(app, window, out: Path, name: str) -> list[Path]:
    saved = []
    for mode in ("light", "dark"):
        theme.apply(mode)
        for width, height in SIZES:
            window.resize(width, height)
            _settle(app)
            path = out / f"{name}-{mode}-{width}x{height}.png"
            window.grab().save(str(path))
            saved.append(path)
    theme.apply("light")
    return saved
