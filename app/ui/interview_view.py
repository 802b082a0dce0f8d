"""The Interview tab: shows the interview state machine, forwards input, saves each answer, queues grading."""
from __future__ import annotations

import time
from html import escape
from typing import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from app.core.interview import (GRADED_OUTCOMES, PRESETS, Interview, InterviewError, InterviewSettings, Submission,
                                format_clock)
from app.core.interview_plan import plan_questions, topic_weights
from app.core.interview_report import build_report, report_markdown
from app.core.model import Grade
from app.library import Library
from app.storage import interviews as store
from app.storage import userdb
from app.ui.grade_view import GradeView
from app.ui.grading_queue import GradingQueue
from app.ui.interview_report_view import InterviewReportView
from app.ui.interview_setup import InterviewSetup

TICK_MS = 200
DRAFT_DELAY_MS = 300
STATE_SAVE_SECONDS = 5.0
SETTINGS_KEY = "interview_settings"


class AnswerEdit(QPlainTextEdit):
    """The answer box; it claims the interview's keys before word navigation (Ctrl+Right) can."""
    submit_pressed = Signal()
    skip_pressed = Signal()
    escape_pressed = Signal()

    def _action(self, event) -> Signal | None:
        ctrl = bool(event.modifiers() & Qt.ControlModifier)
        if ctrl and event.key() in (Qt.Key_Return, Qt.Key_Enter):
            return self.submit_pressed
        if ctrl and event.key() == Qt.Key_Right:
            return self.skip_pressed
        return self.escape_pressed if event.key() == Qt.Key_Escape else None

    def event(self, event) -> bool:
        if event.type() == QEvent.ShortcutOverride and self._action(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        action = self._action(event)
        if action is not None:
            action.emit()
        else:
            super().keyPressEvent(event)


class InterviewView(QWidget):
    grade_requested = Signal(int, object, str, object)
    lock_changed = Signal(bool)          # True while an interview-mode interview runs: no notes, no practice
    section_clicked = Signal(str)

    def __init__(self, library: Library, db, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.library, self.db, self.clock = library, db, clock
        self.titles = {n.id: n.title for n in library.notes}
        self.session: Interview | None = None
        self.interview_id: int | None = None
        self.started_at = 0.0
        self.unfinished: dict | None = None
        self.feedback_index: int | None = None
        self.abandon_box: QMessageBox | None = None
        self._last_state_save = 0.0
        self.queue = GradingQueue()
        self.queue.grade_requested.connect(self.grade_requested)
        self.queue.graded.connect(self._on_graded)
        self.queue.failed.connect(self._on_grading_failed)
        self.queue.verdict.connect(self._on_verdict)
        self.queue.changed.connect(self._refresh)
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)

        self.setup = InterviewSetup(library.topics())
        self.setup.start_requested.connect(self.start_interview)
        self.setup.open_requested.connect(self.open_past)
        self.setup.resume_requested.connect(self.resume_unfinished)
        self.setup.finish_requested.connect(self.finish_unfinished)
        self.report_view = InterviewReportView()
        self.report_view.section_clicked.connect(self.section_clicked)
        self.report_view.back_requested.connect(self.show_setup)
        self.report_view.suggestion_requested.connect(self._use_suggestion)
        self.report_view.regrade_requested.connect(self.grade_the_rest)
        self.report_view.cancel_requested.connect(self.queue.cancel_all)
        self.run_page = self._build_run_page()
        self.feedback_page = self._build_feedback_page()
        self.pages = QStackedWidget()
        for page in (self.setup, self.run_page, self.feedback_page, self.report_view):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.setup.set_settings(self._remembered_settings())
        self.show_setup()

    # -- pages ----------------------------------------------------------------------------------
    def _build_run_page(self) -> QWidget:
        self.header = QLabel(styleSheet="color: #555")
        self.countdown = QLabel(styleSheet="font-size: 22pt; font-weight: bold")
        self.time_bar = QProgressBar(textVisible=False, maximum=1000)
        self.session_label = QLabel()
        self.warning = QLabel(styleSheet="color: #b3261e; font-weight: bold")
        self.prompt = QLabel(wordWrap=True, textFormat=Qt.RichText)
        self.prompt.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.answer = AnswerEdit(placeholderText="Your answer: which option, and why. Ctrl+Enter submits, "
                                                 "Ctrl+Right skips, Esc abandons.")
        self.answer.textChanged.connect(self._answer_changed)
        self.answer.submit_pressed.connect(self.submit)
        self.answer.skip_pressed.connect(self.skip)
        self.answer.escape_pressed.connect(self.ask_abandon)
        self.paused_label = QLabel("<h2>Paused</h2><p>The question is hidden while the clock is stopped.</p>",
                                   alignment=Qt.AlignCenter)
        self.saved_label = QLabel(styleSheet="color: #777")
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.abandon_button = QPushButton("Abandon (Esc)")
        self.abandon_button.clicked.connect(self.ask_abandon)
        self.skip_button = QPushButton("Skip (Ctrl+Right)")
        self.skip_button.clicked.connect(self.skip)
        self.submit_button = QPushButton("Submit (Ctrl+Enter)")
        self.submit_button.clicked.connect(self.submit)
        clocks = QHBoxLayout()
        clocks.addWidget(self.countdown)
        clocks.addWidget(self.time_bar, 1)
        clocks.addWidget(self.session_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.saved_label, 1)
        for button in (self.pause_button, self.abandon_button, self.skip_button, self.submit_button):
            buttons.addWidget(button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.header)
        layout.addLayout(clocks)
        layout.addWidget(self.warning)
        layout.addWidget(self.prompt)
        layout.addWidget(self.paused_label, 1)
        layout.addWidget(self.answer, 1)
        layout.addLayout(buttons)
        return page

    def _build_feedback_page(self) -> QWidget:
        self.feedback_header = QLabel(styleSheet="color: #555")
        self.feedback = GradeView()
        self.feedback.section_clicked.connect(self.section_clicked)
        self.next_button = QPushButton("Next question (Ctrl+Enter)")
        self.next_button.clicked.connect(self.next_question)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.feedback_header)
        layout.addWidget(self.feedback, 1)
        layout.addWidget(self.next_button, 0, Qt.AlignRight)
        return page

    def show_setup(self) -> None:
        history = store.graded_scores(self.db)
        self.setup.set_history_available(bool(history))
        self.setup.show_past(store.past_interviews(self.db))
        self.pages.setCurrentWidget(self.setup)

    def _remembered_settings(self) -> InterviewSettings:
        saved = userdb.get_setting(self.db, SETTINGS_KEY)
        try:
            return InterviewSettings.from_dict(saved) if saved else PRESETS["Quick 3 x 4 min"]
        except InterviewError:
            return PRESETS["Quick 3 x 4 min"]

    def _use_suggestion(self, settings: InterviewSettings) -> None:
        self.show_setup()
        self.setup.set_settings(settings)

    # -- starting, resuming, reopening -----------------------------------------------------------------
    def check_unfinished(self) -> bool:
        """Offer to resume or finish an interview the app was closed (or crashed) in the middle of."""
        row = store.unfinished_interview(self.db)
        if row is None or row["state"] is None:
            self.unfinished = None
            self.setup.show_unfinished(None)
            return False
        self.unfinished = row
        answered = sum(1 for s in row["state"].get("slots", []) if s.get("outcome"))
        self.setup.show_unfinished(row, f"{answered} of {row['question_count']} questions answered")
        self.show_setup()
        return True

    def start_interview(self, settings: InterviewSettings) -> bool:
        if self.unfinished is not None or (self.session is not None and not self.session.finished):
            self.setup.show_error("Finish or resume the unfinished interview first.")
            return False
        history = [(q.topic, score) for qid, score in store.graded_scores(self.db)
                   if (q := self.library.by_id.get(qid)) is not None]
        weights = topic_weights(history, [t for t, _ in self.library.topics()]) if settings.weak_topics else None
        try:
            slots = plan_questions(self.library.questions, settings, weights, {q for q, _ in store.graded_scores(self.db)})
        except InterviewError as exc:
            self.setup.show_error(str(exc))
            return False
        userdb.set_setting(self.db, SETTINGS_KEY, settings.to_dict())
        self.queue.cancel_all()
        self.session = Interview(settings, slots, self.clock)
        self.started_at = time.time()
        self.interview_id = store.create_interview(self.db, settings.to_dict(), self.session.to_dict(), self.started_at)
        self.session.start()
        self._save_state()
        self._enter_running()
        return True

    def _restore(self, row: dict) -> bool:
        try:
            self.session = Interview.from_dict(row["state"], self.clock)
        except InterviewError as exc:
            self.setup.show_error(f"Interview {row['id']} cannot be opened: {exc}")
            return False
        self.interview_id, self.started_at, self.unfinished = row["id"], row["started_at"], None
        self.setup.show_unfinished(None)
        if self.session.current_slot is not None:
            draft = store.load_interview_draft(self.db, self.interview_id, self.session.current)
            self.session.set_draft(draft or self.session.draft)
        return True

    def resume_unfinished(self) -> None:
        if self.unfinished is None or not self._restore(self.unfinished):
            return
        self.grade_the_rest()
        if self.session.phase == "ready":
            self.session.start()
        elif self.session.phase == "suspended":
            self.session.resume()
        self._save_state()
        self._enter_running()

    def finish_unfinished(self) -> None:
        if self.unfinished is not None and self._restore(self.unfinished):
            self.grade_the_rest()
            self._handle(self.session.finish())

    def open_past(self, interview_id: int) -> None:
        if self.session is not None and not self.session.finished:
            return
        row = store.load_interview(self.db, interview_id)
        if row["error"]:
            self.setup.show_error(row["error"])
        elif self._restore(row):
            self._show_report()

    def grade_the_rest(self) -> None:
        for index in self.session.needing_grades() if self.session else []:
            question = self.library.by_id.get(self.session.slots[index].question_id)
            if question is not None:
                self.queue.add((self.interview_id, index), question, self.session.slots[index].answer)
        self._show_report_if_open()

    # -- running -------------------------------------------------------------------------------------
    def _enter_running(self) -> None:
        self.lock_changed.emit(self.session.settings.mode == "interview")
        self.timer.start()
        if self.session.phase == "between":
            self._show_feedback(self.session.current - 1)
        else:
            self._show_question()

    def _show_question(self) -> None:
        slot = self.session.current_slot
        question = self.library.by_id.get(slot.question_id)
        title = self.titles.get(slot.topic, slot.topic)
        self.header.setText(f"Question {self.session.current + 1} of {len(self.session.slots)} · {escape(title)} · "
                            f"{slot.difficulty} · {self.session.settings.mode} mode")
        if question is None:
            body = "<p><i>This question is no longer in the bank; write what you would answer, or skip.</i></p>"
        else:
            options = "".join(f"<li>{escape(o.label)}</li>" for o in question.options)
            body = (f"<p style='font-size:12pt'>{escape(question.prompt)}</p><p><b>Options</b></p>"
                    f"<ol type='A'>{options}</ol>")
        self.prompt.setText(body)
        self.answer.blockSignals(True)
        self.answer.setPlainText(self.session.draft)
        self.answer.blockSignals(False)
        self.answer.moveCursor(self.answer.textCursor().MoveOperation.End)
        self.pause_button.setVisible(self.session.settings.allow_pause)
        self.pages.setCurrentWidget(self.run_page)
        self.answer.setFocus()
        self._refresh()

    def _answer_changed(self) -> None:
        if self.session is not None and self.session.current_slot is not None:
            self.session.set_draft(self.answer.toPlainText())
            self.saved_label.setText("Saving draft...")
            self._draft_timer.start()

    def save_draft(self) -> None:
        if self.session is not None and self.session.current_slot is not None and self.interview_id is not None:
            store.save_interview_draft(self.db, self.interview_id, self.session.current, self.session.draft,
                                       self.session.to_dict())
            self._last_state_save = self.clock()
            self.saved_label.setText("Draft saved")

    def _save_state(self) -> None:
        store.save_state(self.db, self.interview_id, self.session.to_dict())
        self._last_state_save = self.clock()

    def _tick(self) -> None:
        if self.session is None or self.session.phase != "answering":
            self._refresh()
            return
        submissions = self.session.tick()
        if submissions:
            self._handle(submissions)
            return
        if self.clock() - self._last_state_save >= STATE_SAVE_SECONDS:
            self._save_state()
        self._refresh()

    def submit(self) -> None:
        if self.pages.currentWidget() is self.feedback_page:
            self.next_question()
        elif self._can_answer():
            self.session.set_draft(self.answer.toPlainText())
            self._handle([self.session.answer()])

    def skip(self) -> None:
        if self._can_answer():
            self.session.set_draft(self.answer.toPlainText())
            self._handle([self.session.skip()])

    def next_question(self) -> None:
        if self.session is not None and self.session.phase == "between":
            self.session.next_question()
            self._save_state()
            self._show_question()

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        try:
            self.session.resume() if self.session.phase == "paused" else self.session.pause()
        except InterviewError as exc:
            self.saved_label.setText(str(exc))
            return
        self._save_state()
        self._refresh()

    def ask_abandon(self) -> None:
        if self.session is None or self.session.finished or self.pages.currentWidget() is self.setup:
            return
        self.abandon_box = QMessageBox(QMessageBox.Question, "Abandon the interview?",
                                       "Stop this interview now? What you have written is kept and graded, "
                                       "unanswered questions score 0.", QMessageBox.Yes | QMessageBox.No, self)
        self.abandon_box.setDefaultButton(QMessageBox.No)
        self.abandon_box.finished.connect(self._abandon_answered)
        self.abandon_box.open()

    def _abandon_answered(self, result: int) -> None:
        if result == QMessageBox.Yes and self.session is not None and not self.session.finished:
            self.session.set_draft(self.answer.toPlainText())
            self._handle(self.session.abandon())

    def keyPressEvent(self, event) -> None:
        action = self.answer._action(event)
        if action is not None:
            action.emit()
        else:
            super().keyPressEvent(event)

    def _can_answer(self) -> bool:
        return self.session is not None and self.session.phase == "answering" \
            and self.pages.currentWidget() is self.run_page

    # -- after each answer ---------------------------------------------------------------------------------
    def _handle(self, submissions: list[Submission]) -> None:
        self._draft_timer.stop()
        for submission in submissions:
            self._persist(submission)
        if self.session.finished:
            self._close()
        elif self.session.phase == "between":
            self._show_feedback(submissions[-1].index)
        else:
            self._save_state()
            self._show_question()

    def _persist(self, submission: Submission) -> None:
        """Saved the moment it is submitted: the attempt, the interview answer, the state, the draft cleared."""
        now = time.time()
        graded = submission.outcome in GRADED_OUTCOMES
        attempt = {"question_id": submission.question_id, "answer": submission.answer, "choice": "",
                   "verdict": "pending" if graded else "skipped", "score": 0, "grade_json": "", "model": "",
                   "mode": "interview", "started_at": now - submission.seconds, "submitted_at": now,
                   "answer_seconds": submission.seconds, "grade_seconds": 0.0}
        store.record_submission(self.db, self.interview_id, self.session.to_dict(), {
            "position": submission.index, "question_id": submission.question_id, "answer": submission.answer,
            "outcome": submission.outcome, "seconds": submission.seconds, "submitted_at": now}, attempt)
        question = self.library.by_id.get(submission.question_id)
        if graded and question is not None:
            self.queue.add((self.interview_id, submission.index), question, submission.answer)
        self.saved_label.setText(f"Answer {submission.index + 1} saved ({submission.outcome}).")

    def _close(self) -> None:
        self.timer.stop()
        report = self._report()
        store.close_interview(self.db, self.interview_id, self.session.to_dict(), self.session.phase, report.score,
                              report_markdown(report))
        self.lock_changed.emit(False)
        self._show_report()

    def _show_feedback(self, index: int) -> None:
        self.feedback_index = index
        slot = self.session.slots[index]
        question = self.library.by_id.get(slot.question_id)
        self.feedback_header.setText(f"Feedback on question {index + 1} of {len(self.session.slots)} "
                                     f"({slot.outcome}, {format_clock(slot.seconds)} used). The clock is stopped.")
        if question is None:
            self.feedback.clear_grade("This question is no longer in the bank.")
        elif slot.grade is not None:
            self.feedback.show_final(question, slot.grade)
        else:
            self.feedback.show_status(question, "Grading your answer..." if slot.outcome in GRADED_OUTCOMES
                                      else "Skipped: no feedback.")
        self.pages.setCurrentWidget(self.feedback_page)
        self.next_button.setFocus()

    def _report(self):
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started_at))
        return build_report(self.session, self.library.by_id, self.titles, started)

    def _show_report(self) -> None:
        self.report_view.show_report(self._report(), self.queue.pending)
        self.pages.setCurrentWidget(self.report_view)

    def _show_report_if_open(self) -> None:
        if self.session is not None and self.pages.currentWidget() is self.report_view:
            self.report_view.show_report(self._report(), self.queue.pending)

    # -- grades arriving from the worker ------------------------------------------------------------------
    def on_verdict(self, request_id: int, grade: Grade) -> None:
        self.queue.on_verdict(request_id, grade)

    def on_finished(self, request_id: int, grade: Grade) -> None:
        self.queue.on_finished(request_id, grade)

    def on_failed(self, request_id: int, message: str) -> None:
        self.queue.on_failed(request_id, message)

    def _on_verdict(self, key: tuple[int, int], grade: Grade) -> None:
        if self.pages.currentWidget() is self.feedback_page and key == (self.interview_id, self.feedback_index):
            question = self.library.by_id.get(grade.question_id)
            if question is not None:
                self.feedback.show_verdict(question, grade)

    def _on_graded(self, key: tuple[int, int], grade: Grade) -> None:
        interview_id, index = key
        session = self.session if interview_id == self.interview_id else self._load_other(interview_id)
        if session is None:
            return
        session.record_grade(index, grade)
        changes = {}
        if session.finished:
            report = build_report(session, self.library.by_id, self.titles)
            changes = {"score": report.score, "report_md": report_markdown(report)}
        store.record_grade(self.db, interview_id, index, grade.to_dict(), session.to_dict(), **changes)
        if session is self.session:
            if self.pages.currentWidget() is self.feedback_page and index == self.feedback_index:
                self._show_feedback(index)
            self._show_report_if_open()

    def _load_other(self, interview_id: int) -> Interview | None:
        """A grade for an interview no longer on screen still belongs in its saved state."""
        try:
            return Interview.from_dict(store.load_interview(self.db, interview_id)["state"], self.clock)
        except (KeyError, InterviewError):
            return None

    def _on_grading_failed(self, key: tuple[int, int], message: str) -> None:
        if key[0] == self.interview_id:
            self.saved_label.setText(f"Question {key[1] + 1}: {message}")
            self.report_view.status.setText(f"Question {key[1] + 1}: {message}")
            self._show_report_if_open()

    # -- display -------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        session = self.session
        if session is None or session.finished or self.pages.currentWidget() is not self.run_page:
            self._show_report_if_open()
            return
        limit = session.settings.seconds_per_question
        remaining = session.question_remaining
        paused = session.phase == "paused"
        self.countdown.setText(format_clock(remaining))
        self.countdown.setStyleSheet(f"font-size: 22pt; font-weight: bold; color: "
                                     f"{'#b3261e' if session.warning else '#222'}")
        self.time_bar.setValue(int(1000 * remaining / limit))
        left = session.session_remaining
        grading = f" · grading {self.queue.pending} in the background" if self.queue.pending else ""
        self.session_label.setText((f"Session: {format_clock(left)} left" if left is not None
                                    else f"Session: {format_clock(session.session_elapsed)} used") + grading)
        self.warning.setText("Time is nearly up: what you have written is submitted when it runs out."
                             if session.warning else "")
        self.pause_button.setText("Resume" if paused else "Pause")
        for widget in (self.prompt, self.answer):
            widget.setVisible(not paused)
        self.paused_label.setVisible(paused)
        for button in (self.submit_button, self.skip_button):
            button.setEnabled(session.phase == "answering")

    def shutdown(self) -> None:
        """Closing the app: keep the draft and the state; stop grading (it resumes when the interview does)."""
        self.timer.stop()
        self._draft_timer.stop()
        if self.session is not None and not self.session.finished and self.interview_id is not None:
            self.save_draft()
            self._save_state()
        self.queue.cancel_all()
