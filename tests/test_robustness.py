"""Nothing lost, nothing bricked: a full disk and a locked database while typing and submitting, steady typing,
a damaged bank, a note that is not UTF-8, a damaged user database (real SQLite files, real widgets)."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app import paths
from app.content.load import load_content
from app.library import open_library
from app.sessions.dispatcher import GradingDispatcher
from app.storage.userdb import UserDbError, attempts, load_draft, open_user_db
from app.ui.delivery import GuiDelivery
from app.ui.practice_view import PracticeView

REPO = Path(__file__).resolve().parent.parent
QID = "fine-tuning-vs-rag-001"


@pytest.fixture
def practice(qtbot, bank_in_data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COACH_MODELS_DIR", str(bank_in_data_dir.parent / "no-models"))  # rubric only
    library = open_library()
    db = open_user_db(paths.user_db_path())
    dispatcher = GradingDispatcher(library, GuiDelivery())
    view = PracticeView(library, db, dispatcher)
    qtbot.addWidget(view)
    view.show_question(library.by_id[QID])
    yield view
    dispatcher.shutdown()


def fill_the_disk(db) -> None:
    """SQLite's own 'disk full': no page may be added beyond those the file has now."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")


def test_a_full_disk_keeps_the_draft_and_the_answer_on_screen_and_saves_when_space_returns(practice, qtbot) -> None:
    fill_the_disk(practice.db)
    long_answer = "RAG, because the wiki changes daily. " * 400  # far more than the free space in the file
    practice.answer.setPlainText(long_answer)
    assert not practice.save_draft()
    assert "Draft NOT saved" in practice.draft_label.text() and "kept here" in practice.draft_label.text()
    qtbot.mouseClick(practice.next_button, Qt.LeftButton)
    assert practice.question.id == QID and practice.answer.toPlainText() == long_answer  # did not move on
    qtbot.mouseClick(practice.submit_button, Qt.LeftButton)
    assert "could NOT be saved" in practice.grade_view.toPlainText()
    assert practice.answer.toPlainText() == long_answer and practice.submit_button.isEnabled()
    assert attempts(practice.db) == []
    practice.db.execute("PRAGMA max_page_count=1073741823")  # space is back
    qtbot.waitUntil(lambda: practice.draft_label.text() == "Draft saved", timeout=5000)  # the retry saved it
    assert load_draft(practice.db, QID) == long_answer
    qtbot.mouseClick(practice.submit_button, Qt.LeftButton)
    qtbot.waitUntil(practice.submit_button.isEnabled, timeout=30_000)
    assert [a["answer"] for a in attempts(practice.db)] == [long_answer]


def test_a_database_locked_by_another_process_is_reported_not_fatal(practice, qtbot) -> None:
    other = sqlite3.connect(str(paths.user_db_path()))
    other.execute("BEGIN IMMEDIATE")  # another instance holds the write lock
    practice.answer.setPlainText("RAG: the wiki changes daily.")
    assert not practice.save_draft()
    assert "locked" in practice.draft_label.text()
    other.rollback()
    other.close()
    assert practice.save_draft() and load_draft(practice.db, QID) == "RAG: the wiki changes daily."


def test_steady_typing_is_saved_at_least_every_two_seconds(practice, qtbot) -> None:
    from app.ui.draft_saver import LONGEST_S
    pressed: list[float] = []
    while not pressed or pressed[-1] - pressed[0] < 3.0:  # a key every 150 ms never leaves the 300 ms pause
        qtbot.keyClicks(practice.answer, "a")
        pressed.append(time.monotonic())
        qtbot.wait(150)
    saved = load_draft(practice.db, QID)
    assert saved and practice.answer.toPlainText().startswith(saved)
    # the newest saved keystroke is at most LONGEST_S (and one key) older than the last one, however slow the machine
    gaps = [b - a for a, b in zip(pressed, pressed[1:])]
    assert pressed[-1] - pressed[len(saved) - 1] <= LONGEST_S + max(gaps)


