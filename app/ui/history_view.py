"""The history tab: every attempt, filtered and searched; open one to see its grade and override it."""
from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMessageBox
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSplitter, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.core import learner_calls, option_order
from app.core.model import VERDICTS, grader_file, path_note
from app.core.review import effective_verdict
from app.core.schedule import RATINGS
from app.core.stats import HistoryFilter, filter_attempts
from app.library import Library
from app.storage import history
from app.ui import theme
from app.ui.grade_view import GradeView

PERIODS = (("Any time", None), ("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29))
COLUMNS = ("When", "Topic", "Question", "Verdict", "Score", "Mode", "Graded by")
WIDEST = {1: 170, 6: 150}  # px: long topic titles and model file names are elided (full text in the tooltip)


class HistoryView(QWidget):
    section_clicked = Signal(str)
    data_changed = Signal()

    def __init__(self, library: Library, db, session=None):
        super().__init__()
        self.library, self.db = library, db
        self.session = session  # the practice session, which grades an attempt again (None: no "Grade again")
        self.current: dict | None = None
        self.topic = QComboBox()
        self.topic.addItem("Any topic", "")
        for topic_id, title in library.topics():
            self.topic.addItem(title, topic_id)
        self.verdict = QComboBox()
        self.verdict.addItem("Any verdict", "")
        for verdict in reversed(VERDICTS):
            self.verdict.addItem(verdict.capitalize(), verdict)
        self.period = QComboBox()
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.text = QLineEdit(placeholderText="Search answers, questions and feedback", clearButtonEnabled=True)
        for combo in (self.topic, self.verdict, self.period):
            combo.currentIndexChanged.connect(self.refresh)
        self.text.textChanged.connect(self.refresh)
        self.count = QLabel()
        self.list = QTreeWidget(rootIsDecorated=False, uniformRowHeights=True, alternatingRowColors=True)
        self.list.setHeaderLabels(COLUMNS)
        self.list.header().setStretchLastSection(False)
        self.list.header().setSectionResizeMode(2, QHeaderView.Stretch)
        self.list.currentItemChanged.connect(lambda item, _: self.open_attempt(item.data(0, Qt.UserRole) if item else None))
        self.header = QLabel(wordWrap=True, textFormat=Qt.RichText)
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.override_label = QLabel(wordWrap=True)  # wraps rather than widen the window at 1024 px
        self.override_buttons = {}
        overrides = QHBoxLayout()
        overrides.addWidget(self.override_label, 1)
        for verdict in reversed(VERDICTS):
            button = QPushButton(f"Mark {verdict}")
            button.setToolTip(f"You disagree with the grade: count this attempt as {verdict}")
            button.clicked.connect(lambda _=False, v=verdict: self.override(v))
            self.override_buttons[verdict] = button
            overrides.addWidget(button)
        self.undo_button = QPushButton("Use the grader's verdict")
        self.undo_button.clicked.connect(lambda: self.override(None))
        overrides.addWidget(self.undo_button)
        self.again_button = QPushButton("Grade again")
        self.again_button.setToolTip("Grade this answer again with the grading model (it was not graded, or only "
                                     "from the rubric); your own verdict, if you gave one, stays")
        self.again_button.clicked.connect(self.grade_again)
        overrides.addWidget(self.again_button)
        self.grade_view = GradeView()
        self.grade_view.section_clicked.connect(self.section_clicked)
        self.grade_view.called.connect(self.call)

        filters = QHBoxLayout()
        for widget, stretch in ((self.topic, 2), (self.verdict, 1), (self.period, 1), (self.text, 3), (self.count, 0)):
            filters.addWidget(widget, stretch)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.header)
        detail_layout.addLayout(overrides)
        detail_layout.addWidget(self.grade_view, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.list)
        splitter.addWidget(detail)
        splitter.setSizes([280, 520])
        self.splitter = splitter
        theme.notifier().changed.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        self.refresh()

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)

    def current_filter(self) -> HistoryFilter:
        days = self.period.currentData()
        since = date.today() - timedelta(days=days) if days is not None else None
        return HistoryFilter(topic=self.topic.currentData(), verdict=self.verdict.currentData(), since=since,
                             text=self.text.text())

    def refresh(self) -> None:
        selected = self.current["id"] if self.current else None
        rows = filter_attempts(history.all_attempts(self.db), self.library.by_id, self.current_filter())
        self.list.blockSignals(True)
        self.list.clear()
        for row in rows:
            self.list.addTopLevelItem(self._item(row))
        self.list.blockSignals(False)
        total = len(history.all_attempts(self.db))
        self.count.setText(f"{len(rows)} of {total}")
        for column in (0, 1, 3, 4, 5, 6):
            self.list.resizeColumnToContents(column)
            if column in WIDEST:
                self.list.setColumnWidth(column, min(self.list.columnWidth(column), WIDEST[column]))
        match = next((self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())
                      if self.list.topLevelItem(i).data(0, Qt.UserRole) == selected), None)
        if match:
            self.list.setCurrentItem(match)
        self.open_attempt(selected if match else None)

    def _item(self, row: dict) -> QTreeWidgetItem:
        question = self.library.item(row["question_id"])
        topic = self.library.notes_by_id.get(question.topic) if question else None
        verdict = effective_verdict(row)
        shown = verdict + (" (yours)" if row.get("override_verdict") else "")
        item = QTreeWidgetItem([datetime.fromtimestamp(row["submitted_at"] or 0).strftime("%Y-%m-%d %H:%M"),
                                topic.title if topic else (question.topic if question else "?"),
                                f"{row['question_id']}: {' '.join(question.prompt.split())[:120] if question else '(no longer in the bank)'}",
                                shown, str(row["score"]), row.get("mode") or "",
                                grader_file(row.get("model") or "") + path_note(_grade_path(row))])
        item.setData(0, Qt.UserRole, row["id"])
        item.setToolTip(1, item.text(1))
        item.setToolTip(2, question.prompt if question else "")
        if verdict in theme.VERDICT_ROLE:
            item.setForeground(3, QColor(theme.verdict_colour(verdict)))
        item.setToolTip(6, " ".join(filter(None, [row.get("model"), _grade_path(row) and f"({_grade_path(row)})"])))
        return item

    def open_attempt(self, attempt_id: int | None) -> None:
        self.current = history.get_attempt(self.db, attempt_id) if attempt_id is not None else None
        row = self.current
        for button in (*self.override_buttons.values(), self.undo_button):
            button.setVisible(row is not None and bool(row["grade_json"]))
        model_ready = self.session is not None and self.session.dispatcher.engine is not None
        self.again_button.setVisible(self.session is not None and row is not None and row.get("mode") == "practice"
                                     and (row["verdict"] == "pending" or (row.get("model") == "rubric only"
                                                                          and model_ready)))
        self.again_button.setEnabled(True)
        if row is None:
            self.header.setText(f"<p style='color:{theme.colour('muted')}'>" + (
                "Select an attempt to see its answer and grade." if self.list.topLevelItemCount() else
                "No attempts yet. Answer a question in the Practice tab; every attempt is kept here.") + "</p>")
            self.override_label.setText("")
            self.grade_view.clear_grade()
            return
        question = self.library.item(row["question_id"])
        when = datetime.fromtimestamp(row["submitted_at"] or 0).strftime("%A %d %B %Y, %H:%M")
        self.header.setText(
            f"<p style='color:{theme.colour('muted')}'>{escape(row['question_id'])} · {escape(row.get('mode') or '')} · {when} · "
            f"answered in {(row.get('answer_seconds') or 0) / 60:.1f} min</p>"
            f"<p>{escape(question.prompt if question else '(this question is no longer in the bank)')}</p>"
            f"{shown_options(question, row.get('option_order'))}"
            f"<p><b>Your answer:</b> {escape(row['answer'] or '').replace(chr(10), '<br>')}</p>")
        grade = history.attempt_grade(row)
        if grade is None or question is None:
            self.override_label.setText("")
            self.grade_view.clear_grade("This attempt was not graded (grading was cancelled or failed).")
            return
        self.grade_view.show_final(question, grade, row.get("override_verdict"),
                                   learner_calls.parse(row.get("learner_calls")))
        self._show_override(row)

    def _show_override(self, row: dict) -> None:
        review = history.question_review(self.db, row["id"])
        rating = f" · review rating {RATINGS[review['rating']]}" + ("" if review["scheduled"] else " (extra practice)") if review else ""
        if row.get("override_verdict"):
            text = f"Grader said <b>{row['verdict']}</b>; you marked it <b>{row['override_verdict']}</b>{rating}"
        else:
            text = f"Grader's verdict: <b>{row['verdict']}</b>{rating}. Disagree?"
        self.override_label.setText(text)
        for verdict, button in self.override_buttons.items():
            button.setEnabled(verdict != effective_verdict(row))
        self.undo_button.setVisible(bool(row.get("override_verdict")))

    def grade_again(self) -> None:
        if self.current is None or self.session is None:
            return
        attempt_id = self.current["id"]
        self.again_button.setEnabled(False)
        self.grade_view.clear_grade("Grading this answer again...")
        if not self.session.grade_again(self.current, after=lambda problem: self._graded_again(attempt_id, problem)):
            self.grade_view.clear_grade("This question is no longer in the bank, so the answer cannot be graded.")

    def _graded_again(self, attempt_id: int, problem: str = "") -> None:
        self.refresh()
        self.data_changed.emit()
        if problem and self.current is not None and self.current["id"] == attempt_id:
            self.grade_view.clear_grade(f"{problem} The answer is kept; try again later.")

    def override(self, verdict: str | None) -> None:
        if self.current is None:
            return
        try:
            history.set_override(self.db, self.current["id"], None if verdict == self.current["verdict"] else verdict)
        except sqlite3.Error as exc:
            QMessageBox.warning(self, "Not saved", f"Your verdict was not saved ({exc}); the grade is unchanged. "
                                "Try again when storage is back.")
            return
        self.refresh()
        self.data_changed.emit()


    def call(self, item: str, value) -> None:
        """The learner's call on an item the grader was unsure of, stored beside the grade."""
        if self.current is None:
            return
        try:
            calls = history.set_call(self.db, self.current["id"], item, value,
                                     self.library.item(self.current["question_id"]))
        except sqlite3.Error as exc:
            QMessageBox.warning(self, "Not saved", f"Your call was not saved ({exc}); the grade is unchanged. "
                                "Try again when storage is back.")
            return
        self.current = history.get_attempt(self.db, self.current["id"])
        self.grade_view.set_calls(calls)
        self.data_changed.emit()


def shown_options(question, order) -> str:
    """The options in the order this attempt showed them, lettered as the learner saw them."""
    if question is None:
        return ""
    shown = option_order.presented(question, order)
    return "<ol type='A'>" + "".join(f"<li>{escape(o.label)}</li>" for o in shown.options) + "</ol>"


def _grade_path(row: dict) -> str:
    """How the stored grade was read (server logprobs, server constrained reply, local model, rubric); older grades
    do not say."""
    try:
        return str(json.loads(row.get("grade_json") or "{}").get("path", ""))
    except ValueError:
        return ""
