"""`python -m app bench --only checks`: the per-option yes/no checks of one answer read side by side (one batch over
the evaluated answer, ChatEngine.branch_logprobs) against one after another (the baseline), in the same run, on the
same answers and the same cache state.

A sample of dev answers (every STEP-th) to multiple-choice questions, each graded as the app grades a paste: the
question primed, then the answer and the letter call evaluated. Then the checks are read both ways, three times each,
alternating, with the letter call's prompt put back in the cache before each reading (as the grader leaves it). It
prints the seconds per answer (the median of its three), their p50 and the ratio, and how far the two ways' P(yes)
differ (llama.cpp sums a batch's rows in groups of 16, so a row's numbers move a little with its place in a batch)."""
from __future__ import annotations

import time

from app.bench import figure_line
from app.core.metrics import percentile

STEP = 12  # every 12th dev answer: 33 answers, about four minutes here
RUNS = 3


def bench_checks(library) -> None:
    from app.bench_models import default_model_path
    from app.bench_spread import sample_answers
    from app.core.option_order import model_order
    from app.core.open_rubric import is_open
    from app.llm.engine import ChatEngine
    from app.llm.grader import model_choice, prime_question
    from app.llm.prompts import option_check_user
    from app.llm.yes_no import forget_readings, p_yes, p_yes_together
    print("Per-option checks: side by side (one batch) against one after another")
    path = default_model_path()
    if path is None:
        return
    engine = ChatEngine(path)
    together_s, alone_s, moved, options = [], [], [], []
    for case in sample_answers(STEP):
        question = library.by_id.get(case["question"])
        if question is None or is_open(question):
            continue
        read = model_order(question)
        users = [option_check_user(read, case["answer"], i) for i in range(len(read.options))]
        prime_question(engine, read)
        runs: dict[str, list[float]] = {"together": [], "alone": []}
        said: dict[str, list[float]] = {}
        for _ in range(RUNS):
            for way in ("together", "alone"):
                forget_readings()
                model_choice(engine, read, case["answer"])  # the answer and the letter call in the cache
                started = time.perf_counter()
                said[way] = (p_yes_together(engine, users) if way == "together"
                             else [p_yes(engine, user) for user in users])
                runs[way].append(time.perf_counter() - started)
        together_s.append(percentile(runs["together"], 50))
        alone_s.append(percentile(runs["alone"], 50))
        moved += [abs(a - b) for a, b in zip(said["together"], said["alone"])]
        options.append(len(read.options))
    forget_readings()
    figure_line(f"answers ({len(together_s)} dev answers)", f"{sum(options) / max(len(options), 1):.1f} options",
                "checks per answer, on average")
    figure_line("one after another (baseline): p50 / p90", _two(alone_s))
    figure_line("side by side: p50 / p90", _two(together_s),
                f"{percentile(together_s, 50) / max(percentile(alone_s, 50), 1e-9):.2f}x the baseline")
    figure_line("P(yes), side by side against one after another: p50 / max difference",
                f"{percentile(moved, 50):.3f} / {max(moved):.3f}")


def _two(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f} / {percentile(values, 90):.2f} s"