def test_a_paste_is_saved_at_once_and_typing_after_a_pause(practice, qtbot) -> None:
    """A paste arrives whole, so it is stored (and handed to the model) before the event loop runs again; a typed key
    waits for the pause, so a paste's save is not just the same timer firing early."""
    from PySide6.QtGui import QGuiApplication
    QGuiApplication.clipboard().setText("RAG, because the wiki changes daily and users need citations.")
    practice.answer.setFocus()
    practice.answer.paste()  # no wait: the timer of a pause cannot have fired
    assert load_draft(practice.db, QID) == "RAG, because the wiki changes daily and users need citations."
    assert practice.draft_label.text() == "Draft saved" and not practice.drafts.timer.isActive()
    qtbot.keyClicks(practice.answer, " Fine-tuning goes stale.")
    assert load_draft(practice.db, QID).endswith("citations.")  # typing is saved after the pause, not per key
    qtbot.waitUntil(lambda: load_draft(practice.db, QID).endswith("stale."), timeout=5000)


def test_a_damaged_bank_is_moved_aside_and_rebuilt(data_dir: Path) -> None:
    bank = data_dir / "bank.db"
    bank.write_bytes(b"this is not a database" * 100)
    library = open_library(defer_embedding=True)
    assert len(library.questions) > 100 and (data_dir / "bank.db.damaged").exists()
    assert library.retrieve("kv cache memory", 3)[0]


