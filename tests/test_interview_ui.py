"""The Interview tab driven by pytest-qt on the real window: timeouts, a restart mid-way, the report, coached mode."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app import paths
from app.core.interview import InterviewSettings
from app.library import open_library
from app.storage import interviews as store
from app.storage.userdb import attempts, get_setting, open_user_db, set_setting
from app.ui.interview_report_view import export_report
from app.ui.main_window import MainWindow

GRADE_TIMEOUT_MS = 120_000
ANSWER = ("I recommend retrieval-augmented generation: index the documents and retrieve the relevant passages at "
          "query time, because the content changes often and users need citations.")


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def embed_only_models(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder with the embedding model but no chat model: grades are rubric only (and fast)."""
    folder = tmp_path / "embed-only-models"
    folder.mkdir()
    (folder / "embed").symlink_to(models_dir / "embed", target_is_directory=True)
    monkeypatch.setenv("COACH_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def make_window(qtbot, bank_in_data_dir: Path):
    """A MainWindow the way app.ui.run builds it, on COACH_DATA_DIR, with a fake clock in the Interview tab."""
    def make(clock: FakeClock, model_path: Path | None = None) -> MainWindow:
        db = open_user_db(paths.user_db_path())
        if model_path is not None:
            set_setting(db, "model_path", str(model_path))
        window = MainWindow(open_library(), db)
        window.interview.clock = clock
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        return window
    return make


def notes_enabled(window: MainWindow) -> bool:
    return window.tabs.isTabEnabled(window.tabs.indexOf(window.notes))


def press(qtbot, widget, key, modifier=Qt.NoModifier) -> None:
    qtbot.keyClick(widget, key, modifier)


def test_full_interview_with_timeout_and_restart(make_window, qtbot, embed_only_models, tmp_path: Path) -> None:
    clock = FakeClock(100.0)
    window = make_window(clock)
    view = window.interview
    window.tabs.setCurrentWidget(view)
    view.setup.count.setValue(3)
    view.setup.minutes.setValue(1.0)
    view.setup.interview_mode.setChecked(True)
    view.setup.allow_pause.setChecked(False)
    assert view.setup.preset.currentText() == "Custom"
    qtbot.mouseClick(view.setup.start_button, Qt.LeftButton)
    assert view.pages.currentWidget() is view.run_page
    assert not notes_enabled(window) and not view.pause_button.isVisible()
    assert get_setting(window.db, "interview_settings")["count"] == 3
    interview_id = view.interview_id
    first_id = view.session.slots[0].question_id

    clock.advance(20)
    qtbot.keyClicks(view.answer, ANSWER)
    press(qtbot, view.answer, Qt.Key_Return, Qt.ControlModifier)
    assert view.session.current == 1 and view.answer.toPlainText() == ""
    [saved] = store.interview_answers(window.db, interview_id)
    assert (saved["question_id"], saved["answer"], saved["seconds"]) == (first_id, ANSWER, 20)
    assert [(a["mode"], a["answer_seconds"]) for a in attempts(window.db)] == [("interview", 20)]

    clock.advance(10)
    qtbot.keyClicks(view.answer, "Half an answer before the app closes")
    window.close()  # mid-question: the draft and the clock must survive

    later = FakeClock(7.0)
    window = make_window(later)
    view = window.interview
    assert window.tabs.currentWidget() is view and view.setup.banner.isVisible()
    qtbot.mouseClick(view.setup.resume_button, Qt.LeftButton)
    assert view.interview_id == interview_id and view.session.current == 1
    assert view.answer.toPlainText() == "Half an answer before the app closes"
    assert not notes_enabled(window)
    assert view.session.question_elapsed == pytest.approx(10, abs=0.01)

    view.answer.moveCursor(view.answer.textCursor().MoveOperation.End)
    qtbot.keyClicks(view.answer, ", finished after the restart.")
    later.advance(45)
    qtbot.waitUntil(lambda: view.session.warning and "nearly up" in view.warning.text())
    later.advance(10)
    qtbot.waitUntil(lambda: view.session.current == 2)  # the QTimer tick auto-submitted it
    timed_out = view.session.slots[1]
    assert timed_out.outcome == "timed out" and timed_out.seconds == 60
    assert timed_out.answer == "Half an answer before the app closes, finished after the restart."

    press(qtbot, view.answer, Qt.Key_Right, Qt.ControlModifier)
    assert view.session.slots[2].outcome == "skipped"
    assert view.pages.currentWidget() is view.report_view and notes_enabled(window)
    qtbot.waitUntil(lambda: not view.session.needing_grades(), timeout=GRADE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "All answers graded" in view.report_view.status.text())
    report = view.report_view.report
    assert [r.outcome for r in report.results] == ["answered", "timed out", "skipped"]
    assert all(r.grader == "rubric only" for r in report.results[:2])
    assert "(rubric only)" in view.report_view.browser.toPlainText()

    row = store.load_interview(window.db, interview_id)
    assert row["status"] == "finished" and row["score"] == report.score and "## 3." in row["report_md"]
    graded = [a for a in attempts(window.db) if a["mode"] == "interview"]
    assert [a["verdict"] != "pending" for a in graded] == [True, True, True]
    view.show_setup()
    assert view.setup.past.rowCount() == 1 and view.setup.past.item(0, 2).text() == f"{report.score}/100"
    view.setup.past.selectRow(0)
    qtbot.mouseClick(view.setup.open_button, Qt.LeftButton)
    assert view.pages.currentWidget() is view.report_view and view.report_view.report.score == report.score

    exported = {kind: export_report(report, tmp_path / f"report.{kind}") for kind in ("md", "html", "pdf")}
    assert exported["md"].read_text().startswith("# Mock interview")
    assert "<h1>" in exported["html"].read_text()
    assert exported["pdf"].read_bytes()[:5] == b"%PDF-"
    window.grab().save(str(Path("/tmp") / "interview_report.png"))


def test_draft_survives_a_crash(make_window, qtbot, embed_only_models) -> None:
    clock = FakeClock(0.0)
    window = make_window(clock)
    view = window.interview
    assert view.start_interview(InterviewSettings(count=2, seconds_per_question=60))
    clock.advance(12)
    qtbot.keyClicks(view.answer, "written just before the crash")
    qtbot.waitUntil(lambda: view.saved_label.text() == "Draft saved")
    # a second connection reads what is on disk, as a fresh process after a crash would
    other = open_user_db(paths.user_db_path())
    row = store.unfinished_interview(other)
    assert row["id"] == view.interview_id
    assert store.load_interview_draft(other, row["id"], 0) == "written just before the crash"
    assert row["state"]["question_elapsed"] == 12


def coached(make_window, qtbot, smol_path: Path, clock: FakeClock, **settings):
    """The window with the small model ready and a coached interview of two RAG questions started."""
    window = make_window(clock, smol_path)
    view = window.interview
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=GRADE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(view)
    assert view.start_interview(InterviewSettings(count=2, topics=("rag",), mode="coached", **settings))
    return window, view


def test_coached_interview_with_model_pause_and_abandon(make_window, qtbot, smol_path: Path) -> None:
    clock = FakeClock(50.0)
    window, view = coached(make_window, qtbot, smol_path, clock, seconds_per_question=30, allow_pause=True)
    assert notes_enabled(window) and view.pause_button.isVisible()
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    assert view.session.phase == "paused" and not view.answer.isVisible()
    clock.advance(600)
    qtbot.wait(2 * 200)  # let the QTimer tick while paused: nothing may time out
    assert view.session.current == 0
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    clock.advance(5)
    qtbot.keyClicks(view.answer, ANSWER)

    practice_question = window.practice.question
    window.practice.answer.setPlainText("I would fine-tune the model on the documents.")
    window.practice.submit()  # practice and interview share the worker: neither may take the other's grade
    press(qtbot, view.answer, Qt.Key_Return, Qt.ControlModifier)
    assert view.pages.currentWidget() is view.feedback_page
    interview_question = view.session.slots[0].question_id
    qtbot.waitUntil(lambda: view.session.slots[0].grade is not None and window.practice.grade_view.grade is not None
                    and window.practice.submit_button.isEnabled(), timeout=GRADE_TIMEOUT_MS)
    assert view.feedback.grade.question_id == interview_question
    assert window.practice.grade_view.grade.question_id == practice_question.id
    assert "SmolLM2" in view.session.slots[0].grade.grader

    press(qtbot, view.next_button, Qt.Key_Return, Qt.ControlModifier)
    assert view.pages.currentWidget() is view.run_page and view.session.current == 1
    qtbot.keyClicks(view.answer, "Unfinished thought")
    press(qtbot, view.answer, Qt.Key_Escape)
    box = view.abandon_box
    qtbot.waitUntil(box.isVisible)
    qtbot.mouseClick(box.button(QMessageBox.No), Qt.LeftButton)
    assert view.session.phase == "answering"
    press(qtbot, view.answer, Qt.Key_Escape)
    qtbot.mouseClick(view.abandon_box.button(QMessageBox.Yes), Qt.LeftButton)
    assert view.session.phase == "abandoned" and view.pages.currentWidget() is view.report_view
    assert view.session.slots[1].answer == "Unfinished thought"
    qtbot.waitUntil(lambda: not view.session.needing_grades(), timeout=GRADE_TIMEOUT_MS)
    assert store.load_interview(window.db, view.interview_id)["status"] == "abandoned"


def test_the_report_grades_again_with_the_model_what_the_rubric_graded(make_window, qtbot, embed_only_models,
                                                                        smol_path: Path) -> None:
    window = make_window(FakeClock(1.0))  # no chat model: the answer is graded from the rubric alone
    view = window.interview
    window.tabs.setCurrentWidget(view)
    view.setup.count.setValue(1)
    view.setup.interview_mode.setChecked(True)
    qtbot.mouseClick(view.setup.start_button, Qt.LeftButton)
    qtbot.keyClicks(view.answer, ANSWER)
    press(qtbot, view.answer, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: view.pages.currentWidget() is view.report_view and not view.control.pending,
                    timeout=GRADE_TIMEOUT_MS)
    regrade = view.report_view.buttons["regrade"]
    assert view.session.slots[0].grade.grader == "rubric only" and not regrade.isVisible()
    set_setting(window.db, "model_path", str(smol_path))
    window.load_model()
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=GRADE_TIMEOUT_MS)
    qtbot.waitUntil(regrade.isVisible)
    assert regrade.text() == "Grade again with the model"
    qtbot.mouseClick(regrade, Qt.LeftButton)
    qtbot.waitUntil(lambda: "SmolLM2" in view.session.slots[0].grade.grader, timeout=GRADE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "Graded by SmolLM2" in view.report_view.browser.toPlainText())
    stored = store.load_interview(window.db, view.interview_id)["state"]["slots"][0]["grade"]
    assert "SmolLM2" in stored["grader"]  # the new grade is saved with the interview, not only shown


