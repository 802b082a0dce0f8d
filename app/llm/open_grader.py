"""Grades an open answer (a follow-up, a probe, a design stage) with the same decomposed grader as a scenario
answer, minus the options: the rubric's key-point and misconception evidence, the model's yes/no check of each point
the rubric did not find (when a model is loaded), and the open-answer verdict rule (policy.py). The feedback is built
from the rubric and the item's own model answer, never written by the model, so it cannot invent facts."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

from app.core import grader_address
from app.core.model import Grade, PointResult, Question
from app.core.open_rubric import open_signals
from app.core.policy import POLICY, Flag, open_verdict_and_score
from app.core.rubric import RubricSignals
from app.core.text import without_control_tokens
from app.llm.engine import Cancelled, ChatEngine
from app.llm.process import ModelCrashed
from app.llm.prompts import SYSTEM, open_prefix, point_check_user
from app.llm.server_client import ServerError
from app.llm.typing_ahead import answer_prompt
from app.llm.yes_no import is_server, p_yes

SKIP_MODEL = (Flag.EMPTY, Flag.INSTRUCTIONS, Flag.KEYWORD_LIST)


def prime_open(engine: ChatEngine, question: Question) -> None:
    """Evaluate the check prompt up to the answer while the learner types (a server evaluates it into its cache)."""
    if is_server(engine):
        engine.prime(SYSTEM, open_prefix(question))
        return
    engine.prime(answer_prompt(engine, question, ""))


def point_checks(engine: ChatEngine, question: Question, answer: str, indexes: list[int],
                 cancel: threading.Event | None = None) -> dict[str, float]:
    """P(yes) to "does the answer make this point?" for the key points at `indexes`."""
    found = {}
    for index in indexes:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        found[question.key_points[index].id] = p_yes(engine, point_check_user(question, answer, index), cancel)
    return found


def with_model_points(points: list[PointResult], checks: dict[str, float]) -> list[PointResult]:
    """A point the rubric missed is made when the model is sure of it and the rubric saw part of it."""
    return [PointResult(p.id, p.text, True, p.confidence, p.span)
            if not p.made and checks.get(p.id, 0.0) >= POLICY.open_point_yes and p.confidence >= POLICY.open_point_floor
            else p for p in points]


def grade_open_answer(question: Question, answer: str, tools, cancel: threading.Event | None = None,
                      on_verdict=None, on_token=None) -> Grade:
    cancel = cancel or threading.Event()
    started = time.perf_counter()
    answer = without_control_tokens(answer)
    notices: list[str] = []
    signals = _signals(question, answer, tools, notices)
    timings = {"rubric_s": time.perf_counter() - started}
    checks: dict[str, float] = {}
    missed = [i for i, p in enumerate(signals.key_points) if not p.made]
    if tools.engine is not None and missed and not any(f in signals.flags for f in SKIP_MODEL):
        t = time.perf_counter()
        checks, tools = _checks_or_fallback(question, grader_address.without(answer, signals.addressed), missed, tools, cancel, notices)
        timings["checks_s"] = time.perf_counter() - t
    if cancel.is_set():
        raise Cancelled()
    points = with_model_points(signals.key_points, checks)
    verdict, score = open_verdict_and_score(points, signals.misconceptions, signals.flags)
    grade = Grade(question.id, "none", 0.0, points, signals.misconceptions, signals.flags, verdict, score, "",
                  question.rationale, grader=tools.grader_name, path=tools.path,
                  evidence={"open": True, "checks": checks, "relevance": round(signals.relevance, 3)},
                  notice=" ".join(notices))
    timings["verdict_s"] = time.perf_counter() - started
    grade.timings = timings
    if on_verdict:
        on_verdict(grade)
    grade.explanation = open_explanation(question, grade)
    if on_token:
        on_token(grade.explanation)
    grade.timings["total_s"] = time.perf_counter() - started
    return grade


def _checks_or_fallback(question: Question, answer: str, missed: list[int], tools, cancel: threading.Event,
                        notices: list[str]):
    """The model's point checks and the tools that made them; when a model server fails, the local model's (if one
    loads), else none: the rubric grades, and the notice says which."""
    rubric_only = replace(tools, engine=None)
    try:
        return point_checks(tools.engine, question, answer, missed, cancel), tools
    except ModelCrashed as crash:
        notices.append(f"{crash} This answer was graded from the rubric only.")
        return {}, rubric_only
    except ServerError as failure:
        local = tools.load_fallback(notices)
        if local is None:
            notices.append(f"{failure} This answer was graded from the rubric only.")
            return {}, rubric_only
        notices.append(f"{failure} This answer was graded by the local model {local.name} instead.")
        return _checks_or_fallback(question, answer, missed, replace(tools, engine=local, fallback=None), cancel,
                                   notices)


def _signals(question: Question, answer: str, tools, notices: list[str]) -> RubricSignals:
    try:
        return open_signals(question, answer, tools.similarity)
    except ModelCrashed as crash:
        notices.append(f"{crash} Key points were matched by their words only.")
        return open_signals(question, answer, None)


def open_explanation(question: Question, grade: Grade) -> str:
    """Feedback from the rubric: how many points were made, misconceptions with what is true, and a strong answer
    (the missed points are listed beside it by the views and the report)."""
    if Flag.INSTRUCTIONS in grade.flags:
        parts = ["The answer contains instructions to the grader, so it is marked incorrect."]
    elif any(f in grade.flags for f in (Flag.EMPTY, Flag.KEYWORD_LIST, Flag.OFF_TOPIC)):
        parts = ["The answer does not address what was asked."]
    else:
        made = sum(1 for p in grade.key_points if p.made)
        parts = [f"You made {made} of {len(grade.key_points)} key points."]
    corrections = {m.id: getattr(m, "correction", "") for m in question.misconceptions}
    for wrong in (m for m in grade.misconceptions if m.made):
        parts.append(f"Watch out, this belief is mistaken: {wrong.text} {corrections.get(wrong.id, '')}".strip())
    if question.rationale:
        parts.append("A strong answer: " + question.rationale)
    return "\n\n".join(parts)
