"""Run by `python -m app soak`: the real window, driven by a seeded robot that types steadily, submits, moves on
and answers mock interviews, writing what it did to a journal (flushed to disk) before the soak kills it."""
from __future__ import annotations

import json
import os
import random
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.interview import InterviewSettings
from app.storage.rescue import QUIT
from app.ui.run import build_window, claim_data_folder

CHAR_MS = 200  # 60 words a minute
WORDS = ("retrieval index wiki changes daily citations fine-tune cost latency cache embeddings rerank evaluate "
         "hallucination quantize serve batch guardrails recall precision chunk").split()


class Robot:
    def __init__(self, window, journal_path: str, seed: int, finish_only: bool):
        self.window, self.rng = window, random.Random(seed)
        self.journal = open(journal_path, "a", encoding="utf-8")
        self.text, self.typed, self.where = "", 0, None
        self.finish_only = finish_only
        self.timer = QTimer(interval=CHAR_MS)
        self.timer.timeout.connect(self.step)

    def log(self, **event) -> None:
        self.journal.write(json.dumps(dict(event, t=time.time())) + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())

    def start(self) -> None:
        control = self.window.interview.control
        if control.find_unfinished() is not None:
            self.window.interview.finish_unfinished()  # a killed interview is closed; its answers get graded
        if self.finish_only:
            return
        self.timer.start()
        self.begin()

    def begin(self) -> None:
        """A new answer: in practice (most of the time) or as the first question of a short interview."""
        self.text = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(3, 7))) + "."
        self.typed = 0
        view = self.window.interview
        if self.rng.random() < 0.3 and not view.control.running:
            if view.start_interview(InterviewSettings(count=2, seconds_per_question=120)):
                self.where = ("interview", view.control.interview_id, view.session.current)
                return
        question = self.rng.choice(self.window.library.questions)
        self.window.practice.show_question(question)
        self.window.practice.answer.setPlainText("")
        self.where = ("practice", question.id)

    def step(self) -> None:
        if self.where[0] == "interview" and not self.window.interview.control.running:
            self.begin()
            return
        box = self.window.interview.answer if self.where[0] == "interview" else self.window.practice.answer
        if self.typed < len(self.text):
            box.moveCursor(box.textCursor().MoveOperation.End)
            box.insertPlainText(self.text[self.typed])
            self.typed += 1
            self.log(event="typed", where=self.where, count=self.typed)
            return
        if self.where[0] == "practice":
            if self.window.practice.submit_button.isEnabled():
                self.window.practice.submit()
                self.log(event="submitted", where=self.where, answer=box.toPlainText())
                self.begin()
        else:
            view = self.window.interview
            view.submit()
            self.log(event="submitted", where=self.where, answer=self.text)
            if view.pages.currentWidget() is view.feedback_page:
                view.next_question()
            if view.control.running:
                self.where = ("interview", view.control.interview_id, view.session.current)
                self.text, self.typed = "A second answer about " + self.rng.choice(WORDS) + ".", 0
            else:
                self.begin()


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(sys.argv)
    lock, db = claim_data_folder(lambda message, choices: QUIT, print)  # noqa: F841 - held until the process ends
    if db is None:
        return 2
    window = build_window(db)
    robot = Robot(window, os.environ["COACH_SOAK_JOURNAL"], int(os.environ.get("COACH_SOAK_SEED", "0")),
                  os.environ.get("COACH_SOAK_FINISH") == "1")
    QTimer.singleShot(500, robot.start)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
