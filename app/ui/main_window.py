"""The main window: the Practice, Notes, History, Progress and Interview tabs, the model status, the grading dispatcher."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QTabWidget

from app import keystore, paths, server_config
from app.library import Library
from app.llm.choose import resolve_model
from app.llm.files import known_sha, list_models
from app.model_check import stored_results
from app.sessions.dispatcher import GradingDispatcher
from app.sessions.writes import Writes
from app.storage import history, userdb
from app.ui import theme
from app.ui.dashboard_view import DashboardView
from app.ui.delivery import GuiDelivery
from app.ui.history_view import HistoryView
from app.ui.index_builder import IndexBuilder
from app.ui.interview_view import InterviewView
from app.ui.model_check_view import ModelCheckDialog
from app.ui.model_dialog import ModelDialog
from app.ui.notes_view import NotesView
from app.ui.practice_view import PracticeView
from app.ui.shortcuts import Keyboard

RETRY_MS = 2000  # writes that storage refused are tried again this often
STATUS_ROLES = {"loading": "warn", "ready": "good", "failed": "bad", "none": "bad"}


class MainWindow(QMainWindow):
    def __init__(self, library: Library, db):
        super().__init__()
        self.library, self.db = library, db
        library.keywords_on_crash = True  # the window searches by keywords while the embedding model restarts
        self.read_only_note = (f"Read-only: {paths.data_dir()} cannot be written. You can practise and read the "
                               "notes; nothing you write is saved." if getattr(db, "read_only", False) else "")
        self.setWindowTitle("Interview Coach - AI engineering")
        theme.apply(userdb.get_setting(db, "theme", "system"))
        theme.follow_system()
        self.resize(1100, 760)
        self.model_state = "none"
        self.delivery = GuiDelivery()
        self.dispatcher = GradingDispatcher(library, self.delivery, self.set_model_status)
        self.writes = Writes(self.storage_problem)
        self.retry_timer = QTimer(self, interval=RETRY_MS)
        self.retry_timer.timeout.connect(self.retry_writes)
        self.retry_timer.start()
        self.practice = PracticeView(library, db, self.dispatcher, self.writes)
        self.notes = NotesView(library)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.practice, "Practice")
        self.tabs.addTab(self.notes, "Notes")
        self.history = HistoryView(library, db, self.practice.session)
        self.progress = DashboardView(library, db)
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.progress, "Progress")
        self.interview = InterviewView(library, db, self.dispatcher, writes=self.writes)
        self.tabs.addTab(self.interview, "Interview")
        self.setCentralWidget(self.tabs)
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)
        self.index_label = QLabel()
        self.statusBar().addPermanentWidget(self.index_label)
        self.index_label.hide()
        self.storage_label = QLabel()
        self.statusBar().addPermanentWidget(self.storage_label)
        self.storage_label.hide()
        self.index_builder = IndexBuilder(library, busy=self.dispatcher.working.is_set)
        self.index_builder.progressed.connect(self.show_index_progress)
        self.index_builder.finished.connect(self.index_done)
        menu = self.menuBar().addMenu("&Settings")
        menu.addAction("Grading &model...", self.choose_model)
        self._theme_menu(menu.addMenu("&Colours"))
        self.keyboard = Keyboard(self)  # after the last addTab: Ctrl+1... go to each tab; palette, Help menu, zoom

        self.practice.section_clicked.connect(self.open_section)
        self.notes.practice_requested.connect(self.practice_topic)
        self.history.section_clicked.connect(self.open_section)
        self.history.data_changed.connect(self.practice.review_bar.refresh)
        self.progress.section_clicked.connect(self.open_section)
        self.progress.question_requested.connect(self.practice_question)
        self.progress.practice_requested.connect(lambda: self.tabs.setCurrentWidget(self.practice))
        self.interview.section_clicked.connect(self.open_section)
        self.interview.lock_changed.connect(self.lock_for_interview)
        if library.problems:
            self.statusBar().showMessage(library.problems[0].splitlines()[0], 15000)
        if self.read_only_note:
            self.storage_problem(self.read_only_note)

    def start(self) -> None:
        """Log reviews for graded answers that have none (once, here: views only read), show the first question,
        and start loading the model in the background."""
        history.sync_reviews(self.db)
        self.restore_layout()
        self.practice.review_bar.refresh()
        last = userdb.get_setting(self.db, "current_question")
        shown = self.library.item(last) if isinstance(last, str) else None  # a follow-up or probe too
        if shown is not None:
            self.practice.show_question(shown)
        else:
            self.practice.next_question()
        if self.interview.check_unfinished():
            self.tabs.setCurrentWidget(self.interview)
        if self.index_builder.start():
            self.dispatcher.notes_building.set()  # before the model loads: its priming stops after the choice
            self.show_index_progress(0, self.library.pending_embeddings)
        self.load_model()
        self.finish_pending_grades()

    def _theme_menu(self, menu) -> None:
        group = QActionGroup(self)
        for key, text in theme.MODES.items():
            action = menu.addAction(text, lambda k=key: self.set_theme(k))
            action.setCheckable(True)
            action.setChecked(key == theme.mode())
            group.addAction(action)

    def set_theme(self, mode: str) -> None:
        theme.apply(mode)
        self.writes.run("your colour choice", lambda: userdb.set_setting(self.db, "theme", mode))

    def restore_layout(self) -> None:
        """The size, splitters and tab the learner left the window with."""
        state = userdb.get_setting(self.db, "window", {}) or {}
        if isinstance(state.get("size"), list) and len(state["size"]) == 2:
            # the size, not saveGeometry: restoring a position can put the window off a screen that has gone
            self.resize(max(640, int(state["size"][0])), max(480, int(state["size"][1])))
        if state.get("maximized"):
            self.showMaximized()
        for name, splitter in self._splitters().items():
            if state.get(name):
                splitter.restoreState(QByteArray.fromBase64(state[name].encode()))
        if isinstance(state.get("tab"), int) and 0 <= state["tab"] < self.tabs.count():
            self.tabs.setCurrentIndex(state["tab"])

    def save_layout(self) -> None:
        if self.read_only_note:
            return
        size = self.normalGeometry().size() if self.isMaximized() else self.size()
        state = {"size": [size.width(), size.height()], "maximized": self.isMaximized(), "tab": self.tabs.currentIndex()}
        state |= {name: bytes(s.saveState().toBase64()).decode() for name, s in self._splitters().items()}
        self.writes.run("the window layout", lambda: userdb.set_setting(self.db, "window", state))

    def _splitters(self) -> dict:
        return {"practice": self.practice.splitter, "notes": self.notes.splitter, "history": self.history.splitter}

    def finish_pending_grades(self) -> None:
        """Answers whose grading a close or a kill interrupted are graded now, in the background."""
        count = self.practice.session.finish_pending() + self.interview.control.finish_past_grades()
        if count:
            self.statusBar().showMessage(f"Grading {count} answer(s) left ungraded when the app last closed; "
                                         "History shows them as they are done.", 15000)

    def show_index_progress(self, done: int, total: int) -> None:
        self.index_label.setText(f"Building the notes index: {done}/{total} sections")
        self.index_label.setToolTip("The first start embeds every note section once (half a minute to a minute or "
                                    "more). Until it is done, search and citations match keywords only (BM25).")
        self.index_label.show()

    def index_done(self, problem: str) -> None:
        self.index_label.hide()
        self.dispatcher.notes_ready()  # the explanation, held during the build, is primed on the new sections
        self.statusBar().showMessage(problem or "Notes index ready: search and citations now match meaning too.",
                                     0 if problem else 8000)

    def storage_problem(self, message: str) -> None:
        """Non-blocking: the status bar says what is not saved yet; the text is kept and retried."""
        state = "Read-only" if self.read_only_note else "Not saved yet"
        theme.set_role(self.storage_label, "bad", bold=True)
        self.storage_label.setText(state)
        self.storage_label.setToolTip("\n".join(dict.fromkeys(filter(None, [self.read_only_note, message]))))
        self.storage_label.show()
        self.statusBar().showMessage(message, 0)

    def retry_writes(self) -> None:
        if self.writes.waiting and self.writes.retry():
            self.storage_label.hide()
            self.statusBar().showMessage("Everything that was waiting is saved now.", 8000)

    def load_model(self) -> None:
        path, reason = resolve_model(paths.models_dir(), userdb.get_setting(self.db, "model_path"))
        server = server_config.server_settings(self.db)
        if server is not None:
            self.set_model_status("loading", f"Connecting to {server.shown_url}...")
            self.dispatcher.use_server(server, path)  # the local file, if any, is the fallback
            return
        if path is None:
            self.set_model_status("none", reason)
            return
        self.set_model_status("loading", f"Loading {path.name}...")
        self.dispatcher.load(path)

    def set_model_status(self, state: str, message: str) -> None:
        self.model_state = state
        label = {"loading": "Model: loading", "ready": "Model: ready", "failed": "Model: failed",
                 "none": "Model: none (rubric only)"}[state]
        theme.set_role(self.model_label, STATUS_ROLES[state], bold=True)
        self.model_label.setText(label)
        self.model_label.setToolTip(message)
        self.statusBar().showMessage(message, 0 if state in ("failed", "none") else 8000)
        engine = self.dispatcher.engine
        self.practice.session.model_name = engine.name if state == "ready" and engine else "rubric only"
        self.interview.model_changed()

    def model_dialog(self) -> ModelDialog:
        stored = server_config.stored_server(self.db)
        shas = {str(m.path): known_sha(m.path) for m in list_models(paths.models_dir())}
        dialog = ModelDialog(paths.models_dir(), userdb.get_setting(self.db, "model_path"), self, server=stored,
                             use_server=server_config.server_settings(self.db) is not None,
                             api_key=keystore.load_key(stored["url"]) if stored.get("url") else "",
                             checks=stored_results(self.db), shas=shas)
        dialog.check_requested.connect(lambda request: self.check_model(dialog, *request))
        return dialog

    def check_model(self, dialog: ModelDialog, kind: str, target) -> ModelCheckDialog:
        check = ModelCheckDialog(self.library, self.db, kind, target, dialog)
        check.stored.connect(dialog.refresh_checks)
        check.show()
        return check

    def choose_model(self) -> None:
        dialog = self.model_dialog()
        if not dialog.exec():
            return
        if dialog.source == "server":
            settings = dialog.server_settings()
            self.writes.run("your choice of grading model", lambda: server_config.use_server(
                self.db, settings.base_url, settings.model, settings.api_key, settings.timeout_s))
        else:
            chosen = dialog.chosen

            def store() -> None:
                server_config.use_local(self.db)
                if chosen:
                    userdb.set_setting(self.db, "model_path", chosen)
            self.writes.run("your choice of grading model", store)
        self.load_model()

    def open_section(self, ref: str) -> None:
        if self.notes.open_section(ref):
            self.tabs.setCurrentWidget(self.notes)
        else:
            QMessageBox.information(self, "Not in the notes", f"The section {ref} is not in the notes.")

    def practice_topic(self, topic: str) -> None:
        self.tabs.setCurrentWidget(self.practice)
        self.practice.set_topic(topic)

    def practice_question(self, question) -> None:
        self.tabs.setCurrentWidget(self.practice)
        self.practice.show_question(question)

    def lock_for_interview(self, locked: bool) -> None:
        """No notes (nor other help) while an interview-mode interview runs."""
        for index in range(self.tabs.count()):
            self.tabs.setTabEnabled(index, not locked or self.tabs.widget(index) is self.interview)
        if locked:
            self.tabs.setCurrentWidget(self.interview)

    def closeEvent(self, event) -> None:
        self.save_layout()
        self.interview.shutdown()
        self.index_builder.stop()
        self.practice.save_draft()
        self.dispatcher.shutdown()
        QApplication.processEvents()  # results delivered while closing (a verdict, a failure) are stored now
        self.writes.retry()
        super().closeEvent(event)
