"""The review bar in the practice view: a review session over the due queue, and the rating a graded answer proposes."""
from __future__ import annotations

from datetime import date, datetime
from html import escape

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from app.core.schedule import RATINGS, interval_text
from app.library import Library
from app.progress import due_today
from app.sessions.review import ReviewSession, ReviewSummary
from app.storage import history
from app.ui import theme


class ReviewBar(QWidget):
    question_requested = Signal(object)   # a due Question to show
    schedule_changed = Signal()
    summary_ready = Signal(str)           # a finished review's summary, as HTML for the grade pane
    practice_requested = Signal()         # back to free practice from the summary

    def __init__(self, library: Library, db, session):
        super().__init__()
        self.library, self.db, self.session = library, db, session
        self.review = ReviewSession(db, library.by_id)
        self.progress = QLabel()
        self.status = QLabel(wordWrap=True)
        # the label wraps instead of widening the window; it takes the room the buttons leave
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.status.setMinimumWidth(120)
        self.ratings = QButtonGroup(self)
        self.due_button = self._button("", "Go through every question your review schedule says is due today, "
                                       "one after the other", self.start_review)
        self.end_button = self._button("End review", "Stop here: what you answered is saved, and the rest stays due",
                                       self.end_review)
        self.back_button = self._button("Back to practice", "Pick a new question to practise", self.back_to_practice)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.status, 1)
        for value, name in RATINGS.items():
            self.ratings.addButton(QPushButton(name, checkable=True), value)
            layout.addWidget(self.ratings.button(value))
        self.ratings.idClicked.connect(self.rate)
        for button in (self.end_button, self.back_button, self.due_button):
            layout.addWidget(button)
        self.back_button.hide()
        theme.notifier().changed.connect(self._style)
        self._style()
        self.show_rating(None)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _style(self) -> None:
        self.status.setStyleSheet(f"color: {theme.colour('muted')}")
        self.progress.setStyleSheet(f"color: {theme.colour('accent')}; font-weight: bold")

    def refresh(self) -> None:
        count = len(due_today(self.db, self.library.by_id))
        self.due_button.setText(f"Review due ({count})")
        self.due_button.setEnabled(count > 0)
        self.due_button.setVisible(not self.review.active)
        self.end_button.setVisible(self.review.active)
        self.progress.setText(self.review.progress_text)
        self.progress.setVisible(self.review.active)

    @property
    def _on_screen(self) -> str | None:
        return self.session.question.id if self.session.question else None

    def start_review(self) -> None:
        first = self.review.start()
        self.refresh()
        if first is not None:
            self.question_requested.emit(first)

    def rate(self, rating: int) -> None:
        """Store the learner's rating; in a review it also confirms the answer and brings the next due question."""
        result = self.session.rate(rating)
        if result is None:
            return
        self.show_rating(result)
        self.schedule_changed.emit()
        if self.review.follows(self._on_screen):
            following = self.review.rated(self._on_screen)
            if following is None:
                self.finish(self.review.summary(), finished=True)
            else:
                self.question_requested.emit(following)

    def end_review(self) -> None:
        self.finish(self.review.end(), finished=False)

    def finish(self, summary: ReviewSummary, finished: bool) -> None:
        total = len(self.review.queue)
        self.show_rating(None)
        self.back_button.show()
        headline = (f"Review done: all {total} due questions answered" if finished
                    else f"Review ended: {summary.answered} of {total} due questions answered")
        self.summary_ready.emit(summary_html(headline, summary, date.today()))

    def back_to_practice(self) -> None:
        self.back_button.hide()
        self.practice_requested.emit()

    def clear(self) -> None:
        """A question was put on screen; another one than the review's own leaves the review (nothing is lost)."""
        left = self.review.active and not self.review.follows(self._on_screen)
        if left:
            self.review.end()
        self.back_button.hide()
        self.show_rating(None)
        if left:
            self.status.setText("Review ended: you moved to another question. Your answers are saved; "
                                "the questions you did not reach stay due.")

    def show_rating(self, result: history.ReviewResult | None) -> None:
        """The rating a graded answer proposed (None: no graded answer on screen); the due count follows it."""
        if result is not None:
            self.review.graded(self._on_screen, result.attempt_id)
        intervals = history.rating_intervals(self.db, result.attempt_id) if result and result.scheduled else None
        for button in self.ratings.buttons():
            value = self.ratings.id(button)
            button.setVisible(result is not None)
            button.setChecked(result is not None and value == result.rating)
            button.setText(RATINGS[value] + (f" · {interval_text(intervals[value])}" if intervals else ""))
            # after setText, which resets a button's shortcut; a text box being typed in keeps its digits
            button.setShortcut(QKeySequence(str(value)))
            button.setToolTip(rating_tip(value, intervals))
        self.refresh()
        self.status.setText("" if result is None else self._rating_text(result))
        self.status.setToolTip(retention_tip(history.desired_retention(self.db)) if intervals else "")

    def _rating_text(self, result: history.ReviewResult) -> str:
        when = datetime.fromtimestamp(result.due).strftime("%a %d %b")
        if not result.scheduled:
            return (f"Extra practice: this question was not due, so its review date stays (next review {when}). "
                    "Rating:")
        go_on = " Rate to go on (keys 1-4)." if self.review.follows(self._on_screen) else ""
        return f"Proposed from the grade: {RATINGS[result.proposed]}. Next review {when}.{go_on}"


def rating_tip(value: int, intervals: dict[int, float] | None) -> str:
    name = RATINGS[value]
    if intervals is None:
        return f"Rate this answer {name} (key {value}). The question was not due, so its review date stays."
    return (f"Rate this answer {name} (key {value}): the question comes back in about "
            f"{interval_text(intervals[value])}.")


def retention_tip(retention: float) -> str:
    return (f"The intervals come from your own review history. {retention:.2f} = the schedule aims for you to "
            f"remember {retention:.0%} of questions when they come due (Progress tab: desired retention).")


def summary_html(headline: str, summary: ReviewSummary, today: date) -> str:
    return (f"<h2>{escape(headline)}</h2>"
            f"<p>Answered {summary.answered}: {summary.correct} correct, {summary.partial} partial, "
            f"{summary.incorrect} incorrect.</p>"
            f"<p>{escape(summary.next_due_text(today))}</p>"
            "<p>Your answers and ratings are saved. <b>Back to practice</b> picks a new question.</p>")
