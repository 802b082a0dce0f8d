"""The model-server settings in the real window: models listed off the GUI thread, a window that grades through the
server it was told to use (the path shown in History), and a server that stops answering (the grade falls back)."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from server_fixtures import Misbehaving, free_port

from app import paths, server_config
from app.storage.userdb import attempts, open_user_db
from app.ui import theme
from app.ui.main_window import MainWindow
from app.ui.model_dialog import ModelDialog

QID = "fine-tuning-vs-rag-001"
ANSWER = "RAG: index the wiki and retrieve the pages at query time, because the wiki changes every day."


@pytest.fixture(autouse=True)
def no_system_keyring(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def server():
    running = Misbehaving("ok")
    yield running
    running.stop()


def test_the_dialog_lists_a_servers_models_without_blocking(qtbot, server, no_models) -> None:
    dialog = ModelDialog(no_models, None, use_server=True)
    qtbot.addWidget(dialog)
    dialog.url.setText(server.url)
    qtbot.mouseClick(dialog.list_models, Qt.LeftButton)
    assert not dialog.list_models.isEnabled()  # asked on a worker thread; the dialog keeps running
    qtbot.waitUntil(lambda: dialog.list_models.isEnabled(), timeout=10_000)
    assert [dialog.model.itemText(i) for i in range(dialog.model.count())] == ["m"]
    assert "1 model(s) listed" in dialog.server_status.text()
    dialog.url.setText(f"http://127.0.0.1:{free_port()}")
    qtbot.mouseClick(dialog.list_models, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.list_models.isEnabled(), timeout=10_000)
    assert "refused the connection" in dialog.server_status.text()
    dialog.url.setText("ftp://example")
    qtbot.mouseClick(dialog.list_models, Qt.LeftButton)
    assert "must start with http:// or https://" in dialog.server_status.text()


def test_the_window_grades_through_the_chosen_server_and_history_says_so(qtbot, server, library, no_models) -> None:
    db = open_user_db(paths.user_db_path())
    server_config.use_server(db, server.url, "m", "")
    window = MainWindow(library, db)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        qtbot.waitUntil(lambda: window.model_state == "ready", timeout=30_000)
        assert "server logprobs" in window.model_label.toolTip() and server.url in window.model_label.toolTip()
        session = window.practice.session
        session.show(library.by_id[QID])
        session.submit(ANSWER)
        qtbot.waitUntil(lambda: attempts(db, QID)[0]["verdict"] != "pending", timeout=60_000)
        qtbot.waitUntil(lambda: not session.grading, timeout=60_000)
        grade = json.loads(attempts(db, QID)[0]["grade_json"])
        assert grade["path"] == "server logprobs" and grade["grader"] == f"m on {server.url}"
        window.history.refresh()
        cell = window.history.list.topLevelItem(0).text(6)
        assert cell == f"m on {server.url} (server logprobs)"
        server.stop()  # the server goes away: the next answer is graded from the rubric (no local file here)
        session.submit(ANSWER + " Also, citations matter.")
        qtbot.waitUntil(lambda: all(r["verdict"] != "pending" for r in attempts(db, QID)), timeout=60_000)
        qtbot.waitUntil(lambda: not session.grading, timeout=60_000)
        latest = json.loads(max(attempts(db, QID), key=lambda r: r["id"])["grade_json"])
        assert latest["path"] == "rubric" and server.url in latest["notice"] and "rubric only" in latest["notice"]
    finally:
        window.close()
        theme.apply("light")

