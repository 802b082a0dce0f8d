"""The main window driven by pytest-qt: load a model, answer, grade, cancel, drafts, notes and citations."""
from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QTextCursor

from app import paths
from app.core.model import VERDICTS
from app.library import open_library
from app.storage import history
from app.storage.userdb import attempts, open_user_db, set_setting
from app.ui.grade_view import section_title
from app.ui.main_window import MainWindow

QID = "fine-tuning-vs-rag-001"
ANSWER = ("I recommend retrieval-augmented generation: index the wiki and look up the relevant pages at query time. "
          "The wiki changes every day, so an index updated in minutes stays current. Users need the source page, "
          "and retrieval gives citations naturally.")
LOAD_TIMEOUT_MS = 60_000
GRADE_TIMEOUT_MS = 120_000


@pytest.fixture
def make_window(qtbot, bank_in_data_dir: Path):
    """Builds MainWindow(open_library(), open_user_db()) the way app.ui.run does, with a saved model choice."""
    def make(model_path: str | Path | None = None) -> MainWindow:
        db = open_user_db(paths.user_db_path())
        if model_path is not None:
            set_setting(db, "model_path", str(model_path))
        window = MainWindow(open_library(), db)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window
    return make


def ready_window(make_window, qtbot, smol_path: Path) -> MainWindow:
    window = make_window(smol_path)
    window.start()
    qtbot.waitUntil(lambda: window.model_state == "ready", timeout=LOAD_TIMEOUT_MS)
    return window


def submit_with_keyboard(qtbot, window: MainWindow) -> None:
    """Ctrl+Return in the answer box, then wait until the worker's grade has reached the view."""
    practice = window.practice
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    practice.answer.setFocus()
    qtbot.waitUntil(practice.answer.hasFocus)
    before = len(attempts(window.db))
    qtbot.keyClick(practice.answer, Qt.Key_Return, Qt.ControlModifier)
    assert len(attempts(window.db)) == before + 1, "Ctrl+Return did not submit"
    assert not practice.submit_button.isEnabled()
    qtbot.waitUntil(practice.submit_button.isEnabled, timeout=GRADE_TIMEOUT_MS)
    assert practice.grade_view.grade is not None, practice.grade_view.toPlainText()


def submit_to_a_held_model(qtbot, window: MainWindow):
    """The shown question primed, the answer typed, the model process stopped (SIGSTOP), then Submit: returns the
    held process once the grade's first call is waiting on it. The caller kills or continues it."""
    practice = window.practice
    practice.show_question(window.library.by_id[QID])
    qtbot.waitUntil(lambda: f"{QID} written" in window.dispatcher.primed, timeout=LOAD_TIMEOUT_MS)
    qtbot.keyClicks(practice.answer, ANSWER)
    process = window.dispatcher.engine.process
    os.kill(process.pid, signal.SIGSTOP)
    qtbot.mouseClick(practice.submit_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: process.in_call is not None, timeout=30_000)
    return process


