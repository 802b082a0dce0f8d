"""The review bar in the practice view: the due queue's button and the rating a graded answer proposes."""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.schedule import RATINGS
from app.library import Library
from app.progress import due_today
from app.storage import history


class ReviewBar(QWidget):
    question_requested = Signal(object)   # a due Question to show
    schedule_changed = Signal()

    def __init__(self, library: Library, db, session):
        super().__init__()
        self.library, self.db, self.session = library, db, session
        self.due_button = QPushButton()
        self.due_button.setToolTip("Practise the questions your review schedule says are due today")
        self.due_button.clicked.connect(self.next_due)
        self.status = QLabel()
        self.status.setStyleSheet("color: #555")
        self.ratings = QButtonGroup(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status, 1)
        for value, name in RATINGS.items():
            button = QPushButton(name, checkable=True)
            button.setToolTip(f"Rate this review {name}: it sets when the question comes back")
            self.ratings.addButton(button, value)
            layout.addWidget(button)
        self.ratings.idClicked.connect(self.rate)
        layout.addWidget(self.due_button)
        self.show_rating(None)
        self.refresh()

    def refresh(self) -> None:
        count = len(due_today(self.db, self.library.by_id))
        self.due_button.setText(f"Review due ({count})")
        self.due_button.setEnabled(count > 0)

    def next_due(self) -> None:
        due = due_today(self.db, self.library.by_id)
        if due:
            self.question_requested.emit(due[0])

    def rate(self, rating: int) -> None:
        result = self.session.rate(rating)
        if result is not None:
            self.show_rating(result)
            self.schedule_changed.emit()

    def clear(self) -> None:
        self.show_rating(None)

    def show_rating(self, result: history.ReviewResult | None) -> None:
        """The rating a graded answer proposed (None: no graded answer on screen); the due count follows it."""
        for button in self.ratings.buttons():
            button.setVisible(result is not None)
            button.setChecked(result is not None and self.ratings.id(button) == result.rating)
        self.refresh()
        if result is None:
            self.status.setText("")
            return
        when = datetime.fromtimestamp(result.due).strftime("%a %d %b")
        if result.scheduled:
            self.status.setText(f"Review rating (proposed {RATINGS[result.proposed]}); next review {when}:")
        else:
            self.status.setText(f"Cramming: this question was not due, so its schedule stays (next review {when}). "
                                "Rating:")
