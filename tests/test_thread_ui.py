"""The real window driven by pytest-qt: a full loop (a question, its follow-up, a design round answered for two
stages until its time runs out) graded by SmolLM2, the report of the whole thread and its exports; and the
Follow-up button of Practice."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app import paths
from app.content.open_items import parse_design_file, parse_followup_file
from app.library import open_library
from app.storage import interviews as store
from app.storage.userdb import attempts, open_user_db, set_setting
from app.ui.interview_report_view import export_report
from app.ui.main_window import MainWindow

FIXTURES = Path(__file__).resolve().parent / "data" / "content"
DESIGN = "design-support-assistant"
GRADE_TIMEOUT_MS = 300_000


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def narrowed_library():
    """The real bank narrowed to rag-006, with the test follow-ups and design round."""
    library = open_library()
    followups = parse_followup_file(FIXTURES / "followups" / "rag.toml", "rag.toml")[0]
    design = parse_design_file(FIXTURES / "design" / f"{DESIGN}.toml", "d.toml")[0]
    return dataclasses.replace(library, questions=[library.by_id["rag-006"]], followups=followups, designs=[design])


@pytest.fixture
def make_window(qtbot, bank_in_data_dir: Path):
    def make(clock: FakeClock, model_path: Path | None = None) -> MainWindow:
        db = open_user_db(paths.user_db_path())
        if model_path is not None:
            set_setting(db, "model_path", str(model_path))
        window = MainWindow(narrowed_library(), db)
        window.interview.clock = clock
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        return window
    return make


def submit(qtbot, view, text: str) -> None:
    qtbot.keyClicks(view.answer, text)
    qtbot.keyClick(view.answer, Qt.Key_Return, Qt.ControlModifier)


def test_a_full_loop_with_a_followup_and_a_design_round(make_window, qtbot, smol_path: Path, tmp_path: Path) -> None:
    clock = FakeClock(10.0)
    window = make_window(clock, smol_path)
    view = window.interview
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=GRADE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(view)
    assert view.setup.design.findData(DESIGN) >= 0
    view.setup.count.setValue(1)
    view.setup.followups.setChecked(True)
    view.setup.design.setCurrentIndex(view.setup.design.findData(DESIGN))
    qtbot.mouseClick(view.setup.start_button, Qt.LeftButton)
    assert view.pages.currentWidget() is view.run_page and "Question 1 of 1" in view.header.text()

    clock.now += 60
    submit(qtbot, view, "Fix the generation step: answer only from the retrieved context and cite chunk ids.")
    # the follow-up is on screen at once, in one thread with the question and the answer
    assert view.session.current_slot.kind == "followup" and "Follow-up to question 1" in view.header.text()
    shown = view.prompt.text()
    assert "Interviewer:" in shown and "answer only from the retrieved context" in shown
    assert view.session.current_slot.prompt.split()[0] in shown and view.countdown.text() == "3:00"
    followup_opening = " ".join(view.session.current_slot.prompt.split()[:6])  # the fixture has two; either may be drawn

    clock.now += 45
    submit(qtbot, view, "Re-run the same eval set with the same judge before and after the change.")
    assert "Design round · stage 1 of 5" in view.header.text() and "Requirements and clarifying" in view.prompt.text()
    assert view.countdown.text() == "30:00"
    clock.now += 6 * 60
    submit(qtbot, view, "How fresh must answers be after a manual changes, and what may each answer cost?")
    assert "stage 2 of 5" in view.header.text() and view.countdown.text() == "24:00"
    clock.now += 8 * 60
    submit(qtbot, view, "Retrieve passages from the manuals and cite the manual page each answer used.")
    qtbot.keyClicks(view.answer, "Chunk by section and keep page numbers")
    clock.now += 17 * 60
    qtbot.waitUntil(lambda: view.pages.currentWidget() is view.report_view)  # the round's time ran out
    outcomes = [s.outcome for s in view.session.slots]
    assert outcomes == ["answered", "answered", "answered", "answered", "timed out", "not answered", "not answered"]
    qtbot.waitUntil(lambda: not view.session.needing_grades(), timeout=GRADE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "All answers graded" in view.report_view.status.text())
    text = view.report_view.browser.toPlainText()
    for part in ("1 · follow-up", followup_opening, "Re-run the same eval set with the same judge",
                 "Design round: A support assistant over product manuals", "Design · Architecture",
                 "A strong answer", "Chunk by section and keep page numbers"):
        assert part in text, part
    assert all("SmolLM2" in s.grade.grader for s in view.session.slots if s.grade)
    report = view.report_view.report
    exported = {kind: export_report(report, tmp_path / f"report.{kind}") for kind in ("md", "html", "pdf")}
    assert "### 1 · follow-up" in exported["md"].read_text() and "Design round:" in exported["md"].read_text()
    assert "1 · follow-up" in exported["html"].read_text()
    assert exported["pdf"].read_bytes()[:5] == b"%PDF-"
    assert store.load_interview(window.db, view.interview_id)["status"] == "finished"


def test_practice_offers_a_followup_after_a_grade(make_window, qtbot, no_models: Path) -> None:
    window = make_window(FakeClock(0.0))
    practice = window.practice
    assert practice.question.id == "rag-006" and not practice.followup_button.isVisible()
    practice.answer.setPlainText("Work on the generation step: answer only from context and cite chunk ids.")
    practice.submit()
    qtbot.waitUntil(lambda: practice.followup_button.isVisible(), timeout=GRADE_TIMEOUT_MS)
    qtbot.mouseClick(practice.followup_button, Qt.LeftButton)
    assert practice.question.id.startswith("rag-006-f") and "Interviewer:" in practice.question_label.text()
    assert "· follow-up ·" in practice.question_meta.text()
    practice.answer.setPlainText("Re-run the same eval set with the same judge before and after the change.")
    practice.submit()
    qtbot.waitUntil(lambda: practice.grade_view.grade is not None and practice.submit_button.isEnabled(),
                    timeout=GRADE_TIMEOUT_MS)
    assert practice.grade_view.grade.question_id == practice.question.id
    assert "Your choice" not in practice.grade_view.toPlainText()
    assert [a["question_id"] for a in attempts(window.db)] == ["rag-006", practice.question.id]
