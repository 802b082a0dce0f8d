"""After the window shows, on a plain thread: loads the embedding model, then embeds the note chunks the library
deferred (first start, or changed notes), with progress signals. It gives way to the chat model: two llama.cpp
processes on the same two cores slow each other several times over (`python -m app bench --only first-start`)."""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal

from app.library import Library
from app.llm.files import ModelFileError


class IndexBuilder(QObject):
    progressed = Signal(int, int)   # chunks embedded, chunks to embed
    finished = Signal(str)          # "" when done, else what went wrong (retrieval stays BM25)

    def __init__(self, library: Library, busy: Callable[[], bool] = lambda: False):
        super().__init__()
        self.library = library
        self.busy = busy  # whether the chat model is working: a grade, a reading or priming goes first
        self.cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Returns whether there are note chunks to embed (the status bar then shows a count)."""
        if self.library.embedder is None or self._thread is not None:
            return False
        self._thread = threading.Thread(target=self._run, name="index-builder", daemon=True)
        self._thread.start()
        return bool(self.library.pending_embeddings)

    def _run(self) -> None:
        try:
            self.library.embedder.load()
        except ModelFileError as exc:
            self.library.drop_embedder()
            self.finished.emit(f"{exc}. Search and citations use BM25 only; grading uses word overlap only.")
            return
        if not self.library.pending_embeddings and self.library.expansion_ready:
            return
        try:
            report = self.library.finish_index(self.progressed.emit, self.cancel, self._give_way)
        except Exception as exc:  # noqa: BLE001 - any failure leaves BM25 search working; say so and go on
            self.finished.emit(f"Building the notes index failed ({exc}); search and citations use BM25 only.")
            return
        if not report.pending:
            self.finished.emit("")

    def _give_way(self) -> None:
        """Before each batch: wait while the chat model works (the learner waits for it; the index can wait)."""
        while self.busy() and not self.cancel.is_set():
            self.cancel.wait(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel after the batch in hand (saved batches stay; the next start embeds the rest)."""
        self.cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)
