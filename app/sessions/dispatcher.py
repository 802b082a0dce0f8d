"""One queue between the sessions and the grading model: loading, priming and grading run in order on one worker
thread, and each result goes back, on the owner's thread, to whoever asked (Anki's task manager is the model)."""
from __future__ import annotations

import copy
import queue
import threading
import traceback
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.core.model import Grade, Question
from app.llm.engine import Cancelled
from app.llm.files import ModelFileError
from app.llm.grader import grade_answer, prime_explanation, prime_question, warm_question, write_explanation
from app.llm.process import ModelCrashed
from app.llm.remote import RemoteChatEngine
from app.llm.server_client import ServerError, ServerSettings
from app.llm.server_engine import ServerEngine
from app.llm.typing_ahead import feed_draft

Deliver = Callable[[Callable[[], None]], None]


class Mailbox:
    """Delivery without a GUI: results wait here until the owner's thread runs them (tests, scripts)."""

    def __init__(self):
        self._items: queue.Queue = queue.Queue()

    def __call__(self, job: Callable[[], None]) -> None:
        self._items.put(job)

    def run_until(self, done: Callable[[], bool], timeout: float = 120.0) -> bool:
        """Run delivered results on this thread until done() holds; False if the timeout passed first."""
        import time
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                self._items.get(timeout=min(left, 0.05))()
            except queue.Empty:
                continue
        return True


