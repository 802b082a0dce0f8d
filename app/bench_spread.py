"""`python -m app bench --only spread`: the primed verdict and full grade over many real answers, not one.

The budget is on the verdict's p50, and one bench answer cannot give a p50: how long a verdict takes depends on the
answer (its length, whether it names its option so that the letters and the names agree and the per-option checks
are skipped, how many key points sit in the unsure band). So this grades a fixed sample of the blind answers of the
dev split (every STEP-th, in file order) as the app grades them: the question primed as the dispatcher primes it
while the learner types (the choice prompt, the explanation prompt kept aside, the explanation written ahead), then
the answer graded by the model process, the app's default. Each answer is graded twice, both submitted at once:
pasted (nothing of it evaluated ahead) and typed (the draft fed to the model every LAG words, as the app feeds it at
each save, the last LAG words not yet fed when the learner submits)."""
from __future__ import annotations

import statistics
import time

from app import paths
from app.bench import figure_line
from app.core.metrics import percentile

STEP = 6  # every 6th dev answer: 65 answers to 65 questions; about 35 minutes here, most of it the priming
LAG = 2  # words typed per draft save under steady typing (one save every 1.5 s: about 2 words at 60 wpm)


def sample_answers(step: int = STEP) -> list[dict]:
    from app.evaluation import labelled_answers
    files = sorted((paths.content_dir() / "answers" / "blind").glob("*.jsonl"))
    return labelled_answers(files, "dev")[::step]


def bench_spread(library) -> None:
    from app.bench_models import default_model_process
    print("Grading spread (primed; pasted and submitted at once, or typed and submitted at once)")
    engine = default_model_process()
    if engine is None:
        return
    tools = library.grading_tools(engine)
    cases = [c for c in sample_answers() if c["question"] in library.by_id]
    pasted = [_graded(engine, tools, library, case, typed=False) for case in cases]
    typed = [_graded(engine, tools, library, case, typed=True) for case in cases]
    engine.stop()
    words = [len(c["answer"].split()) for c in cases]
    figure_line(f"answers graded ({len(cases)} dev answers, {len({c['question'] for c in cases})} questions)",
                f"{statistics.median(words):.0f} words", f"median length; {min(words)}-{max(words)}")
    for name, runs in (("pasted", pasted), ("typed", typed)):
        verdicts = [r[0] for r in runs]
        figure_line(f"{name}: primed verdict p50 / p90 / max", three(verdicts), "budget p50 <= 2 s")
        figure_line(f"{name}: primed full grade p50 / p90 / max", three([r[1] for r in runs]), "budget <= 8 s")
        checked = [r[0] for r in runs if r[2]]
        if checked:
            figure_line(f"{name}: verdicts with per-option checks ({len(checked)} of {len(cases)}) p50",
                        f"{percentile(checked, 50):.2f} s",
                        f"{percentile(checked, 50) / max(percentile(verdicts, 50), 1e-9):.2f}x the p50 of all")
    ratio = percentile([r[0] for r in typed], 50) / max(percentile([r[0] for r in pasted], 50), 1e-9)
    same = sum(p[3] == t[3] for p, t in zip(pasted, typed))
    figure_line("typed / pasted verdict p50", f"{ratio:.2f}x", f"same choice and verdict for {same} of {len(cases)}")


def _graded(engine, tools, library, case: dict, typed: bool) -> tuple[float, float, bool, tuple[str, str]]:
    """One answer graded as the app grades it: (verdict s, full grade s, per-option checks asked, (choice, verdict)).
    Typed: the draft fed every LAG words as the learner types, the last LAG words left for the submit."""
    from app.llm.grader import grade_answer, prime_explanation, prime_question, write_explanation
    from app.llm.typing_ahead import feed_draft
    question = library.by_id[case["question"]]
    forget_answer(question, case["answer"])
    prime_question(engine, question)  # while the learner types (dispatcher._prime); the cache back to the question
    prime_explanation(engine, question, library.retrieve)
    write_explanation(engine, question, library.retrieve)  # remembered after a question's first answer
    if typed:
        words = case["answer"].split(" ")
        for end in range(LAG, len(words) - LAG + 1, LAG):
            feed_draft(engine, question, " ".join(words[:end]))  # dispatcher.feed, at each draft save
    marks = {}
    started = time.perf_counter()
    grade = grade_answer(question, case["answer"], tools,
                         on_verdict=lambda g: marks.setdefault("verdict", time.perf_counter() - started))
    total = time.perf_counter() - started
    tools.raise_crash()  # a rubric-only figure would mean nothing
    return marks["verdict"], total, "checks_s" in grade.timings, (grade.choice, grade.verdict)


def forget_answer(question, answer: str) -> None:
    """Forget every reading of this answer: the bench times it as if it had never been read."""
    from app.llm.typing_ahead import as_graded
    from app.llm.yes_no import forget_readings
    forget_readings(containing=as_graded(question, answer).strip()[:200])


def three(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f} / {percentile(values, 90):.2f} / {max(values):.2f} s"
