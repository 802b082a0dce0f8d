"""The model worker: one QThread that owns the chat model's process and runs loading, priming and grading; after the
model process dies it reports it and starts another."""
from __future__ import annotations

import threading
import traceback
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.llm.engine import Cancelled
from app.llm.files import ModelFileError
from app.llm.grader import GradingTools, grade_answer, prime_explanation, prime_question, warm_question
from app.llm.process import ModelCrashed
from app.llm.remote import RemoteChatEngine


class ModelWorker(QObject):
    status_changed = Signal(str, str)          # state (loading/ready/failed/none), message
    verdict_ready = Signal(int, object)        # request id, Grade without explanation
    token_received = Signal(int, str)
    grading_finished = Signal(int, object)
    grading_failed = Signal(int, str)

    def __init__(self, similarity=None, retrieve=None):
        super().__init__()
        self.engine: RemoteChatEngine | None = None
        self._similarity = similarity
        self._retrieve = retrieve
        # written by the GUI thread when it asks: priming for a question the user has already left is skipped, and
        # the explanation is not primed while a grade waits behind it
        self.latest_question = None
        self.grade_waiting = threading.Event()
        self.primed: deque[str] = deque(maxlen=20)  # what priming finished: "<question id> choice|explanation"

    def drop_similarity(self) -> None:
        """The embedding model failed to load: grade from word overlap (one attribute write, safe across threads)."""
        self._similarity = None

    @Slot(str)
    def load_model(self, path: str) -> None:
        self.stop_model()
        if not path:
            return
        self.status_changed.emit("loading", f"Loading {Path(path).name}...")
        try:
            self.engine = RemoteChatEngine(Path(path))
        except ModelFileError as exc:
            self.status_changed.emit("failed", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a worker must report every failure as a signal
            self.status_changed.emit("failed", f"Could not load {Path(path).name}: {exc}")
            return
        self._report_ready()

    def _report_ready(self, crash: ModelCrashed | None = None) -> None:
        engine = self.engine
        news = " ".join(([str(crash)] if crash else []) + engine.notices)
        engine.notices.clear()
        ready = f"{engine.name} ready ({engine.load_seconds:.1f} s to load)"
        self.status_changed.emit("ready", f"{news} It was restarted: {ready}." if news else ready)

    def recover(self) -> None:
        """After the model process died (or was ended by a cancel): say so, start another, prime the shown question."""
        engine = self.engine
        if engine is None or (engine.alive and engine.crash is None and not engine.notices):
            return
        crash = engine.take_crash()
        if not engine.alive:
            self.status_changed.emit("loading", f"{crash} Restarting it..." if crash else f"Restarting {engine.name}...")
            try:
                engine.ensure_running()
            except ModelFileError as exc:
                self.engine = None
                self.status_changed.emit("failed", f"{exc} Answers are graded from the rubric only.")
                return
            crash = crash or engine.take_crash()
        self._report_ready(crash)
        if self.latest_question is not None:
            self.prime(self.latest_question)

    def stop_model(self) -> None:
        if self.engine is not None:
            self.engine.stop()
            self.engine = None

    @Slot(object)
    def prime(self, question) -> None:
        """Embed the question's texts and evaluate its prompts while the user types, so submit pays only for the
        answer: the choice prompt first (the verdict), then the explanation prompt, kept aside."""
        try:
            if question is not self.latest_question:
                return
            if self._similarity is not None:
                warm_question(self._similarity, question)
            if self.engine is None:
                return
            prime_question(self.engine, question)
            self.primed.append(f"{question.id} choice")
            if question is self.latest_question and not self.grade_waiting.is_set():
                if prime_explanation(self.engine, question, self._retrieve, stop=self.grade_waiting):
                    self.primed.append(f"{question.id} explanation")
        except ModelCrashed:
            self.recover()
        except Exception:  # noqa: BLE001 - priming is an optimisation; grading will evaluate the prompt anyway
            traceback.print_exc()

    @Slot(int, object, str, object)
    def grade(self, request_id: int, question, answer: str, cancel: threading.Event) -> None:
        self.grade_waiting.clear()
        tools = GradingTools(self.engine, self._similarity, self._retrieve)
        try:
            grade = grade_answer(question, answer, tools, cancel,
                                 on_verdict=lambda g: self.verdict_ready.emit(request_id, g),
                                 on_token=lambda piece: self.token_received.emit(request_id, piece))
        except Cancelled:
            self.grading_failed.emit(request_id, "Grading cancelled.")
            self.recover()
            return
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self.grading_failed.emit(request_id, f"Grading failed: {exc}")
            self.recover()
            return
        self.grading_finished.emit(request_id, grade)
        self.recover()


def start_worker(worker: ModelWorker) -> QThread:
    thread = QThread()
    thread.setObjectName("model-worker")
    worker.moveToThread(thread)
    thread.start()
    return thread
