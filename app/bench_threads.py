"""Bench figures for interview threads and design rounds: submit-to-follow-up latency (target < 1 s) and a design
stage graded on the model (target p50 < 3 s on 2 cores), each with a baseline measured in the same run."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from app.core.metrics import percentile

FIXTURE_ROUND = Path(__file__).resolve().parent.parent / "tests" / "data" / "content" / "design"


def _line(name: str, value: str, budget: str = "") -> None:
    print(f"  {name:48} {value:>14}  {budget}")


def bench_followup_latency(library, answer: str, rounds: int = 12) -> float:
    """From submitting an answer to its follow-up being the current slot: the answer stored in SQLite, queued for
    grading, and the follow-up chosen (authored, or a probe from the rubric's word reading). No model is awaited."""
    from app.core.interview import InterviewSettings
    from app.sessions.dispatcher import GradingDispatcher, Mailbox
    from app.sessions.interview import InterviewController
    from app.storage.userdb import open_user_db

    class Quiet:
        def __getattr__(self, name):
            return lambda *args: None
    times, kinds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        db = open_user_db(Path(tmp) / "user.db")
        dispatcher = GradingDispatcher(library, Mailbox())
        control = InterviewController(db, library, dispatcher, Quiet())
        count = min(rounds, len(library.questions))
        problem = control.start(InterviewSettings(count=count, seconds_per_question=600, followups=True))
        if problem:
            print(f"  follow-up latency not measured: {problem}")
            dispatcher.shutdown()
            return 0.0
        while control.running:
            slot = control.session.current_slot
            if slot.kind != "question":
                control.skip("")
                continue
            started = time.perf_counter()
            control.answer(answer)
            shown = control.session.current_slot
            if shown is not None and shown.kind in ("followup", "probe"):
                times.append(time.perf_counter() - started)
                kinds.append(shown.kind)
        control.cancel_grading()
        dispatcher.shutdown()
    if not times:
        print("  no follow-up was asked (every answer made every point)")
        return 0.0
    p50 = statistics.median(times)
    _line(f"submit -> follow-up shown, p50 of {len(times)}", f"{p50 * 1000:.0f} ms", "target < 1 s")
    _line("  max", f"{max(times) * 1000:.0f} ms",
          f"{kinds.count('followup')} authored, {kinds.count('probe')} probes")
    return p50


def _design(library):
    if library.designs:
        return library.designs[0], "the bank"
    from app.content.open_items import parse_design_file
    path = next(FIXTURE_ROUND.glob("*.toml"))
    return parse_design_file(path, path.name)[0], f"test fixture {path.name} (the bank has no design rounds yet)"


def stage_answer(stage) -> str:
    """An answer making the stage's first key point and not the others: the model checks the rest."""
    return f"{stage.key_points[0].text} Beyond that I would keep the design simple and revisit it after launch."


def bench_design_stage(library, engine, verdict_baseline: float | None = None) -> None:
    """Each stage primed (as while the learner types), then graded with the model's point checks."""
    from app.llm.grader import GradingTools, grade_answer, prime_question
    design, source = _design(library)
    tools = GradingTools(engine, library.grading_tools().similarity)
    rubric = library.grading_tools()
    times, rubric_times, checks = [], [], []
    for stage in design.stages:
        question = design.stage_question(stage.id)
        answer = stage_answer(stage)
        started = time.perf_counter()
        grade_answer(question, answer, rubric)
        rubric_times.append(time.perf_counter() - started)
        prime_question(engine, question)
        started = time.perf_counter()
        grade = grade_answer(question, answer, tools)
        times.append(time.perf_counter() - started)
        checks.append(len(grade.evidence.get("checks", {})))
        tools.raise_crash()
    p50 = statistics.median(times)
    print(f"  design round: {design.id} from {source}; model {engine.name}")
    _line(f"design stage graded, p50 of {len(times)}", f"{p50:.2f} s", "target < 3 s on 2 cores")
    _line("  p90", f"{percentile(times, 90):.2f} s", f"{statistics.mean(checks):.1f} model checks per stage")
    rubric_p50 = statistics.median(rubric_times)
    _line("  rubric-only stage grade, p50 (baseline)", f"{rubric_p50 * 1000:.0f} ms",
          f"model grade {p50 / max(rubric_p50, 1e-9):.0f}x the rubric's")
    if verdict_baseline is None:
        verdict_baseline = _primed_verdict(library, engine, tools)
    _line("  a primed scenario verdict, same model (baseline)", f"{verdict_baseline:.2f} s",
          f"stage grade {p50 / max(verdict_baseline, 1e-9):.2f}x it")


def _primed_verdict(library, engine, tools) -> float:
    from app.bench import BENCH_ANSWER
    from app.llm.grader import grade_answer, prime_question
    question = library.by_id.get("fine-tuning-vs-rag-001") or library.questions[0]
    prime_question(engine, question)
    return grade_answer(question, BENCH_ANSWER, tools, explain=False).timings["verdict_s"]


def bench_threads(library, answer: str, verdict_baseline: float | None = None) -> None:
    from app.bench_models import default_model_path
    from app.llm.remote import RemoteChatEngine
    print("Interview threads and design rounds")
    bench_followup_latency(library, answer)
    path = default_model_path()
    if path is None:
        return
    engine = RemoteChatEngine(path)
    try:
        bench_design_stage(library, engine, verdict_baseline)
    finally:
        engine.stop()
