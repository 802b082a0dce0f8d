"""`python -m app bench --only first-start`: the first start's notes index build, alone, with the chat model
working beside it (priming and writing an explanation, about what a grade costs), and giving way to it as the app's
IndexBuilder does, in the same run."""
from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from app.bench import figure_line


def _build_seconds(library_path: Path, beside=None, give_way: bool = False) -> tuple[float, float]:
    """Seconds to embed a fresh bank's notes and scenarios, and the seconds `beside` ran on another thread; with
    give_way, the build waits before each batch while `beside` runs (IndexBuilder._give_way)."""
    from app.library import open_library
    library = open_library(bank_path=library_path, defer_embedding=True)
    library.embedder.load()
    other = {"s": 0.0}

    def run_beside() -> None:
        started = time.perf_counter()
        beside(library)
        other["s"] = time.perf_counter() - started

    thread = threading.Thread(target=run_beside) if beside else None
    started = time.perf_counter()
    if thread:
        thread.start()
    report = library.finish_index(pause=thread.join if thread and give_way else None)
    build = time.perf_counter() - started
    if thread:
        thread.join()
    assert not report.pending, "the index build left sections without a vector"
    return build, other["s"]


def bench_first_start() -> None:
    from app.bench_models import default_model_process
    from app.llm.grader import forget_empty_readings, prime_explanation, prime_question, write_explanation
    from app.llm.yes_no import forget_readings
    print("First start: the notes index build")
    engine = default_model_process()
    if engine is None:
        return

    def prime_and_write(library) -> None:  # dispatcher._prime for one question, explanation included
        question = library.by_id.get("fine-tuning-vs-rag-001") or library.questions[0]
        engine.reset()
        forget_empty_readings()
        forget_readings()
        prime_question(engine, question)
        prime_explanation(engine, question, library.retrieve)
        write_explanation(engine, question, library.retrieve)

    with tempfile.TemporaryDirectory() as tmp:
        alone, _ = _build_seconds(Path(tmp) / "alone.db")
        beside, shared = _build_seconds(Path(tmp) / "beside.db", prime_and_write)
        waited, first = _build_seconds(Path(tmp) / "waited.db", prime_and_write, give_way=True)
    engine.stop()
    figure_line("build alone", f"{alone:.2f} s", "302 note sections and 224 scenarios")
    figure_line("the model's work while the build gives way (now)", f"{first:.2f} s",
                "priming and writing one explanation, about a grade's cost")
    figure_line("  and the build, waiting first", f"{waited:.2f} s", f"{waited / max(alone, 1e-9):.2f}x alone")
    figure_line("the model's work beside the build (before)", f"{shared:.2f} s",
                f"{shared / max(first, 1e-9):.2f}x the same work with the cores to itself")
    figure_line("  and the build beside it", f"{beside:.2f} s", f"{beside / max(alone, 1e-9):.2f}x alone")