@dataclass(eq=False)
class GradeRequest:
    """One answer to grade and where its results go; `cancel` stops it (within a step of the model)."""
    question: Question
    answer: str
    on_done: Callable[[Grade], None]
    on_failed: Callable[[str], None]
    on_verdict: Callable[[Grade], None] | None = None
    on_token: Callable[[str], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    started: bool = False  # set on the worker thread when grading begins


def continues(request: GradeRequest, question: Question, draft: str) -> bool:
    """Whether a grade is of this draft or of a continuation of it (typed on, or the same text pasted)."""
    return request.question == question and request.answer.startswith(draft.rstrip())


class GradingDispatcher:
    """Owns the chat model's process (through RemoteChatEngine) and the worker thread that uses it."""

    def __init__(self, library, deliver: Deliver, on_status: Callable[[str, str], None] | None = None):
        self.library, self.deliver = library, deliver
        self.on_status = on_status or (lambda state, message: None)
        self.engine: RemoteChatEngine | ServerEngine | None = None
        self.local_path: Path | None = None             # the local file a failing model server falls back to
        self.local_engine: RemoteChatEngine | None = None  # loaded the first time a server fails
        self.latest_question: Question | None = None  # priming for a question the user has left is skipped
        self.grade_waiting = threading.Event()         # a waiting grade stops the explanation priming
        # set while the notes index is built: priming stops after the choice, since the explanation's note sections
        # change when the index is done (it primes again then) and the build needs the same two cores
        self.notes_building = threading.Event()
        self.working = threading.Event()               # set while a job (load, priming, reading, grading) runs
        self.primed: deque[str] = deque(maxlen=20)     # what priming finished: "<id> choice|explanation|written"
        self.read: deque[str] = deque(maxlen=20)       # drafts read ahead: "<question id> <length>[ stopped]"
        self.fed: deque[str] = deque(maxlen=20)        # drafts fed while typing: "<question id> <tokens, 0 if none>"
        self._to_feed: tuple[Question, str] | None = None  # the newest draft saved while typing, not yet fed
        self.feeding: tuple[Question, str] | None = None  # the draft being fed now
        self._feed_stop = threading.Event()            # set: the draft being fed is of no use to what comes next
        self._reading = threading.Event()              # set: the draft being read ahead is stale
        self._jobs: queue.Queue = queue.Queue()
        self._pending: list[GradeRequest] = []
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="grading", daemon=True)
        self._thread.start()

    # -- the owner's side -------------------------------------------------------------------------------------
    def load(self, path: Path | None) -> None:
        self.stop_reading()
        self._jobs.put(lambda: self._load(path))

    def use_server(self, settings: ServerSettings, local: Path | None) -> None:
        """Grade through a model server (probed first); `local` is the file to fall back to when it fails."""
        self.stop_reading()
        self._jobs.put(lambda: self._use_server(settings, local))

    def prime(self, question: Question) -> None:
        self.stop_reading()  # a draft of the question left behind
        self.latest_question = question
        self._jobs.put(lambda: self._prime(question))

    def notes_ready(self) -> None:
        """The notes index is built (or gave up): prime the question on screen again, explanation included. A draft
        being read ahead is not stopped: the priming waits behind it."""
        self.notes_building.clear()
        question = self.latest_question
        if question is not None:
            self._jobs.put(lambda: self._prime(question))

    def read_ahead(self, question: Question, draft: str) -> None:
        """Read a draft with the model while the learner pauses (the verdict's readings, not the explanation), so a
        submit of the same text finds them remembered (yes_no.remembered) and shows its verdict at once. Typing
        again (stop_reading) or submitting stops it within a step of the model; nothing is stored but readings."""
        self.stop_reading()
        self._reading = stale = threading.Event()
        self._jobs.put(lambda: self._read_ahead(question, draft, stale))

    def feed(self, question: Question, draft: str) -> None:
        """The learner typed on (a draft save): the model evaluates the draft so far (typing_ahead.feed_draft), so
        a submit straight after typing pays only for the last words. One feed waits in the queue at a time and takes
        the newest draft when it runs. Typing does not stop it (its tokens stay valid as the draft grows); a grade
        does, within a step, unless it grades that draft or a continuation of it (a paste submitted at once: the
        feed's work is the grade's), and one still waiting is dropped (the grade evaluates the same tokens)."""
        with self._lock:
            queued = self._to_feed is not None
            self._to_feed = (question, draft)
        if not queued:
            self._jobs.put(self._feed)

    def stop_reading(self) -> None:
        self._reading.set()

    def grade(self, request: GradeRequest) -> GradeRequest:
        with self._lock:
            self.grade_waiting.set()
            if self.feeding is None or not continues(request, *self.feeding):
                self._feed_stop.set()
        self.stop_reading()
        self._pending.append(request)
        self._jobs.put(lambda: self._grade(request))
        return request

    @property
    def busy(self) -> int:
        """Grades asked for and not yet delivered."""
        return sum(1 for r in self._pending if not r.cancel.is_set())

    def is_pending(self, request: GradeRequest) -> bool:
        return request in self._pending and not request.cancel.is_set()

    def cancel(self, request: GradeRequest) -> None:
        """Stop a grade: one still waiting in the queue is reported cancelled at once; a running one stops within a
        step of the model (its process is ended if it does not)."""
        with self._lock:
            request.cancel.set()
            waiting = not request.started
        if waiting and request in self._pending:
            self._pending.remove(request)
            request.on_failed("Grading cancelled.")

    def shutdown(self, timeout: float = 15.0) -> None:
        self._closing = True  # jobs still queued are dropped
        for request in self._pending:
            request.cancel.set()
        self.grade_waiting.set()  # a prime in progress stops within a step
        self._feed_stop.set()
        self.stop_reading()
        self._jobs.put(None)
        self._thread.join(timeout)
        if self.engine is not None:
            self.engine.stop()
        if self.local_engine is not None:
            self.local_engine.stop()
        if self.library.embedder is not None:
            self.library.embedder.stop()

    def _status(self, state: str, message: str) -> None:
        self.deliver(lambda: self.on_status(state, message))

    # -- the worker thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._closing:
                continue
            self.working.set()
            try:
                job()
            except Exception:  # noqa: BLE001 - a job's failure is reported by the job; this keeps the thread alive
                traceback.print_exc()
            finally:
                self.working.clear()

    def _drop_engines(self) -> None:
        for engine in (self.engine, self.local_engine):
            if engine is not None:
                engine.stop()
        self.engine = self.local_engine = None

    def _use_server(self, settings: ServerSettings, local: Path | None) -> None:
        self._drop_engines()
        self.local_path = local
        self._status("loading", f"Connecting to {settings.shown_url}...")
        try:
            self.engine = ServerEngine(settings)
        except ServerError as exc:
            again = "connect again from Settings > Grading model."
            if local is None:
                self._status("failed", f"{exc} Answers are graded from the rubric only; {again}")
            else:
                self._load(local, note=f"{exc} Grading with the local model instead; {again}")
            return
        caps = self.engine.capabilities
        self._status("ready", f"{self.engine.name} ready: {caps.describe()}; grading by {caps.path} "
                              f"({caps.probe_s:.1f} s to probe).")
        if self.latest_question is not None:
            self._prime(self.latest_question)

    def _fallback_local(self) -> RemoteChatEngine | None:
        """The local model, loaded on the grading thread the first time the model server fails."""
        if self.local_engine is None and self.local_path is not None:
            self.local_engine = RemoteChatEngine(self.local_path)
        return self.local_engine

    def _load(self, path: Path | None, note: str = "") -> None:
        self._drop_engines()
        self.local_path = None
        if path is None:
            return
        self._status("loading", f"Loading {path.name}...")
        try:
            self.engine = RemoteChatEngine(path)
        except ModelFileError as exc:
            self._status("failed", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status the user reads
            self._status("failed", f"Could not load {path.name}: {exc}")
            return
        self._ready(note=note)
        if self.latest_question is not None:
            self._prime(self.latest_question)

    def _ready(self, crash: ModelCrashed | None = None, note: str = "") -> None:
        engine = self.engine
        news = " ".join(([str(crash)] if crash else []) + engine.notices)
        engine.notices.clear()
        ready = f"{engine.name} ready ({engine.load_seconds:.1f} s to load)"
        self._status("ready", f"{news} It was restarted: {ready}." if news else f"{note} {ready}".strip())

    def _recover(self) -> None:
        """After the model process died (or was ended by a cancel): say so, start another, prime the shown question."""
        engine = self.engine
        if engine is None or (engine.alive and engine.crash is None and not engine.notices):
            return
        crash = engine.take_crash()
        if not engine.alive:
            self._status("loading", f"{crash} Restarting it..." if crash else f"Restarting {engine.name}...")
            try:
                engine.ensure_running()
            except ModelFileError as exc:
                self.engine = None
                self._status("failed", f"{exc} Answers are graded from the rubric only.")
                return
            crash = crash or engine.take_crash()
        self._ready(crash)
        if self.latest_question is not None:
            self._prime(self.latest_question)

    def _prime(self, question: Question) -> None:
        """Embed the question's texts and evaluate its prompts while the user types, so submit pays only for the
        answer: the choice prompt first (the verdict), then the explanation prompt, kept aside, then the explanation
        itself, written ahead (it is about the right option, not the answer)."""
        try:
            if question is not self.latest_question:
                return
            tools = self.library.grading_tools(self.engine)
            if tools.similarity is not None:
                warm_question(tools.similarity, question)
            if self.engine is None:
                return
            prime_question(self.engine, question)
            self.primed.append(f"{question.id} choice")
            if question is self.latest_question and not self.grade_waiting.is_set() \
                    and not self.notes_building.is_set():
                if prime_explanation(self.engine, question, tools.retrieve, stop=self.grade_waiting):
                    self.primed.append(f"{question.id} explanation")
                    if question is self.latest_question and write_explanation(
                            self.engine, question, tools.retrieve, stop=self.grade_waiting):
                        self.primed.append(f"{question.id} written")
        except (ModelCrashed, Cancelled):
            self._recover()  # a crash, or a process ended because it did not stop in time
        except ServerError:
            pass  # the server's cache stays cold; grading says what is wrong if the server is still failing
        except Exception:  # noqa: BLE001 - priming is an optimisation; grading will evaluate the prompt anyway
            traceback.print_exc()

    def _read_ahead(self, question: Question, draft: str, stale: threading.Event) -> None:
        if stale.is_set() or question is not self.latest_question or self.engine is None or not draft.strip():
            return
        try:
            with self._cancelled_by(stale):
                grade_answer(question, draft, self.library.grading_tools(self.engine), stale, explain=False)
            self.read.append(f"{question.id} {len(draft)}")
        except Cancelled:
            self.read.append(f"{question.id} {len(draft)} stopped")
            self._recover()  # only if the process had to be ended; a stop within a step leaves it running
        except ModelCrashed:
            self._recover()
        except ServerError:
            pass  # grading will say what is wrong if the server is still failing
        except Exception:  # noqa: BLE001 - reading ahead is an optimisation; the submit grades the answer anyway
            traceback.print_exc()

    def _feed(self) -> None:
        with self._lock:
            question, draft = self._to_feed
            self._to_feed = None
            if question is not self.latest_question or self.engine is None or self.grade_waiting.is_set():
                return
            self.feeding = (question, draft)
            self._feed_stop.clear()
        try:
            tokens = feed_draft(self.engine, question, draft, stop=self._feed_stop)
            self.fed.append(f"{question.id} {tokens}")
        except (ModelCrashed, Cancelled):
            self._recover()
        except Exception:  # noqa: BLE001 - feeding is an optimisation; the submit evaluates the answer anyway
            traceback.print_exc()
        finally:
            with self._lock:
                self.feeding = None

    def _grade(self, request: GradeRequest) -> None:
        self.grade_waiting.clear()
        with self._lock:
            if request.cancel.is_set():
                return  # cancelled while it waited: already reported
            request.started = True
        try:
            with self._cancelled_by(request.cancel):
                grade = self._grade_now(request)
        except Cancelled:
            self._finish(request, lambda: request.on_failed("Grading cancelled."))
            self._recover()
            return
        except Exception as exc:  # noqa: BLE001 - every failure goes back to whoever asked
            traceback.print_exc()
            message = f"Grading failed: {exc}"  # bound now: the name exc is gone once this block ends
            self._finish(request, lambda: request.on_failed(message))
            self._recover()
            return
        self._finish(request, lambda: request.on_done(grade))
        self._recover()

    def _cancelled_by(self, cancel: threading.Event):
        return self.engine.cancelled_by(cancel) if hasattr(self.engine, "cancelled_by") else nullcontext()

    def _grade_now(self, request: GradeRequest):
        deliver = self.deliver
        tools = self.library.grading_tools(self.engine)
        if isinstance(self.engine, ServerEngine):
            tools.fallback = self._fallback_local
        return grade_answer(request.question, request.answer, tools, request.cancel,
                            # a copy: the grader goes on filling in the same Grade on this thread
                            on_verdict=request.on_verdict and (
                                lambda g: (lambda c: deliver(lambda: request.on_verdict(c)))(copy.deepcopy(g))),
                            on_token=request.on_token and (lambda p: deliver(lambda: request.on_token(p))))

    def _finish(self, request: GradeRequest, report: Callable[[], None]) -> None:
        def deliver() -> None:
            if request in self._pending:
                self._pending.remove(request)
            report()
        self.deliver(deliver)
