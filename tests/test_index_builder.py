"""The first start's notes index build gives way to the chat model: two llama.cpp processes on the same two cores
slow each other several times over (`python -m app bench --only first-start`), and the learner waits for the grade."""
from __future__ import annotations

import threading
from pathlib import Path

from app import paths
from app.library import open_library
from app.storage.bank import open_bank
from app.storage.index_store import stored_vector_digests
from app.ui.index_builder import IndexBuilder


def _vectors(library) -> int:
    db = open_bank(library.bank_path)
    try:
        return len(stored_vector_digests(db, library.embedder.model_id))
    finally:
        db.conn.close()


def test_the_index_build_waits_while_the_chat_model_works(qtbot, data_dir: Path) -> None:
    assert not paths.bank_db_path().exists()
    library = open_library(defer_embedding=True)
    assert library.pending_embeddings > 100
    working, asked = threading.Event(), threading.Event()
    working.set()  # a grade is running

    def busy() -> bool:
        asked.set()
        return working.is_set()

    builder = IndexBuilder(library, busy=busy)
    finished: list[str] = []
    builder.finished.connect(finished.append)
    assert builder.start()
    qtbot.waitUntil(asked.is_set, timeout=60_000)  # the embedding model is loaded; the first batch asks first
    qtbot.wait(1500)
    assert _vectors(library) == 0 and library.pending_embeddings > 100  # nothing embedded while the model works
    working.clear()
    qtbot.waitUntil(lambda: finished == [""], timeout=300_000)
    assert library.pending_embeddings == 0 and _vectors(library) > 100
    assert library.retrieve("semantic caching", 3)[1] == "hybrid"
    builder.stop()
