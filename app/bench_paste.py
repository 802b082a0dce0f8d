"""`python -m app bench --only paste`: a pasted answer submitted a moment after the paste, through the app's own
dispatcher (its worker thread and the default model in its process).

A paste is saved as a draft after the typing pause, and a saved draft is fed to the model (dispatcher.feed). A
learner who then clicks Submit arrives while that feed runs. This grades a sample of dev answers twice each, the
question primed first both times: submitted at once (nothing fed; the spread bench's "pasted"), and submitted DELAY s
after the draft was saved, the feed under way. It prints both verdict times (from the submit) and their ratio."""
from __future__ import annotations

import time

from app.bench import figure_line
from app.bench_spread import three
from app.core.metrics import percentile

STEP = 24  # every 24th dev answer: 17 answers to 17 questions, about ten minutes here
DELAY = 0.5  # seconds from the draft save to the submit: the move from the answer box to the Submit button


def bench_paste(library) -> None:
    from app.bench_models import default_model_path
    from app.bench_spread import sample_answers
    from app.sessions.dispatcher import GradingDispatcher, Mailbox
    print(f"Paste, then submit (through the dispatcher; submitted at once, or {DELAY} s after the draft was saved)")
    path = default_model_path()
    if path is None:
        return
    mailbox, statuses = Mailbox(), []
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda state, message: statuses.append(state))
    try:
        dispatcher.load(path)
        if not mailbox.run_until(lambda: "ready" in statuses or "failed" in statuses, timeout=600) \
                or "failed" in statuses:
            print("  the default model did not load")
            return
        cases = [c for c in sample_answers(STEP) if c["question"] in library.by_id]
        at_once = [_verdict(dispatcher, mailbox, library, case, None) for case in cases]
        after = [_verdict(dispatcher, mailbox, library, case, DELAY) for case in cases]
    finally:
        dispatcher.shutdown()
    figure_line(f"submitted at once: verdict p50 / p90 / max ({len(cases)} dev answers)", three(at_once),
                "budget p50 <= 2 s")
    figure_line(f"submitted {DELAY} s after the paste was saved: verdict p50 / p90 / max", three(after),
                f"{percentile(after, 50) / max(percentile(at_once, 50), 1e-9):.2f}x at once")


def _verdict(dispatcher, mailbox, library, case: dict, delay: float | None) -> float:
    """Seconds from the submit to the verdict, the question primed first (and written ahead)."""
    from app.bench_spread import forget_answer
    from app.sessions.dispatcher import GradeRequest
    question = library.by_id[case["question"]]
    forget_answer(question, case["answer"])
    dispatcher.primed.clear()
    dispatcher.prime(question)
    mailbox.run_until(lambda: f"{question.id} written" in dispatcher.primed, timeout=300)
    if delay is not None:
        dispatcher.feed(question, case["answer"])
        time.sleep(delay)
    marks, done = {}, []
    started = time.perf_counter()
    dispatcher.grade(GradeRequest(question, case["answer"], on_done=done.append, on_failed=done.append,
                                  on_verdict=lambda g: marks.setdefault("verdict", time.perf_counter() - started)))
    mailbox.run_until(lambda: bool(done), timeout=600)
    return marks.get("verdict", float("nan"))