def test_an_interview_question_is_primed_and_a_paused_draft_read_ahead(make_window, qtbot, smol_path: Path) -> None:
    from app.llm.yes_no import readings_taken
    from tests.test_practice_ui import type_and_pause
    window, view = coached(make_window, qtbot, smol_path, FakeClock(50.0), seconds_per_question=300)
    question_id = view.session.slots[0].question_id
    qtbot.waitUntil(lambda: f"{question_id} choice" in window.dispatcher.primed, timeout=GRADE_TIMEOUT_MS)
    read = type_and_pause(qtbot, window.dispatcher, view.answer, question_id, ANSWER)
    press(qtbot, view.answer, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: view.session.slots[0].grade is not None, timeout=GRADE_TIMEOUT_MS)
    assert readings_taken()["read"] == read  # the grade took every reading from the paused draft's
    assert "SmolLM2" in view.session.slots[0].grade.grader and view.session.slots[0].answer == ANSWER
    press(qtbot, view.next_button, Qt.Key_Return, Qt.ControlModifier)
    second = view.session.slots[1].question_id
    qtbot.waitUntil(lambda: f"{second} choice" in window.dispatcher.primed, timeout=GRADE_TIMEOUT_MS)


def test_a_paste_in_an_interview_is_saved_at_once(make_window, qtbot, embed_only_models) -> None:
    from PySide6.QtGui import QGuiApplication
    window = make_window(FakeClock(0.0))
    view = window.interview
    assert view.start_interview(InterviewSettings(count=2, seconds_per_question=60))
    QGuiApplication.clipboard().setText(ANSWER)
    view.answer.setFocus()
    view.answer.paste()  # no wait: the timer of a pause cannot have fired
    assert store.load_interview_draft(window.db, view.interview_id, 0) == ANSWER
    assert view.saved_label.text() == "Draft saved"
