"""The interview setup page: presets, count, topics, difficulty mix, times, mode; past interviews; resume."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QRadioButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from app.core.interview import PRESETS, InterviewError, InterviewSettings
from app.core.model import DIFFICULTIES
from app.ui import theme

CUSTOM = "Custom"


class InterviewSetup(QWidget):
    start_requested = Signal(object)     # InterviewSettings
    open_requested = Signal(int)         # interview id
    resume_requested = Signal()
    finish_requested = Signal()

    def __init__(self, topics: list[tuple[str, str]], designs: list[tuple[str, str]] = ()):
        super().__init__()
        self._applying = False
        self.banner = QFrame()
        theme.set_role(self.banner, "banner")
        self.banner_label = QLabel(wordWrap=True)
        self.resume_button = QPushButton("Resume interview")
        self.resume_button.clicked.connect(self.resume_requested)
        self.finish_button = QPushButton("Finish it as it stands")
        self.finish_button.clicked.connect(self.finish_requested)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_label, 1)
        banner_layout.addWidget(self.resume_button)
        banner_layout.addWidget(self.finish_button)
        self.banner.hide()

        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, CUSTOM])
        self.preset.currentTextChanged.connect(self._preset_chosen)
        self.count = QSpinBox(minimum=0, maximum=30)
        self.followups = QCheckBox("Ask a follow-up after each answer")
        self.design = QComboBox()
        self.design.addItem("None", "")
        if designs:
            self.design.addItem("Any design round", "any")
        for design_id, title in designs:
            self.design.addItem(title, design_id)
        self.minutes = QDoubleSpinBox(minimum=0.5, maximum=30, singleStep=0.5, decimals=1, suffix=" min")
        self.total_on = QCheckBox("Limit the whole session to")
        self.total_minutes = QDoubleSpinBox(minimum=1, maximum=240, singleStep=5, decimals=0, suffix=" min")
        self.total_on.toggled.connect(self.total_minutes.setEnabled)
        self.topics = QListWidget()
        self.topics.setMaximumHeight(150)
        for topic_id, title in topics:
            item = QListWidgetItem(title)
            item.setData(Qt.UserRole, topic_id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked)
            self.topics.addItem(item)
        self.weak = QCheckBox("Weight the mix towards my weak topics")
        self.weak.toggled.connect(lambda on: self.topics.setEnabled(not on))
        self.mix = {level: QSpinBox(minimum=0, maximum=5) for level in DIFFICULTIES}
        self.interview_mode = QRadioButton("Interview: feedback only in the final report; notes locked")
        self.coached_mode = QRadioButton("Coached: feedback after each answer")
        self.allow_pause = QCheckBox("Allow pausing")
        self.error = theme.set_role(QLabel(wordWrap=True), "bad")
        self.start_button = QPushButton("Start interview")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._start)
        for widget in (self.count, self.minutes, self.total_minutes, *self.mix.values()):
            widget.valueChanged.connect(self._edited)
        for box in (self.total_on, self.weak, self.interview_mode, self.coached_mode, self.allow_pause, self.followups):
            box.toggled.connect(self._edited)
        self.design.currentIndexChanged.connect(self._edited)
        self.topics.itemChanged.connect(self._edited)

        self.past = QTableWidget(0, 4)
        self.past.setHorizontalHeaderLabels(["Date", "Settings", "Score", "Status"])
        self.past.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.past.verticalHeader().hide()
        self.past.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.past.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.past.cellDoubleClicked.connect(lambda row, _col: self._open_row(row))
        self.open_button = QPushButton("Open report")
        self.open_button.clicked.connect(lambda: self._open_row(self.past.currentRow()))
        self._build_layout()

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Preset:", self.preset)
        form.addRow("Questions:", self.count)
        form.addRow("", self.followups)
        form.addRow("Design round:", self.design)
        form.addRow("Time per question:", self.minutes)
        total = QHBoxLayout()
        total.addWidget(self.total_on)
        total.addWidget(self.total_minutes)
        total.addStretch(1)
        form.addRow("Session:", total)
        form.addRow("Topics:", self.topics)
        form.addRow("", self.weak)
        mix = QHBoxLayout()
        for level, spin in self.mix.items():
            mix.addWidget(QLabel(level.capitalize()))
            mix.addWidget(spin)
        mix.addStretch(1)
        form.addRow("Difficulty mix:", mix)
        form.addRow("Mode:", self.interview_mode)
        form.addRow("", self.coached_mode)
        form.addRow("", self.allow_pause)
        setup = QGroupBox("New mock interview")
        setup_layout = QVBoxLayout(setup)
        setup_layout.addLayout(form)
        setup_layout.addWidget(theme.set_role(QLabel("No topic ticked means every topic."), "faint"))
        setup_layout.addWidget(self.error)
        setup_layout.addWidget(self.start_button)
        setup_layout.addStretch(1)
        history = QGroupBox("Past interviews")
        history_layout = QVBoxLayout(history)
        history_layout.addWidget(self.past, 1)
        history_layout.addWidget(self.open_button, 0, Qt.AlignRight)
        columns = QHBoxLayout()
        columns.addWidget(setup, 1)
        columns.addWidget(history, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(columns, 1)

    def set_history_available(self, available: bool) -> None:
        self.weak.setEnabled(available)
        self.weak.setToolTip("" if available else "Answer a few questions first: weak topics come from your scores.")
        if not available:
            self.weak.setChecked(False)

    def settings(self) -> InterviewSettings:
        topics = tuple(self.topics.item(i).data(Qt.UserRole) for i in range(self.topics.count())
                       if self.topics.item(i).checkState() == Qt.Checked)
        return InterviewSettings(
            count=self.count.value(), seconds_per_question=round(self.minutes.value() * 60),
            total_seconds=round(self.total_minutes.value() * 60) if self.total_on.isChecked() else 0,
            topics=() if self.weak.isChecked() else topics, weak_topics=self.weak.isChecked(),
            difficulty_mix={level: spin.value() for level, spin in self.mix.items()},
            mode="coached" if self.coached_mode.isChecked() else "interview", allow_pause=self.allow_pause.isChecked(),
            followups=self.followups.isChecked(), design_round=self.design.currentData() or "")

    def set_settings(self, settings: InterviewSettings) -> None:
        self._applying = True
        self.count.setValue(settings.count)
        self.minutes.setValue(settings.seconds_per_question / 60)
        self.total_on.setChecked(bool(settings.total_seconds))
        self.total_minutes.setEnabled(bool(settings.total_seconds))
        self.total_minutes.setValue(settings.total_seconds / 60 if settings.total_seconds else 30)
        for i in range(self.topics.count()):
            item = self.topics.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in settings.topics else Qt.Unchecked)
        self.weak.setChecked(settings.weak_topics and self.weak.isEnabled())
        for level, spin in self.mix.items():
            spin.setValue(settings.difficulty_mix.get(level, 0))
        (self.coached_mode if settings.mode == "coached" else self.interview_mode).setChecked(True)
        self.allow_pause.setChecked(settings.allow_pause)
        self.followups.setChecked(settings.followups)
        found = self.design.findData(settings.design_round)
        self.design.setCurrentIndex(max(found, 0))
        match = next((name for name, preset in PRESETS.items() if preset.to_dict() == settings.to_dict()), CUSTOM)
        self.preset.setCurrentText(match)
        self._applying = False

    def _preset_chosen(self, name: str) -> None:
        if not self._applying and name in PRESETS:
            self.set_settings(PRESETS[name])

    def _edited(self, *_args) -> None:
        if not self._applying:
            self.error.clear()
            match = next((n for n, p in PRESETS.items() if p.to_dict() == self.settings().to_dict()), CUSTOM)
            self._applying = True
            self.preset.setCurrentText(match)
            self._applying = False

    def _start(self) -> None:
        try:
            settings = self.settings()
            settings.validate()
        except InterviewError as exc:
            self.error.setText(str(exc))
            return
        self.start_requested.emit(settings)

    def show_error(self, message: str) -> None:
        self.error.setText(message)

    def show_unfinished(self, row: dict | None, where: str = "") -> None:
        self.banner.setVisible(row is not None)
        if row is not None:
            started = time.strftime("%d %b %Y %H:%M", time.localtime(row["started_at"]))
            self.banner_label.setText(f"<b>An interview from {started} was not finished</b> ({where}). "
                                      "Everything written so far is saved. Resume it, or finish it as it stands "
                                      "and see the report.")

    def show_past(self, rows: list[dict]) -> None:
        self.past.setRowCount(len(rows))
        for i, row in enumerate(rows):
            settings = row["settings"]
            try:
                summary = InterviewSettings.from_dict(settings).summary() if settings else row["error"]
            except InterviewError as exc:
                summary = str(exc)
            cells = [time.strftime("%Y-%m-%d %H:%M", time.localtime(row["started_at"])), summary,
                     "" if row["score"] is None else f"{row['score']}/100", row["status"]]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, row["id"])
                item.setToolTip(text)
                self.past.setItem(i, column, item)
        self.past.resizeColumnToContents(0)
        self.open_button.setEnabled(bool(rows))

    def _open_row(self, row: int) -> None:
        item = self.past.item(row, 0)
        if item is not None:
            self.open_requested.emit(int(item.data(Qt.UserRole)))