def test_a_note_that_is_not_utf8_names_its_file_line_and_byte(content_copy: Path) -> None:
    note = content_copy / "notes" / "rag.md"
    data = note.read_bytes()
    cut = data.index(b"\n", data.index(b"\n", 200) + 1) + 1  # the start of some line after the first few
    note.write_bytes(data[:cut] + b"caf\xe9 " + data[cut:])
    errors = [e for e in load_content(content_copy).errors if e.file.endswith("notes/rag.md") and not e.file.endswith("-rag.md")]
    line = data[:cut].count(b"\n") + 1
    assert [(e.line, "not valid UTF-8" in e.message, "byte" in e.message) for e in errors] == [(line, True, True)]
    result = subprocess.run([sys.executable, "-m", "app", "content", "check", "--dir", str(content_copy)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and f"notes/rag.md:{line}:" in result.stderr and "Traceback" not in result.stderr


def test_a_damaged_user_database_is_refused_untouched(data_dir: Path) -> None:
    path = data_dir / "user.db"
    db = open_user_db(path)
    db["drafts"].insert_all({"question_id": f"q{i}", "text": "x" * 300, "updated_at": 0.0} for i in range(500))
    db.conn.close()
    with path.open("r+b") as handle:
        handle.seek(4096 * 10)
        handle.write(b"\xde\xad\xbe\xef" * 256)
    damaged = path.read_bytes()
    with pytest.raises(UserDbError, match="user.db"):
        open_user_db(path)
    assert path.read_bytes() == damaged


def _launch(data_dir: Path, models: Path) -> subprocess.Popen:
    env = dict(__import__("os").environ, COACH_DATA_DIR=str(data_dir), COACH_MODELS_DIR=str(models),
               QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)


def test_a_second_launch_brings_the_first_window_forward_and_writers_refuse(data_dir: Path, tmp_path: Path) -> None:
    from app.instance import held_by_another
    models = tmp_path / "no-models"
    models.mkdir()
    first = _launch(data_dir, models)
    try:
        deadline = time.monotonic() + 60
        while not held_by_another(data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held_by_another(data_dir)
        env = dict(__import__("os").environ, COACH_DATA_DIR=str(data_dir), COACH_MODELS_DIR=str(models),
                   QT_QPA_PLATFORM="offscreen")
        for _ in range(30):  # the first window listens once it is up (slower on a loaded machine)
            second = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode == 0 and "already open" in second.stderr
            if "brought forward" in second.stderr:
                break
            time.sleep(1.0)
        assert "brought forward" in second.stderr
        writer = subprocess.run([sys.executable, "-m", "app", "import-data", str(tmp_path / "any.json")], cwd=REPO,
                                env=env, capture_output=True, text=True, timeout=60)
        assert writer.returncode == 1 and "close it first" in writer.stderr and "Nothing was changed" in writer.stderr
        assert first.poll() is None  # the first window is still running
    finally:
        first.terminate()
        _, errors = first.communicate(timeout=30)
    assert "brought forward" in errors
    assert not held_by_another(data_dir)  # the folder is free again once the window has gone


def test_backups_rotate_and_a_damaged_database_can_be_restored_or_read_out(data_dir: Path) -> None:
    from app.storage import rescue
    path = data_dir / "user.db"
    asked: list[list[str]] = []
    told: list[str] = []
    db = rescue.open_with_rescue(path, lambda m, c: asked.append(c), told.append)
    db["drafts"].insert_all({"question_id": f"q{i}", "text": "kept " * 60, "updated_at": 0.0} for i in range(400))
    db.conn.close()
    for _ in range(7):  # seven starts
        rescue.open_with_rescue(path, lambda m, c: asked.append(c), told.append).conn.close()
    assert len(rescue.backups(path)) == rescue.KEEP and asked == []
    with path.open("r+b") as handle:
        handle.seek(4096 * 12)
        handle.write(b"\xde\xad\xbe\xef" * 512)
    damaged = path.read_bytes()
    assert rescue.open_with_rescue(path, lambda m, c: (asked.append(c), "export")[1], told.append) is None
    assert asked[-1] == ["restore", "export", "quit"] and path.read_bytes() == damaged
    salvaged = json.loads(next(data_dir.glob("salvaged-*.json")).read_text())
    assert 0 < len(salvaged["tables"]["drafts"]["rows"]) <= 400 and "import-data" in told[-1]
    db = rescue.open_with_rescue(path, lambda m, c: "restore", told.append)
    assert db is not None and db["drafts"].count == 400 and "damaged database was kept" in told[-1]
    assert list(data_dir.glob("user.db.damaged-*"))


def test_broken_content_on_a_fresh_install_says_what_and_where_in_the_window(qtbot, content_copy: Path,
                                                                              monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    from app.ui.main_window import MainWindow
    with (content_copy / "questions" / "rag.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[question]\nid = "broken"\n')
    monkeypatch.setenv("COACH_CONTENT_DIR", str(content_copy))
    monkeypatch.setenv("COACH_MODELS_DIR", str(tmp_path))
    window = MainWindow(open_library(defer_embedding=True), open_user_db(paths.user_db_path()))
    qtbot.addWidget(window)
    window.start()
    shown = window.practice.question_label.text()
    assert "No questions could be loaded" in shown and "questions/rag.toml:" in shown and "no earlier good bank" in shown
    assert not window.practice.submit_button.isEnabled()


def test_a_short_soak_of_kills_loses_nothing_submitted(tmp_path: Path) -> None:
    """CI's short version of `python -m app soak` (the closing note reports 100 kills)."""
    result = subprocess.run([sys.executable, "-m", "app", "soak", "--kills", "2", "--seed", "5", "--keep",
                             str(tmp_path / "soak")], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 lost" in result.stdout and "integrity ok after 2 of 2" in result.stdout


def test_a_read_only_database_gives_a_session_that_says_nothing_is_saved(qtbot, bank_in_data_dir: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.main_window import MainWindow
    monkeypatch.setenv("COACH_MODELS_DIR", str(bank_in_data_dir.parent / "no-models"))
    open_user_db(paths.user_db_path()).conn.close()
    db = open_user_db(paths.user_db_path(), read_only=True)  # what a folder the user cannot write opens as
    window = MainWindow(open_library(), db)
    qtbot.addWidget(window)
    window.start()
    assert "Read-only" in window.storage_label.toolTip() and not window.storage_label.isHidden()
    window.practice.answer.setPlainText("RAG, for citations.")
    assert not window.practice.save_draft() and "readonly" in window.practice.draft_label.text()
    qtbot.mouseClick(window.practice.submit_button, Qt.LeftButton)
    assert "could NOT be saved" in window.practice.grade_view.toPlainText()
    assert window.practice.answer.toPlainText() == "RAG, for citations."
