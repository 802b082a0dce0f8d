"""`python -m app bench --only spread`: the primed verdict and full grade over many real answers, not one.

The budget is on the verdict's p50, and one bench answer cannot give a p50: how long a verdict takes depends on the
answer (its length, whether it names its option so that the letters and the names agree and the per-option checks
are skipped, how many key points sit in the unsure band). So this grades a fixed sample of the blind answers of the
dev split (every STEP-th, in file order) as the app does when the learner submits without a typing pause: the
question primed as the dispatcher primes it while the learner types (the choice prompt, the explanation prompt
kept aside, the explanation written ahead), then the answer graded by the model process, the app's default."""
from __future__ import annotations

import statistics
import time

from app import paths
from app.bench import figure_line
from app.core.metrics import percentile

STEP = 6  # every 6th dev answer: 65 answers to 65 questions; about 17 minutes here, most of it the priming


def sample_answers(step: int = STEP) -> list[dict]:
    from app.evaluation import labelled_answers
    files = sorted((paths.content_dir() / "answers" / "blind").glob("*.jsonl"))
    return labelled_answers(files, "dev")[::step]


def bench_spread(library) -> None:
    from app.bench_models import default_model_process
    from app.llm.grader import grade_answer, prime_explanation, prime_question, write_explanation
    print("Grading spread (primed, submitted without a typing pause)")
    engine = default_model_process()
    if engine is None:
        return
    tools = library.grading_tools(engine)
    verdicts, totals, with_checks = [], [], []
    cases = [c for c in sample_answers() if c["question"] in library.by_id]
    for case in cases:
        question = library.by_id[case["question"]]
        prime_question(engine, question)  # while the learner types (dispatcher._prime)
        prime_explanation(engine, question, library.retrieve)
        write_explanation(engine, question, library.retrieve)  # remembered after a question's first answer
        marks = {}
        started = time.perf_counter()
        grade = grade_answer(question, case["answer"], tools,
                             on_verdict=lambda g: marks.setdefault("verdict", time.perf_counter() - started))
        totals.append(time.perf_counter() - started)
        tools.raise_crash()  # a rubric-only figure would mean nothing
        verdicts.append(marks["verdict"])
        if "checks_s" in grade.timings:
            with_checks.append(marks["verdict"])
    engine.stop()
    words = [len(c["answer"].split()) for c in cases]
    figure_line(f"answers graded ({len(cases)} dev answers, {len({c['question'] for c in cases})} questions)",
                f"{statistics.median(words):.0f} words", f"median length; {min(words)}-{max(words)}")
    figure_line("primed verdict p50 / p90 / max", _three(verdicts), "budget p50 <= 2 s")
    figure_line("primed full grade p50 / p90 / max", _three(totals), "budget <= 8 s")
    if with_checks:
        checked = percentile(with_checks, 50)
        figure_line(f"verdicts with per-option checks ({len(with_checks)} of {len(cases)}) p50", f"{checked:.2f} s",
                    f"{checked / max(percentile(verdicts, 50), 1e-9):.2f}x the p50 of all")


def _three(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f} / {percentile(values, 90):.2f} / {max(values):.2f} s"
