"""The "Check this model" window: grades the held-out test answers with one model on a worker thread, with a progress
bar and Cancel, then shows the figures beside the default model's and stores them for the model list."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
)

from app.llm.catalog import DEFAULT_MODEL, MODELS
from app.llm.engine import Cancelled
from app.model_check import (
    check_model,
    format_check,
    held_out_cases,
    store_result,
    stored_results,
)


class _Signals(QObject):
    progressed = Signal(int, int)
    finished = Signal(object)  # the report (a dict), or a message (str) saying why there is none


def make_engine(kind: str, target):
    """The engine a check grades with: its own model process for a file, a probed client for a server."""
    if kind == "file":
        from app.llm.remote import RemoteChatEngine
        return RemoteChatEngine(Path(target))
    from app.llm.server_engine import ServerEngine
    return ServerEngine(target)


def run_check(library, kind: str, target, cases: list[dict], signals: _Signals, cancel: threading.Event) -> None:
    """On the worker thread: every outcome, a failure included, comes back as one `finished` signal."""
    engine = None
    try:
        engine = make_engine(kind, target)
        report = check_model(cases, library.grading_tools(engine), signals.progressed.emit, cancel)
    except Cancelled:
        report = "Cancelled: nothing was stored."
    except Exception as exc:  # noqa: BLE001 - a model that will not load or a server that fails is the answer
        report = f"The check stopped: {exc}"
    finally:
        if engine is not None:
            engine.stop()
    signals.finished.emit(report)


class ModelCheckDialog(QDialog):
    stored = Signal(dict)  # every stored result, once this check's is among them

    def __init__(self, library, db, kind: str, target, parent=None, cases: list[dict] | None = None):
        super().__init__(parent)
        self.db = db
        name = Path(target).name if kind == "file" else f"{target.model} on {target.shown_url}"
        self.setWindowTitle(f"Check {name}")
        self.cases = cases if cases is not None else held_out_cases(library.by_id)
        self.intro = QLabel(f"Grading {len(self.cases)} held-out answers (the test split, never used to tune the "
                            f"grader) with {name}. Each takes a few seconds on this machine.")
        self.intro.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, len(self.cases))
        self.result = QLabel("Starting...")
        self.result.setWordWrap(True)
        self.result.setStyleSheet("font-family: monospace")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.buttons.rejected.connect(self.cancel)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.bar, self.result, self.buttons):
            layout.addWidget(widget)
        self.report: dict | None = None
        self.cancel_event = threading.Event()
        self.signals = _Signals()
        self.signals.progressed.connect(self._progressed)
        self.signals.finished.connect(self._finished)
        self.worker = threading.Thread(target=run_check, name="model-check", daemon=True,
                                       args=(library, kind, target, self.cases, self.signals, self.cancel_event))
        self.worker.start()

    @property
    def running(self) -> bool:
        return self.worker.is_alive()

    def cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.result.setText("Cancelling...")
        else:
            self.reject()

    def _progressed(self, done: int, total: int) -> None:
        self.bar.setValue(done)
        self.result.setText(f"{done} of {total} graded")

    def _finished(self, report) -> None:
        self.buttons.setStandardButtons(QDialogButtonBox.Close)
        if isinstance(report, str):
            self.result.setText(report)
            return
        self.report = report
        store_result(self.db, report)
        kept = stored_results(self.db)
        default = MODELS[DEFAULT_MODEL]
        baseline = kept.get(f"sha256:{default.sha256}") if report["model"] != f"sha256:{default.sha256}" else None
        self.result.setText(format_check(report, baseline, "default model"))
        self.stored.emit(kept)

    def closeEvent(self, event) -> None:
        self.cancel_event.set()  # the worker stops within a grade; its result, if any, is no longer wanted
        super().closeEvent(event)
