"""'Check this model': grade the held-out test split of content/answers with one model (a local file or a server
model) and report how far to trust it: choice and verdict accuracy, QWK, key-point F1, latency on this machine.
Results are kept per model (its sha256, or server and model name) in the user's settings."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from app import paths
from app.evaluation import filter_split, read_cases, summarise
from app.llm.engine import Cancelled
from app.llm.grader import GradingTools, grade_answer
from app.storage import userdb

CHECKS = "model_checks"
FIGURES = ("choice_accuracy", "verdict_accuracy", "qwk", "key_point_f1", "latency_p50_s", "latency_p95_s")
Progress = Callable[[int, int], None]


def answer_files() -> list[Path]:
    """The labelled answers (the blind folder holds the same labels hidden from the system's authors)."""
    return sorted((paths.content_dir() / "answers").glob("*.jsonl"))


def held_out_cases(bank: dict, files: list[Path] | None = None, split: str = "test") -> list[dict]:
    return filter_split(read_cases(files or answer_files(), bank), split)


def model_key(engine) -> str:
    """What a result is stored under: the file's sha256, or the server and model name."""
    if engine is None:
        return "rubric"
    return getattr(engine, "model_id", None) if hasattr(engine, "candidate_logprobs") else f"sha256:{engine.sha256}"


def check_model(cases: list[dict], tools: GradingTools, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> dict:
    """Grade every case (verdict only, no explanation) and summarise; raises Cancelled when asked to stop."""
    results = []
    started = time.perf_counter()
    for n, case in enumerate(cases, start=1):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        grade = grade_answer(case["question"], case["answer"], tools, cancel=cancel, explain=False)
        tools.raise_crash()  # figures that mix model and rubric-only grades would mean nothing
        if grade.path != tools.path:
            raise RuntimeError(f"Grading fell back from {tools.grader_name}: {grade.notice}")
        results.append((case, grade))
        if progress:
            progress(n, len(cases))
    report = summarise(results, tools.grader_name)
    report.update(model=model_key(tools.engine), path=tools.path, checked_at=time.time(),
                  wall_s=round(time.perf_counter() - started, 1))
    return report


def store_result(db, report: dict) -> None:
    """Keep a check's figures under its model (the latest check of a model replaces the one before)."""
    kept = dict(userdb.get_setting(db, CHECKS, {}) or {})
    kept[report["model"]] = {k: report[k] for k in (*FIGURES, "cases", "grader", "path", "checked_at")}
    userdb.set_setting(db, CHECKS, kept)


def stored_results(db) -> dict[str, dict]:
    return dict(userdb.get_setting(db, CHECKS, {}) or {})


def format_check(report: dict, baseline: dict | None = None, baseline_name: str = "") -> str:
    """The figures, with the default model's beside them when it has been checked."""
    lines = [f"model: {report['grader']} ({report['path']}), {report['cases']} held-out answers"]
    header = f"  {'':18} {'this model':>11}" + (f" {baseline_name[:24]:>24}" if baseline else "")
    lines.append(header)
    for key in FIGURES:
        row = f"  {key:18} {_figure(report.get(key)):>11}"
        if baseline:
            row += f" {_figure(baseline.get(key)):>24}"
        lines.append(row)
    return "\n".join(lines)


def _figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"