def click_citation(qtbot, window: MainWindow, heading: str) -> None:
    view = window.practice.grade_view
    found = view.document().find(heading)
    assert not found.isNull(), f"citation {heading!r} is not shown"
    cursor = QTextCursor(view.document())
    cursor.setPosition((found.selectionStart() + found.selectionEnd()) // 2)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    with qtbot.waitSignal(view.section_clicked, timeout=5000) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.cursorRect(cursor).center())
    return clicked.args[0]


def test_answer_grade_store_and_cite(make_window, qtbot, smol_path: Path, tmp_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    assert "SmolLM2" in window.model_label.toolTip()
    question = window.library.by_id[QID]
    window.practice.show_question(question)
    qtbot.keyClicks(window.practice.answer, ANSWER)
    assert window.practice.answer.toPlainText() == ANSWER

    submit_with_keyboard(qtbot, window)

    view = window.practice.grade_view
    grade = view.grade
    assert grade is not None and grade.question_id == QID and grade.verdict in VERDICTS
    shown = view.toPlainText()
    assert f"{grade.verdict.capitalize()}" in shown and f"{grade.score}/100" in shown
    assert "Graded by SmolLM2-135M-Instruct.Q4_1.gguf" in shown
    rows = attempts(window.db, QID)
    assert len(rows) == 1
    row = rows[0]
    assert row["answer"] == ANSWER and row["verdict"] == grade.verdict and row["score"] == grade.score
    assert row["model"] == grade.grader and "sha256 b179c9523d0e" in row["model"]
    assert json.loads(row["grade_json"])["verdict"] == grade.verdict
    assert window.practice.answer.toPlainText() == ANSWER

    shot = tmp_path / "practice-after-grading.png"
    assert window.grab().save(str(shot))
    image = QImage(str(shot))
    assert image.width() > 500 and image.height() > 400
    assert len({image.pixel(x, y) for x in range(0, image.width(), 40) for y in range(0, image.height(), 40)}) > 3

    assert grade.citations, "a strong answer to this question should cite the notes"
    target = grade.citations[0]
    assert "sha256" not in shown and "retrieval:" not in shown and f"({target.score:.2f})" not in shown  # no jargon
    assert click_citation(qtbot, window, section_title(target.heading)) == target.section_id
    notes = window.notes
    assert window.tabs.currentWidget() is notes
    assert notes.current_note == target.section_id.split("#")[0]
    assert notes.list.currentItem().data(256) in (target.section_id, notes.current_note)  # the list shows where
    band = notes.browser.extraSelections()
    assert len(band) == 1 and band[0].cursor.selectedText().startswith(target.heading.split(" > ")[-1])


def test_cancel_before_the_verdict_keeps_the_answer_and_a_pending_attempt(make_window, qtbot, smol_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    practice = window.practice
    model = submit_to_a_held_model(qtbot, window).pid  # a model stuck in a long prompt: the cancel must still land
    busy = practice.busy
    assert practice.cancel_button.isEnabled() and busy.isVisible()
    qtbot.mouseClick(practice.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(practice.submit_button.isEnabled, timeout=5000)
    assert not busy.isVisible()  # the busy bar on screen stops when the cancel lands
    assert practice.answer.toPlainText() == ANSWER and not practice.cancel_button.isEnabled()
    assert "Grading cancelled; your answer is kept" in practice.grade_view.toPlainText()
    assert practice.grade_view.grade is None and "/100" not in practice.grade_view.toPlainText()
    rows = attempts(window.db, QID)
    assert [(r["verdict"], r["grade_json"], r["answer"]) for r in rows] == [("pending", "", ANSWER)]
    # it did not give up within the grace period, so the process was ended and restarted
    engine = window.dispatcher.engine
    qtbot.waitUntil(lambda: engine.alive and engine.process.pid != model and window.model_state == "ready",
                    timeout=LOAD_TIMEOUT_MS)


def test_next_question_during_the_explanation_keeps_the_grade(make_window, qtbot, smol_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    practice = window.practice
    practice.show_question(window.library.by_id[QID])
    qtbot.keyClicks(practice.answer, ANSWER)
    qtbot.mouseClick(practice.submit_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: practice.grade_view.grade is not None, timeout=GRADE_TIMEOUT_MS)  # the verdict is shown
    qtbot.mouseClick(practice.next_button, Qt.LeftButton)
    assert practice.question.id != QID
    qtbot.waitUntil(lambda: bool(json.loads(attempts(window.db, QID)[0]["grade_json"] or "{}").get("explanation")),
                    timeout=GRADE_TIMEOUT_MS)
    row = attempts(window.db, QID)[0]
    assert row["verdict"] != "pending" and row["answer"] == ANSWER and "SmolLM2" in row["model"]
    assert history.question_review(window.db, row["id"]) is not None  # and its review was logged
    assert practice.grade_view.grade is None  # the new question's pane is not overwritten by the old grade


def test_resubmit_starts_a_fresh_explanation(make_window, qtbot, smol_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    practice = window.practice
    practice.show_question(window.library.by_id[QID])
    qtbot.keyClicks(practice.answer, ANSWER)
    submit_with_keyboard(qtbot, window)
    assert practice.grade_view.explanation
    at_verdict: list[str] = []
    shown = practice.on_verdict
    practice.on_verdict = lambda grade: (at_verdict.append(practice.grade_view.explanation), shown(grade))
    submit_with_keyboard(qtbot, window)
    assert len(attempts(window.db, QID)) == 2
    assert at_verdict == [""]


def test_draft_survives_a_new_window(make_window, qtbot, no_models: Path) -> None:
    first = make_window()
    first.start()
    question = first.library.by_id["quantization-002"]
    first.practice.show_question(question)
    qtbot.keyClicks(first.practice.answer, "Half an answer about int8")
    first.close()

    second = make_window()
    second.start()
    assert second.practice.question is not None and second.practice.question.id == question.id
    assert second.practice.answer.toPlainText() == "Half an answer about int8"
    assert second.practice.draft_label.text() == "Draft restored"
    assert attempts(second.db) == []


def test_no_model_still_grades_from_the_rubric(make_window, qtbot, no_models: Path) -> None:
    window = make_window()
    assert window.library.embedder is None
    window.start()
    assert window.model_state == "none"
    assert "none" in window.model_label.text() and str(no_models) in window.model_label.toolTip()
    window.practice.show_question(window.library.by_id[QID])
    qtbot.keyClicks(window.practice.answer, ANSWER)
    submit_with_keyboard(qtbot, window)
    grade = window.practice.grade_view.grade
    assert grade is not None and grade.grader == "rubric only" and grade.choice == "rag"
    assert "Graded by rubric only" in window.practice.grade_view.toPlainText()
    assert attempts(window.db, QID)[0]["model"] == "rubric only"


def test_corrupt_model_fails_with_its_name(make_window, qtbot, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt-model.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 4096)
    window = make_window(corrupt)
    window.start()
    qtbot.waitUntil(lambda: window.model_state == "failed", timeout=LOAD_TIMEOUT_MS)
    assert "failed" in window.model_label.text()
    assert "corrupt-model.gguf" in window.model_label.toolTip()
    assert "corrupt-model.gguf" in window.statusBar().currentMessage()
    window.practice.show_question(window.library.by_id[QID])
    qtbot.keyClicks(window.practice.answer, ANSWER)
    submit_with_keyboard(qtbot, window)
    assert window.practice.grade_view.grade.grader == "rubric only"


def test_notes_open_section_and_practice_this_topic(make_window, qtbot, no_models: Path) -> None:
    window = make_window()
    window.start()
    notes = window.notes
    window.tabs.setCurrentWidget(notes)
    assert notes.open_section("fine-tuning-vs-rag#decision-guide") is True
    assert notes.current_note == "fine-tuning-vs-rag"
    assert notes.title.text() == window.library.notes_by_id["fine-tuning-vs-rag"].title
    assert "Decision guide" in notes.browser.toPlainText()
    qtbot.waitUntil(lambda: notes.browser.verticalScrollBar().value() > 0)  # scrolled to the section
    assert notes.open_section("no-such-note") is False

    qtbot.mouseClick(notes.practice_button, Qt.LeftButton)
    assert window.tabs.currentWidget() is window.practice
    assert window.practice.topic.currentData() == "fine-tuning-vs-rag"
    assert window.practice.question.topic == "fine-tuning-vs-rag"


def test_notes_open_on_a_contents_page_whose_links_work(make_window, qtbot, no_models: Path) -> None:
    window = make_window()
    notes = window.notes
    window.tabs.setCurrentWidget(notes)
    assert notes.current_note is None and not notes.practice_button.isEnabled()
    shown = notes.browser.toPlainText()
    assert all(note.title in shown for note in notes.library.notes)
    found = notes.browser.document().find("Hybrid search and reranking")
    assert not found.isNull()
    cursor = QTextCursor(notes.browser.document())
    cursor.setPosition((found.selectionStart() + found.selectionEnd()) // 2)
    notes.browser.setTextCursor(cursor)
    notes.browser.ensureCursorVisible()
    qtbot.mouseClick(notes.browser.viewport(), Qt.LeftButton, pos=notes.browser.cursorRect(cursor).center())
    assert notes.current_note == "hybrid-search" and notes.practice_button.isEnabled()
    assert notes.title.text() == "Hybrid search and reranking"


def test_a_small_window_shows_the_whole_question_and_every_option(make_window, qtbot, no_models: Path) -> None:
    # at 1024x640 the splitter gave the question too little height and the options were cut off mid-line
    window = make_window()
    window.resize(1024, 640)
    window.practice.show_question(window.library.by_id["peft-007"])  # a long scenario with four options
    label = window.practice.question_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=5000)
    assert "Distil the tuned model" in label.text() and window.practice.grade_view.height() > 100


def test_the_answer_box_gets_the_room_while_writing_and_the_grade_after_submit(make_window, qtbot,
                                                                                no_models: Path) -> None:
    # at 1024x640 an even split under a long scenario left the answer box about four lines tall
    window = make_window()
    window.resize(1024, 640)
    practice = window.practice
    practice.show_question(window.library.by_id["peft-007"])  # a long scenario with four options
    lines = practice.answer.fontMetrics().lineSpacing()
    qtbot.wait(300)  # the layout settles
    assert practice.answer.viewport().height() >= 6 * lines  # it was four lines
    assert practice.grade_view.height() > 100  # the grade pane keeps room for its status line
    assert "Your grade appears here" in practice.grade_view.toPlainText()
    writing_answer, writing_grade = practice.answer.height(), practice.grade_view.height()
    practice.answer.setPlainText(ANSWER)
    practice.submit()
    qtbot.waitUntil(lambda: practice.grade_view.grade is not None and not practice.session.grading, timeout=20_000)
    assert practice.draft_label.text() == "Answer submitted"
    # the grade takes the room the answer box had (the whole scenario stays in view above)
    assert practice.grade_view.height() > writing_grade + 2 * lines and practice.answer.height() < writing_answer
    # a drag sets the share for the phase it is made in, and the window keeps both shares between runs
    practice.next_question()
    splitter = practice.splitter
    assert splitter.sizes()[0] > 2 * splitter.sizes()[1]  # writing again
    splitter.moveSplitter(round(sum(splitter.sizes()) * 0.6), 1)
    writing_share = splitter.shares["writing"]
    assert 0.57 <= writing_share <= 0.63
    splitter.moveSplitter(0, 1)  # the answer box cannot be dragged out of sight
    assert practice.answer.height() > 2 * lines
    window.close()
    again = make_window()
    again.start()
    assert again.practice.splitter.shares["writing"] == splitter.shares["writing"]


def test_notes_search_lists_sections(make_window, qtbot, no_models: Path) -> None:
    window = make_window()
    qtbot.keyClicks(window.notes.search_box, "semantic caching")
    assert window.notes.list.count() > 0
    assert window.notes.list.item(0).data(256).startswith("latency-cost#")
    assert "keywords only (there is no embedding model)" in window.notes.mode_label.text()
    window.notes.search_box.clear()
    qtbot.keyClicks(window.notes.search_box, "zebra saxophone quilt")
    assert window.notes.list.count() == 0 and "No section of the notes matches" in window.notes.mode_label.text()


def test_first_start_shows_the_window_before_the_notes_are_embedded(qtbot, data_dir: Path, smol_path: Path) -> None:
    # no bank.db yet: the window must not wait for every note section to be embedded
    assert not (data_dir / "bank.db").exists()
    db = open_user_db(paths.user_db_path())
    set_setting(db, "model_path", str(smol_path))
    library = open_library(defer_embedding=True)
    assert library.pending_embeddings > 100 and library.retrieve("semantic caching", 3)[1].startswith("bm25")
    window = MainWindow(library, db)
    qtbot.addWidget(window)
    window.show()
    window.start()
    assert window.index_label.isVisible() and "Building the notes index" in window.index_label.text()
    qid = window.practice.question.id
    # while the build runs, priming stops after the choice: the explanation would be written on BM25 sections and
    # written again on hybrid ones, on the two cores the build needs
    primed_during_build: set[str] = set()

    def built() -> bool:
        if window.dispatcher.notes_building.is_set():
            primed_during_build.update(window.dispatcher.primed)  # whatever priming finished while the build ran
        return library.pending_embeddings == 0 and not window.index_label.isVisible()

    qtbot.waitUntil(built, timeout=300_000)
    hits, mode = library.retrieve("semantic caching", 3)
    assert mode == "hybrid" and hits[0].note_id == "latency-cost"
    assert "Notes index ready" in window.statusBar().currentMessage()
    assert not {f"{qid} explanation", f"{qid} written"} & primed_during_build, primed_during_build
    qtbot.waitUntil(lambda: f"{qid} written" in window.dispatcher.primed, timeout=LOAD_TIMEOUT_MS)


def test_an_embedding_model_that_will_not_load_leaves_keyword_search_and_grading(
        qtbot, bank_in_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a file with a GGUF header but nothing loadable behind it: llama.cpp only finds out when it reads the file,
    # which is now after the window shows; the app must say so and go on without embeddings
    folder = tmp_path / "bad-embed-models"
    (folder / "embed").mkdir(parents=True)
    (folder / "embed" / "broken-minilm.gguf").write_bytes(b"GGUF" + b"\x00" * 4096)
    monkeypatch.setenv("COACH_MODELS_DIR", str(folder))
    assert open_library().embedder is None  # loaded at once outside the GUI: refused there and then
    library = open_library(defer_embedding=True)
    assert library.embedder is not None  # the header passed; loading is deferred
    window = MainWindow(library, open_user_db(paths.user_db_path()))
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: library.embedder is None, timeout=30_000)
    qtbot.waitUntil(lambda: "could not load the embedding model broken-minilm.gguf" in
                    window.statusBar().currentMessage(), timeout=10_000)
    assert library.retrieve("semantic caching", 3)[1].startswith("bm25")
    window.practice.show_question(library.by_id[QID])
    window.practice.answer.setPlainText(ANSWER)
    window.practice.submit_button.click()
    qtbot.waitUntil(lambda: window.practice.grade_view.grade is not None, timeout=GRADE_TIMEOUT_MS)
    grade = window.practice.grade_view.grade
    assert grade.grader == "rubric only" and grade.choice == "rag" and grade.verdict in VERDICTS
    assert attempts(window.db, QID)[0]["answer"] == ANSWER


def test_a_model_killed_mid_grade_leaves_the_window_a_rubric_grade_and_a_restarted_model(
        make_window, qtbot, smol_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    practice, worker = window.practice, window.dispatcher
    first_pid = submit_to_a_held_model(qtbot, window).pid  # the grade's first model call is in flight
    os.kill(first_pid, signal.SIGKILL)

    qtbot.waitUntil(practice.submit_button.isEnabled, timeout=GRADE_TIMEOUT_MS)
    assert window.isVisible()
    row = attempts(window.db, QID)[-1]
    assert row["answer"] == ANSWER and row["verdict"] != "pending"
    grade = json.loads(row["grade_json"])
    assert grade["grader"] == "rubric only"
    assert "stopped unexpectedly (killed" in grade["notice"] and "graded from the rubric only" in grade["notice"]
    assert "stopped unexpectedly" in practice.grade_view.toPlainText()

    qtbot.waitUntil(lambda: window.model_state == "ready" and worker.engine.alive, timeout=LOAD_TIMEOUT_MS)
    assert worker.engine.process.pid != first_pid
    assert "restarted" in window.model_label.toolTip()
    qtbot.mouseClick(practice.submit_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(attempts(window.db, QID)) == 2 and attempts(window.db, QID)[-1]["verdict"] != "pending",
                    timeout=GRADE_TIMEOUT_MS)
    again = json.loads(attempts(window.db, QID)[-1]["grade_json"])
    assert again["grader"].startswith("SmolLM2-135M-Instruct.Q4_1.gguf") and not again["notice"]


def test_search_falls_back_to_keywords_while_the_embedding_model_is_down(make_window, qtbot) -> None:
    window = make_window()
    embedder = window.library.embedder
    embedder.load()
    embedder.caching = False
    pid = embedder.process.pid
    os.kill(pid, signal.SIGSTOP)
    threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
    hits, mode = window.library.retrieve("kv cache memory", 5)
    assert hits and mode.startswith("bm25 only")
    hits, mode = window.library.retrieve("kv cache memory", 5)
    assert mode == "hybrid"


def test_grading_shows_a_clock_until_the_grade_is_final(make_window, qtbot, smol_path: Path) -> None:
    window = ready_window(make_window, qtbot, smol_path)
    practice = window.practice
    process = submit_to_a_held_model(qtbot, window)  # a slow machine: the model takes its time
    try:
        qtbot.waitUntil(lambda: "Grading... 1 s" in practice.grade_view.toPlainText(), timeout=5000)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    qtbot.waitUntil(practice.submit_button.isEnabled, timeout=GRADE_TIMEOUT_MS)
    assert not practice.clock.isActive() and "Grading..." not in practice.grade_view.toPlainText()


def test_a_pause_in_typing_reads_the_draft_ahead_and_the_submit_uses_its_readings(make_window, qtbot,
                                                                                  smol_path: Path) -> None:
    from app.llm.yes_no import readings_taken
    window = ready_window(make_window, qtbot, smol_path)
    practice = window.practice
    practice.show_question(window.library.by_id[QID])
    qtbot.waitUntil(lambda: f"{QID} written" in window.dispatcher.primed, timeout=LOAD_TIMEOUT_MS)
    read = type_and_pause(qtbot, window.dispatcher, practice.answer, QID, ANSWER)
    submit_with_keyboard(qtbot, window)
    assert readings_taken()["read"] == read  # the verdict's readings were all taken during the pause
    assert practice.grade_view.grade.grader.startswith("SmolLM2") and not practice.grade_view.grade.notice


def type_and_pause(qtbot, dispatcher, box, question_id: str, text: str) -> int:
    """Type the text, then pause until the dispatcher has read the draft ahead (the draft was saved, and fed to the
    model, before that); returns the readings the model has taken by then (priming's, the explanation written ahead,
    the draft's)."""
    from app.llm.yes_no import readings_taken
    before = readings_taken()["read"]
    qtbot.keyClicks(box, text)
    qtbot.waitUntil(lambda: f"{question_id} {len(text)}" in dispatcher.read, timeout=GRADE_TIMEOUT_MS)
    assert any(f.startswith(f"{question_id} ") and int(f.split()[1]) > 0 for f in dispatcher.fed)  # saved, so fed
    read = readings_taken()["read"]
    assert read > before
    return read
