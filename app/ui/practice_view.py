"""The practice view: pick a topic and difficulty, read the scenario, write an answer, see the grade."""
from __future__ import annotations

import random
import sqlite3
import time
from html import escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core.model import DIFFICULTIES, Grade, Question
from app.core.open_items import probe_for
from app.library import ANY, Library
from app.sessions.dispatcher import GradingDispatcher
from app.sessions.practice import PracticeSession
from app.sessions.writes import Writes
from app.storage.history import ReviewResult
from app.ui import theme
from app.ui.answer_box import AnswerBox
from app.ui.draft_saver import READ_AHEAD_MS, DraftSaver
from app.ui.grade_view import GradeView
from app.ui.phase_splitter import READING, WRITING, PhaseSplitter
from app.ui.question_html import question_html
from app.ui.review_view import ReviewBar


ELAPSED_MS = 1000
WAITING_FOR_ANSWER = "Your grade appears here when you submit: the verdict first, then the points and why."


class WholeLabel(QLabel):
    """A word-wrapped label the layout does not squeeze below its text (up to half the window's height), so in a
    small window the scenario and every option stay readable and the grade pane below gives way instead."""

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width())  # -1 before the label has a width
        self.setMinimumHeight(max(0, min(needed, self.window().height() // 2)))

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()


class PracticeView(QWidget):
    """Renders the practice session's state and forwards the learner's actions to it."""
    section_clicked = Signal(str)

    def __init__(self, library: Library, db, dispatcher: GradingDispatcher, writes: Writes | None = None):
        super().__init__()
        self.library, self.db = library, db
        self.session = PracticeSession(db, dispatcher, self, writes=writes)

        self.topic = QComboBox()
        self.topic.addItem("Any topic", ANY)
        for topic_id, title in library.topics():
            self.topic.addItem(title, topic_id)
        self.difficulty = QComboBox()
        self.difficulty.addItem("Any difficulty", ANY)
        for level in DIFFICULTIES:
            self.difficulty.addItem(level.capitalize(), level)
        self.next_button = QPushButton("Next question")
        self.next_button.clicked.connect(self.next_question)
        self.question_meta = theme.set_role(QLabel(), "muted")
        self.question_label = WholeLabel(wordWrap=True, textFormat=Qt.RichText)
        self.question_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.question_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.answer = AnswerBox(placeholderText="Write your answer: which option, and why. Ctrl+Enter submits.")
        self.answer.textChanged.connect(self._answer_changed)
        self.submit_button = QPushButton("Submit  (Ctrl+Enter)")
        self.submit_button.clicked.connect(self.submit)
        self.followup_button = QPushButton("Follow-up")
        self.followup_button.setToolTip("What an interviewer would ask next about this answer")
        self.followup_button.clicked.connect(self.ask_followup)
        self.followup_button.setVisible(False)
        self.cancel_button = QPushButton("Cancel grading")
        self.cancel_button.clicked.connect(self.cancel_grading)
        self.cancel_button.setEnabled(False)
        self.busy = QProgressBar(minimum=0, maximum=0, textVisible=False, maximumWidth=120, visible=False)
        self.busy.setToolTip("The grading model is working")
        self.draft_label = QLabel()
        theme.set_role(self.draft_label, "faint")
        self.grade_view = GradeView()
        self.grade_view.section_clicked.connect(self.section_clicked)
        self.grade_view.called.connect(self._called)
        self.review_bar = ReviewBar(library, db, self.session)
        self.review_bar.question_requested.connect(self.show_question)
        self.review_bar.summary_ready.connect(self.grade_view.show_page)
        self.review_bar.practice_requested.connect(self.next_question)
        self.drafts = DraftSaver(self, self._store_draft, self.draft_label)
        self.answer.pasted.connect(self.drafts.pasted)
        self.reader = QTimer(self, singleShot=True, interval=READ_AHEAD_MS)
        self.reader.timeout.connect(self._read_ahead)
        self.grading_since = 0.0
        self.clock = QTimer(self, interval=ELAPSED_MS)
        self.clock.timeout.connect(self._tick)

        picker = QHBoxLayout()
        picker.addWidget(QLabel("Topic:"))
        picker.addWidget(self.topic, 2)
        picker.addWidget(QLabel("Difficulty:"))
        picker.addWidget(self.difficulty, 1)
        picker.addWidget(self.next_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.draft_label, 1)
        buttons.addWidget(self.busy)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.followup_button)
        buttons.addWidget(self.submit_button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.question_meta)
        top_layout.addWidget(self.question_label)
        top_layout.addWidget(self.answer, 1)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.review_bar)
        splitter = PhaseSplitter()
        splitter.addWidget(top)
        splitter.addWidget(self.grade_view)
        splitter.set_phase(WRITING)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addLayout(picker)
        layout.addWidget(splitter, 1)

    def set_topic(self, topic_id: str) -> None:
        index = self.topic.findData(topic_id)
        if index >= 0:
            self.topic.setCurrentIndex(index)
        self.next_question()

    def next_question(self) -> None:
        exclude = self.question.id if self.question else None
        question = self.library.pick_question(self.topic.currentData(), self.difficulty.currentData(), exclude)
        if question is None:
            self.question_label.setText(self._no_question_text())
            self.submit_button.setEnabled(self.question is not None)
            return
        self.show_question(question)

    def _no_question_text(self) -> str:
        if self.library.questions:
            return "<i>No question matches this topic and difficulty.</i>"
        problems = "<br>".join(escape(p) for p in self.library.problems[:1])  # the content problem, file and line
        return (f"<p><b style='color:{theme.colour('bad')}'>No questions could be loaded.</b> The content folder "
                "has problems and "
                f"there is no earlier good question bank to fall back on. Fix them, then start the app again:</p>"
                f"<p><code>{problems.replace(chr(10), '<br>')}</code></p>"
                "<p><code>python -m app content check</code> lists every problem with its file and line.</p>")

    @property
    def question(self) -> Question | None:
        return self.session.question

    def show_question(self, question: Question, thread_html: str = "") -> None:
        if not self.save_draft():
            return  # the draft on screen could not be stored: moving on would lose it
        topic = self.library.notes_by_id.get(question.topic)
        kind = question.difficulty if question.options else "follow-up"
        self.question_meta.setText(f"{topic.title if topic else question.topic} · {kind} · {question.id}")
        self.followup_button.setVisible(False)
        draft = self.session.show(question)
        self.question_label.setText(thread_html or question_html(self.session.question))
        self.answer.blockSignals(True)
        self.answer.setPlainText(draft)
        self.answer.blockSignals(False)
        self.drafts.forget()
        self.draft_label.setText("Draft restored" if draft else "")
        self.grade_view.clear_grade(WAITING_FOR_ANSWER)
        self.review_bar.clear()
        self._grading(False)
        self.splitter.set_phase(WRITING)

    def _answer_changed(self) -> None:
        self.drafts.changed()
        self.session.typing()
        self.reader.start()

    def _read_ahead(self) -> None:
        if self.question is not None:
            self.session.read_ahead(self.answer.toPlainText())

    def _store_draft(self) -> bool:
        if self.question is None:
            return False
        self.session.save_draft(self.answer.toPlainText())
        return True

    def save_draft(self) -> bool:
        return self.drafts.flush()

    def submit(self) -> None:
        if self.question is None or not self.submit_button.isEnabled():
            return
        try:
            self.session.submit(self.answer.toPlainText())
        except sqlite3.Error as exc:
            self.grade_view.show_status(self.question, f"Your answer could NOT be saved ({exc}), so it was not "
                                        "graded. It is still in the box: submit again when storage is back.")
            return
        self.drafts.forget()
        self.draft_label.setText("Answer submitted")  # stored with its grade: "Draft saved" would be stale
        self.reader.stop()
        self.grade_view.setFocus()  # out of the answer box, so keys 1-4 rate the graded answer instead of typing
        self._grading(True)
        self.splitter.set_phase(READING)
        self.grade_view.show_status(self.question, "Grading...")

    def cancel_grading(self) -> None:
        if self.session.grading:
            self.session.cancel()
            self.cancel_button.setEnabled(False)

    def _grading(self, running: bool) -> None:
        """Buttons, and a clock that shows the learner grading is alive (the model can take a while on 2 cores)."""
        self.submit_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.busy.setVisible(running)
        self.grading_since = time.monotonic()
        self.clock.start() if running else self.clock.stop()

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self.grading_since)
        view = self.grade_view
        if view.grade is None:
            view.show_status(self.question, f"Grading... {seconds} s (reading your answer)")
        else:
            words = len(view.explanation.split())
            view.set_status(f"Writing the explanation... {seconds} s, {words} words so far")

    # -- told by the session, about the attempt on screen --------------------------------------------------
    def on_verdict(self, grade: Grade) -> None:
        self.grade_view.show_verdict(self.question, grade)

    def on_token(self, piece: str) -> None:
        self.grade_view.add_token(piece)

    def on_final(self, grade: Grade, review: ReviewResult | None) -> None:
        self._grading(False)
        self.grade_view.show_final(self.question, grade)
        self.review_bar.show_rating(review)
        self.followup_button.setVisible(bool(self.question.options) and self._followup(grade) is not None)

    def _called(self, item: str, value) -> None:
        calls = self.session.call(item, value)
        if calls is not None:
            self.grade_view.set_calls(calls)

    def _followup(self, grade: Grade) -> Question | None:
        """An authored follow-up of the question, else a probe on the first key point this grade found missing."""
        question = self.question
        authored = self.library.followups_of(question.id)
        if authored:
            return random.choice(authored).as_question()
        missed = next((p.id for p in grade.key_points if not p.made), None)
        return probe_for(question, missed) if missed else None

    def ask_followup(self) -> None:
        grade, question = self.grade_view.grade, self.question
        followup = self._followup(grade) if grade is not None and question is not None else None
        if followup is None:
            return
        answer = self.answer.toPlainText()
        thread = (f"<p><b>Interviewer:</b> {escape(question.prompt)}</p><p><b>You:</b> "
                  f"{escape(answer).replace(chr(10), '<br>')}</p><h3>Interviewer: {escape(followup.prompt)}</h3>")
        self.show_question(followup, thread)

    def on_failed(self, message: str) -> None:
        self._grading(False)
        if message == "Grading cancelled.":
            message = "Grading cancelled; your answer is kept. Submit again when ready."
        else:
            message += " Your answer is saved; submit again to retry."
        self.grade_view.show_status(self.question, message)
