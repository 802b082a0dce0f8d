"""`python -m app bench --only paste`: a pasted answer submitted a moment after the paste, through the app's own
dispatcher (its worker thread and the default model in its process).

A saved draft is fed to the model (dispatcher.feed); a paste is saved at once (draft_saver.pasted), where it used to
wait for the typing pause (PAUSE_MS) like a typed key. A learner who clicks Submit a moment after pasting arrives while
that feed runs. This grades a sample of dev answers three times each, the question primed first every time: submitted
at once (nothing fed; the spread bench's "pasted"); submitted DELAY s after the paste, saved and fed at the paste (the
app now); and the same with the save after the pause (the app before: the baseline). It prints the verdict times (from
the submit) and their ratios."""
from __future__ import annotations

import time

from app.bench import figure_line
from app.bench_spread import three
from app.core.metrics import percentile

STEP = 24  # every 24th dev answer: 17 answers to 17 questions, graded three times: about ten minutes here
DELAY = 0.5  # seconds from the paste to the submit: the move from the answer box to the Submit button


def bench_paste(library) -> None:
    from app.bench_models import default_model_path
    from app.bench_spread import sample_answers
    from app.sessions.dispatcher import GradingDispatcher, Mailbox
    from app.ui.draft_saver import PAUSE_MS
    print(f"Paste, then submit (through the dispatcher; submitted at once, or {DELAY} s after the paste)")
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
        now = [_verdict(dispatcher, mailbox, library, case, 0.0) for case in cases]
        before = [_verdict(dispatcher, mailbox, library, case, PAUSE_MS / 1000) for case in cases]
    finally:
        dispatcher.shutdown()
    figure_line(f"submitted at once: verdict p50 / p90 / max ({len(cases)} dev answers)", three(at_once),
                "budget p50 <= 2 s")
    figure_line(f"{DELAY} s after the paste, saved after the {PAUSE_MS} ms pause (before): verdict p50 / p90 / max",
                three(before), f"{_ratio(before, at_once)} at once")
    figure_line(f"{DELAY} s after the paste, saved at the paste (now): verdict p50 / p90 / max", three(now),
                f"{_ratio(now, at_once)} at once, {_ratio(now, before)} before")


def _ratio(these: list[float], baseline: list[float]) -> str:
    return f"{percentile(these, 50) / max(percentile(baseline, 50), 1e-9):.2f}x"


def _verdict(dispatcher, mailbox, library, case: dict, saved_after: float | None) -> float:
    """Seconds from the submit to the verdict, the question primed first (and written ahead). The answer is pasted,
    saved (and fed) saved_after s later, and submitted DELAY s after the paste; None: submitted at once, unsaved."""
    from app.bench_spread import forget_answer
    from app.sessions.dispatcher import GradeRequest
    question = library.by_id[case["question"]]
    forget_answer(question, case["answer"])
    dispatcher.primed.clear()
    dispatcher.prime(question)
    mailbox.run_until(lambda: f"{question.id} written" in dispatcher.primed, timeout=300)
    if saved_after is not None:
        pasted = time.perf_counter()
        time.sleep(saved_after)
        dispatcher.feed(question, case["answer"])
        time.sleep(max(0.0, DELAY - (time.perf_counter() - pasted)))
    marks, done = {}, []
    started = time.perf_counter()
    dispatcher.grade(GradeRequest(question, case["answer"], on_done=done.append, on_failed=done.append,
                                  on_verdict=lambda g: marks.setdefault("verdict", time.perf_counter() - started)))
    mailbox.run_until(lambda: bool(done), timeout=600)
    return marks.get("verdict", float("nan"))
