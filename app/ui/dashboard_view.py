"""The progress tab: mastery per topic, score trend, attempts per day, reviews due, weakest key points."""
from __future__ import annotations

import sqlite3

from datetime import date, timedelta
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSpinBox, QStackedWidget, QTextBrowser, QVBoxLayout,
                               QWidget)

from app.core import schedule
from app.core.stats import STAGE_WORDS, stage_sentence
from app.library import Library
from app.progress import Progress, gather
from app.storage import history
from app.ui import theme
from app.ui.charts import chart_view, day_bars, fresh, mastery_bars, trend_line

RECENT_DAYS = 14
EMPTY_TEXT = ("<h2>No progress yet</h2><p>Answer your first question in the <b>Practice</b> tab. Every graded answer "
              "adds to your mastery per topic, your score trend and your review schedule, and the key points you "
              "miss most will show up here with the notes that teach them.</p>")


class DashboardView(QWidget):
    section_clicked = Signal(str)
    question_requested = Signal(object)
    practice_requested = Signal()

    def __init__(self, library: Library, db):
        super().__init__()
        self.library, self.db = library, db
        self.progress: Progress | None = None
        self.summary = QLabel()
        self.retention = QSpinBox(minimum=round(schedule.MIN_RETENTION * 100),
                                  maximum=round(schedule.MAX_RETENTION * 100), suffix="%")
        self.retention.setToolTip("90% means the schedule brings a question back when you are likely to still "
                                  "recall it 9 times in 10. Higher: shorter gaps and more reviews; lower: fewer "
                                  "reviews, more forgetting")
        self.retention.setValue(round(history.desired_retention(db) * 100))
        self.retention.valueChanged.connect(self.set_retention)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(QLabel("Recall target:", toolTip=self.retention.toolTip()))
        header.addWidget(self.retention)

        self.empty = QWidget()
        empty_layout = QVBoxLayout(self.empty)
        self.empty_label = QLabel(EMPTY_TEXT, wordWrap=True, textFormat=Qt.RichText)
        start = QPushButton("Start practising")
        start.clicked.connect(self.practice_requested)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(start, 0, Qt.AlignLeft)
        empty_layout.addStretch(2)

        self.charts = {"mastery": chart_view("Mastery per topic (%)"),
                       "trend": chart_view("Score per answer"),
                       "per_day": chart_view(f"Graded answers per day (last {RECENT_DAYS} days)"),
                       "due": chart_view("Reviews due in the coming days")}
        self.due_list = QListWidget()
        self.due_list.setWordWrap(True)
        self.due_list.itemActivated.connect(lambda item: self.question_requested.emit(item.data(Qt.UserRole)))
        self.weak = QTextBrowser(openLinks=False)
        self.weak.anchorClicked.connect(lambda url: self.section_clicked.emit(url.toString().removeprefix("cite:")))
        self.mastery_note = theme.set_role(QLabel(wordWrap=True), "muted")
        mastery = QWidget()
        mastery_layout = QVBoxLayout(mastery)
        mastery_layout.setContentsMargins(0, 0, 0, 0)
        mastery_layout.addWidget(self.charts["mastery"], 1)
        mastery_layout.addWidget(self.mastery_note)
        grid = QGridLayout()
        for n, (name, chart) in enumerate(self.charts.items()):
            grid.addWidget(mastery if name == "mastery" else chart, n // 2, n % 2)
        grid.addWidget(_boxed("Due today (double-click to practise)", self.due_list), 2, 0)
        grid.addWidget(_boxed("Weakest key points and design stages", self.weak), 2, 1)
        self.content = QScrollArea(widgetResizable=True, frameShape=QScrollArea.NoFrame)
        charts = QWidget()
        charts.setLayout(grid)
        self.content.setWidget(charts)  # at 1024x640 the six panels scroll rather than force a taller window
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        theme.notifier().changed.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self.refresh()

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)

    def set_retention(self, percent: int) -> None:
        try:
            history.set_desired_retention(self.db, percent / 100)
        except sqlite3.Error as exc:
            QMessageBox.warning(self, "Not saved", f"The desired retention was not saved ({exc}). Try again when "
                                "storage is back; nothing else changed.")
        self.refresh()

    def refresh(self) -> None:
        self.progress = p = gather(self.db, self.library.by_id, self.library.retrieve)
        self.stack.setCurrentWidget(self.content if p.attempts else self.empty)
        counts = ", ".join(f"{n} {v}" for v, n in p.verdicts.items())
        self.summary.setText(f"<b>{p.attempts}</b> graded answers ({counts}) · <b>{len(p.due_today)}</b> reviews due today"
                             if p.attempts else "")
        if p.attempts:
            self._draw(p)

    def _draw(self, p: Progress) -> None:
        titles = {n.id: n.title for n in self.library.notes}
        mastery = sorted(((t, m) for t, m in p.mastery.items() if m[1] != "too few"), key=lambda kv: kv[1][0])
        mastery_bars(fresh(self.charts["mastery"]),
                     [(_short(titles.get(topic, topic)) + (" *" if source == "verdicts" else ""), value * 100)
                      for topic, (value, source) in mastery])
        self.charts["mastery"].setMinimumHeight(110 + 26 * len(mastery))  # every topic keeps a readable row
        self.charts["mastery"].chart().setTitle("Mastery per topic (%)" if mastery else
                                                "Mastery per topic: shown once a topic has two answers")
        few = sorted(titles.get(t, t) for t, (_, source) in p.mastery.items() if source == "too few")
        self.mastery_note.setText(
            "* from your recent answers only: fewer than 3 reviews, so forgetting is not counted yet."
            + (f" Not enough data yet (one answer): {', '.join(few)}." if few else ""))
        trend_line(fresh(self.charts["trend"]), p.score_trend)
        per_day = dict(p.per_day)
        today = date.today()
        recent = [(today - timedelta(days=n), per_day.get(today - timedelta(days=n), 0)) for n in range(RECENT_DAYS - 1, -1, -1)]
        day_bars(fresh(self.charts["per_day"]), recent, "answers")
        day_bars(fresh(self.charts["due"]), p.due_forecast, "reviews due")
        self.due_list.clear()
        for question in p.due_today:
            item = QListWidgetItem(f"{question.id}: {' '.join(question.prompt.split())[:110]}...")
            item.setData(Qt.UserRole, question)
            self.due_list.addItem(item)
        if not p.due_today:
            self.due_list.addItem("Nothing due today. Free practice never moves a schedule that was not due.")
        self.weak.setHtml(self._weak_html(p))

    def _weak_html(self, p: Progress) -> str:
        stages = ""
        if p.stages:
            listed = ", ".join(f"{escape(STAGE_WORDS.get(stage, stage))} {score}" for stage, score, _ in p.stages)
            stages = (f"<p><b>Design rounds:</b> {escape(stage_sentence(p.stages))} "
                      f"<span style='color:{theme.colour('faint')}'>Per stage: {listed}.</span></p>")
        if not p.weak_points:
            return stages + f"<p style='color:{theme.colour('muted')}'>No key point missed yet.</p>"
        rows = []
        for point in p.weak_points:
            link = (f"<br>Read: <a href='cite:{escape(point.section)}'>{escape(self.library.section_name(point.section))}"
                    "</a>" if point.section else "")
            rows.append(f"<li>{escape(point.text)}<br><span style='color:{theme.colour('faint')}'>missed {point.missed} of {point.seen}"
                        f" · {escape(point.question_id)}</span>{link}</li>")
        return stages + "<ul>" + "".join(rows) + "</ul>"


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.addWidget(widget)
    return box


def _short(title: str, limit: int = 24) -> str:
    """Chart axes elide long labels to nothing at narrow widths; a short label always shows."""
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"
