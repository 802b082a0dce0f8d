"""The Interview tab: renders the interview controller's state and forwards the learner's input to it."""
from __future__ import annotations

import time
from html import escape
from typing import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from app.core.interview import GRADED_OUTCOMES, PRESETS, InterviewError, InterviewSettings, Submission, format_clock
from app.core.model import Grade
from app.library import Library
from app.sessions.dispatcher import GradingDispatcher
from app.sessions.interview import InterviewController, shown
from app.sessions.writes import Writes
from app.storage import interviews as store
from app.ui.answer_box import AnswerBox
from app.ui.draft_saver import READ_AHEAD_MS, DraftSaver
from app.ui.grade_view import GradeView
from app.ui.interview_report_view import InterviewReportView
from app.ui.interview_setup import InterviewSetup
from app.ui.question_html import question_html
from app.ui import theme

TICK_MS = 200


class AnswerEdit(AnswerBox):
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
    lock_changed = Signal(bool)          # True while an interview-mode interview runs: no notes, no practice
    section_clicked = Signal(str)

    def __init__(self, library: Library, db, dispatcher: GradingDispatcher,
                 clock: Callable[[], float] = time.monotonic, writes: Writes | None = None):
        super().__init__()
        self.library, self.db = library, db
        self.control = InterviewController(db, library, dispatcher, self, clock, writes)
        self.feedback_index: int | None = None
        self.abandon_box: QMessageBox | None = None
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self._tick)

        self.setup = InterviewSetup(library.topics(), [(d.id, d.title) for d in library.designs])
        self.setup.start_requested.connect(self.start_interview)
        self.setup.open_requested.connect(self.open_past)
        self.setup.resume_requested.connect(self.resume_unfinished)
        self.setup.finish_requested.connect(self.finish_unfinished)
        self.report_view = InterviewReportView()
        self.report_view.section_clicked.connect(self.section_clicked)
        self.report_view.back_requested.connect(self.show_setup)
        self.report_view.suggestion_requested.connect(self._use_suggestion)
        self.report_view.regrade_requested.connect(self.grade_the_rest)
        self.report_view.cancel_requested.connect(self.control.cancel_grading)
        self.run_page = self._build_run_page()
        self.feedback_page = self._build_feedback_page()
        self.pages = QStackedWidget()
        for page in (self.setup, self.run_page, self.feedback_page, self.report_view):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.setup.set_settings(self.control.remembered_settings(PRESETS["Quick 3 x 4 min"]))
        self.show_setup()

    @property
    def session(self):
        return self.control.session

    @property
    def interview_id(self) -> int | None:
        return self.control.interview_id

    @property
    def clock(self) -> Callable[[], float]:
        return self.control.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.control.clock = clock

    # -- pages ----------------------------------------------------------------------------------
    def _build_run_page(self) -> QWidget:
        self.header = theme.set_role(QLabel(), "muted")
        self.countdown = QLabel(styleSheet="font-size: 22pt; font-weight: bold")
        self.time_bar = QProgressBar(textVisible=False, maximum=1000)
        self.session_label = QLabel()
        self.warning = theme.set_role(QLabel(), "bad", bold=True)
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
        self.saved_label = theme.set_role(QLabel(), "faint")
        self.drafts = DraftSaver(self, self.control.save_draft, self.saved_label)
        self.answer.pasted.connect(self.drafts.pasted)
        self.reader = QTimer(self, singleShot=True, interval=READ_AHEAD_MS)
        self.reader.timeout.connect(lambda: self.control.read_ahead(self.answer.toPlainText()))
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
        self.feedback_header = theme.set_role(QLabel(), "muted")
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

    def _use_suggestion(self, settings: InterviewSettings) -> None:
        self.show_setup()
        self.setup.set_settings(settings)

    # -- starting, resuming, reopening -----------------------------------------------------------------
    def check_unfinished(self) -> bool:
        """Offer to resume or finish an interview the app was closed (or crashed) in the middle of."""
        row = self.control.find_unfinished()
        if row is None:
            self.setup.show_unfinished(None)
            return False
        answered = sum(1 for s in row["state"].get("slots", []) if s.get("outcome"))
        self.setup.show_unfinished(row, f"{answered} of {row['question_count']} questions answered")
        self.show_setup()
        return True

    def start_interview(self, settings: InterviewSettings) -> bool:
        problem = self.control.start(settings)
        if problem:
            self.setup.show_error(problem)
            return False
        self._enter_running()
        return True

    def resume_unfinished(self) -> None:
        if self._said(self.control.resume_unfinished()):
            self._enter_running()

    def finish_unfinished(self) -> None:
        if self._said(self.control.finish_unfinished()):
            self._after([])

    def open_past(self, interview_id: int) -> None:
        if self._said(self.control.open_past(interview_id)):
            self._show_report()

    def _said(self, problem: str | None) -> bool:
        """Shows a refusal on the setup page; True when there was none."""
        self.setup.show_unfinished(self.control.unfinished)
        if problem:
            self.setup.show_error(problem)
        return not problem

    def grade_the_rest(self) -> None:
        self.control.grade_the_rest()
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
        question = self.library.item(slot.question_id)
        self.header.setText(escape(self._where(slot), quote=False) + f" · {self.session.settings.mode} mode")
        if question is None:
            body = "<p><i>This question is no longer in the bank; write what you would answer, or skip.</i></p>"
        elif slot.kind in ("followup", "probe"):
            body = self._thread_html(slot)
        elif slot.kind == "stage":
            body = self._stage_html(slot)
        else:
            body = question_html(shown(question, slot.order))
        self.prompt.setText(body)
        self.answer.setPlaceholderText("Your answer: which option, and why. Ctrl+Enter submits, Ctrl+Right skips, "
                                       "Esc abandons." if slot.kind == "question" else
                                       "Your answer. Ctrl+Enter submits, Ctrl+Right skips, Esc abandons.")
        self.answer.blockSignals(True)
        self.answer.setPlainText(self.session.draft)
        self.answer.blockSignals(False)
        self.answer.moveCursor(self.answer.textCursor().MoveOperation.End)
        self.pause_button.setVisible(self.session.settings.allow_pause)
        self.pages.setCurrentWidget(self.run_page)
        self.answer.setFocus()
        self._refresh()
        self.control.presented()

    def _where(self, slot) -> str:
        """'Question 2 of 4 · RAG · hard', 'Follow-up to question 2', 'Design round · stage 3 of 5 · ...'."""
        slots = self.session.slots
        questions = [s for s in slots if s.kind == "question"]
        index = slots.index(slot)
        number = sum(1 for s in slots[: index + 1] if s.kind == "question")
        title = self.control.titles.get(slot.topic, slot.topic)
        if slot.kind == "question":
            return f"Question {number} of {len(questions)} · {title} · {slot.difficulty}"
        if slot.kind in ("followup", "probe"):
            return f"Follow-up to question {number} · {title}"
        stages = [s for s in slots if s.round_id == slot.round_id]
        return (f"Design round · stage {stages.index(slot) + 1} of {len(stages)} · suggested "
                f"{format_clock(slot.suggested)} · one clock for the whole round")

    def _thread_html(self, slot) -> str:
        """The conversation so far: the question, the answer just given, and the follow-up."""
        parent = self.session.slots[slot.parent] if 0 <= slot.parent < len(self.session.slots) else None
        question = self.library.item(parent.question_id) if parent else None
        parts = []
        if question is not None:
            parts.append(f"<p><b>Interviewer:</b> {escape(question.prompt)}</p>")
        if parent is not None:
            parts.append("<p><b>You:</b> " + (escape(parent.answer).replace("\n", "<br>") or "<i>(no answer)</i>")
                         + "</p>")
        parts.append(f"<h3>Interviewer: {escape(slot.prompt)}</h3>")
        return "".join(parts)

    def _stage_html(self, slot) -> str:
        design = self.library.designs_by_id.get(slot.round_id)
        stage = design.stage(slot.question_id.partition(":")[2]) if design else None
        if design is None or stage is None:
            return f"<p>{escape(slot.prompt)}</p>"
        return (f"<h3>{escape(design.title)}</h3><p>{escape(design.prompt)}</p>"
                f"<h3>{escape(stage.title)}</h3><p>{escape(stage.prompt)}</p>")

    def _answer_changed(self) -> None:
        if self.session is not None and self.session.current_slot is not None:
            self.control.set_draft(self.answer.toPlainText())
            self.drafts.changed()
            self.control.typing()
            self.reader.start()

    def save_draft(self) -> None:
        self.drafts.flush()

    def _tick(self) -> None:
        if self.session is None or self.session.phase != "answering":
            self._refresh()
            return
        submissions = self.control.tick()
        if submissions:
            self._after(submissions)
            return
        self._refresh()

    def submit(self) -> None:
        if self.pages.currentWidget() is self.feedback_page:
            self.next_question()
        elif self._can_answer():
            self._after(self.control.answer(self.answer.toPlainText()))

    def skip(self) -> None:
        if self._can_answer():
            self._after(self.control.skip(self.answer.toPlainText()))

    def next_question(self) -> None:
        if self.session is not None and self.session.phase == "between":
            self.control.next_question()
            self._show_question()

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        try:
            self.control.toggle_pause()
        except InterviewError as exc:
            self.saved_label.setText(str(exc))
            return
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
        if result == QMessageBox.Yes and self.control.running:
            self._after(self.control.abandon(self.answer.toPlainText()))

    def keyPressEvent(self, event) -> None:
        action = self.answer._action(event)
        if action is not None:
            action.emit()
        else:
            super().keyPressEvent(event)

    def _can_answer(self) -> bool:
        return self.session is not None and self.session.phase == "answering" \
            and self.pages.currentWidget() is self.run_page

    def _after(self, submissions: list[Submission]) -> None:
        """Show what comes after the answers the controller just saved."""
        self.drafts.forget()
        self.reader.stop()
        if submissions:
            last = submissions[-1]
            self.saved_label.setText(f"Answer {last.index + 1} saved ({last.outcome}).")
        if self.session.finished:
            self.timer.stop()
            self.lock_changed.emit(False)
            self._show_report()
        elif self.session.phase == "between":
            self._show_feedback(submissions[-1].index)
        else:
            self._show_question()

    def _show_feedback(self, index: int) -> None:
        self.feedback_index = index
        slot = self.session.slots[index]
        question = self.library.item(slot.question_id)
        self.feedback_header.setText(f"Feedback: {escape(self._where(slot), quote=False)} ({slot.outcome}, "
                                     f"{format_clock(slot.seconds)} used). The clock is stopped.")
        if question is None:
            self.feedback.clear_grade("This question is no longer in the bank.")
        elif slot.grade is not None:
            self.feedback.show_final(question, slot.grade)
        else:
            self.feedback.show_status(question, "Grading your answer..." if slot.outcome in GRADED_OUTCOMES
                                      else "Skipped: no feedback.")
        self.pages.setCurrentWidget(self.feedback_page)
        self.next_button.setFocus()

    def _show_report(self) -> None:
        self.report_view.show_report(self.control.report(), self.control.pending, self._model_ready())
        self.pages.setCurrentWidget(self.report_view)

    def _model_ready(self) -> bool:
        return self.control.dispatcher.engine is not None

    def model_changed(self) -> None:
        """A model loaded or lost: the report's 'Grade again with the model' follows."""
        self._show_report_if_open()

    def _show_report_if_open(self) -> None:
        if self.session is not None and self.pages.currentWidget() is self.report_view:
            self.report_view.show_report(self.control.report(), self.control.pending, self._model_ready())

    # -- told by the controller ----------------------------------------------------------------------------
    def on_verdict(self, index: int, grade: Grade) -> None:
        if self.pages.currentWidget() is self.feedback_page and index == self.feedback_index:
            question = self.library.item(grade.question_id)
            if question is not None:
                self.feedback.show_verdict(question, grade)

    def on_graded(self, index: int) -> None:
        if self.pages.currentWidget() is self.feedback_page and index == self.feedback_index:
            self._show_feedback(index)
        self._show_report_if_open()

    def on_grading_failed(self, index: int, message: str) -> None:
        self.saved_label.setText(f"Question {index + 1}: {message}")
        self.report_view.status.setText(f"Question {index + 1}: {message}")
        self._show_report_if_open()

    def on_queue_changed(self) -> None:
        self._refresh()

    # -- display -------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        session = self.session
        if session is None or session.finished or self.pages.currentWidget() is not self.run_page:
            self._show_report_if_open()
            return
        slot = session.current_slot
        limit = (slot.limit if slot is not None and slot.kind == "stage" else session.question_limit) or 1.0
        remaining = session.question_remaining
        paused = session.phase == "paused"
        self.countdown.setText(format_clock(remaining))
        role = "bad" if session.warning else "text"
        if self.countdown.property("role") != role:
            theme.set_role(self.countdown, role)
        self.time_bar.setValue(int(1000 * remaining / limit))
        left = session.session_remaining
        pending = self.control.pending
        grading = f" · grading {pending} in the background" if pending else ""
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
        self.drafts.timer.stop()
        self.reader.stop()
        self.control.shutdown()
