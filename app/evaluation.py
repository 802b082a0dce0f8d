"""The grader's evaluation harness: grades labelled cases and reports agreement with the labels."""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from app.content.questions import validate_question
from app.core import option_order
from app.core.jsonl import jsonl_rows
from app.core.metrics import accuracy, f1, macro_f1, percentile, quadratic_weighted_kappa, split_of
from app.core.policy import Flag
from app.llm.grader import GradingTools, grade_answer

ADVERSARIAL = ("injection", "keyword", "off-topic", "empty")


class CasesInvalid(Exception):
    pass


def read_cases(paths: list[Path], bank: dict) -> list[dict]:
    """Cases with their question resolved; a bad line names file and line and nothing is graded."""
    cases, problems = [], []
    for path in paths:
        for number, row, error in jsonl_rows(path):
            where = f"{path}:{number}"
            if error:
                problems.append(f"{where}: {error}")
                continue
            ref = row.get("question")
            if isinstance(ref, dict):
                question, errors = validate_question(dict(ref, topic=ref.get("topic", "")))
                problems += [f"{where}: {message}" for _, message in errors]
            else:
                question = bank.get(str(ref))
                if question is None:
                    problems.append(f"{where}: question {ref!r} is not in the bank")
            label = row.get("label") or {}
            if label.get("verdict") not in ("correct", "partial", "incorrect"):
                problems.append(f"{where}: label.verdict must be correct, partial or incorrect")
            if question is not None and not isinstance(row.get("answer"), str):
                problems.append(f"{where}: field 'answer' must be a string")
            if question is not None:
                cases.append({"question": question, "answer": row.get("answer", ""), "label": label,
                              "kind": str(row.get("kind", "")), "where": where})
    if problems:
        raise CasesInvalid("\n".join(problems))
    return cases


def run_eval(cases: list[dict], tools: GradingTools, progress=None, dump=None) -> dict:
    results = []
    for n, case in enumerate(cases, start=1):
        grade = grade_answer(case["question"], case["answer"], tools, explain=False)
        tools.raise_crash()  # figures that mix model and rubric-only grades would mean nothing
        results.append((case, grade))
        if dump:
            dump.write(json.dumps({"where": case["where"], "kind": case["kind"], "label": case["label"],
                                   "answer": case["answer"], "grade": grade.to_dict()}) + "\n")
        if progress:
            progress(n, len(cases), case, grade)
    return summarise(results, tools.grader_name)


def summarise(results: list, grader: str) -> dict:
    choice_pairs = [(c["label"].get("choice", "none"), g.choice) for c, g in results]
    verdict_pairs = [(c["label"]["verdict"], g.verdict) for c, g in results]
    tp = fp = fn = 0
    for case, grade in results:
        truth = set(case["label"].get("key_points", []))
        made = {p.id for p in grade.key_points if p.made}
        tp += len(truth & made)
        fp += len(made - truth)
        fn += len(truth - made)
    addresses = [Flag.INSTRUCTIONS in g.flags for c, g in results if c["label"].get("instructions_to_grader")]
    honest_flagged = sum(1 for c, g in results
                         if not c["label"].get("instructions_to_grader") and Flag.INSTRUCTIONS in g.flags)
    adversarial = [(c, g) for c, g in results
                   if c["label"]["verdict"] == "incorrect" and any(a in c["kind"] for a in ADVERSARIAL)]
    latencies = [g.timings.get("verdict_s", 0.0) for _, g in results]
    kinds = defaultdict(list)
    for case, grade in results:
        kinds[case["kind"] or "(none)"].append((case, grade))
    return {
        "cases": len(results),
        "choice_accuracy": round(accuracy(choice_pairs), 4),
        "verdict_accuracy": round(accuracy(verdict_pairs), 4),
        "verdict_macro_f1": round(macro_f1(verdict_pairs), 4),
        "qwk": round(quadratic_weighted_kappa(verdict_pairs), 4),
        "key_point_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "key_point_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "key_point_f1": round(f1(tp, fp, fn), 4),
        "addresses_caught": f"{sum(addresses)} of {len(addresses)}",
        "honest_flagged": honest_flagged,
        "adversarial_not_correct": round(sum(1 for _, g in adversarial if g.verdict != "correct") / len(adversarial), 4)
        if adversarial else None,
        "adversarial_cases": len(adversarial),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "grader": grader,
        "by_kind": {kind: {"cases": len(items),
                           "choice_accuracy": round(accuracy([(c["label"].get("choice", "none"), g.choice) for c, g in items]), 3),
                           "verdict_accuracy": round(accuracy([(c["label"]["verdict"], g.verdict) for c, g in items]), 3)}
                    for kind, items in sorted(kinds.items())},
    }


def shuffle_options(cases: list[dict], seed: int) -> list[dict]:
    """The cases with each question's options in a random order (seeded), as a learner might have been shown them:
    the grader's figures must not depend on the order."""
    rng = random.Random(seed)
    return [dict(c, question=option_order.presented(c["question"], option_order.shuffled(c["question"], rng)))
            for c in cases]


def filter_split(cases: list[dict], split: str) -> list[dict]:
    return cases if split == "all" else [c for c in cases if split_of(c["question"].id) == split]


def format_report(report: dict) -> str:
    lines = [f"grader: {report['grader']}", f"cases: {report['cases']}"]
    for key in ("choice_accuracy", "verdict_accuracy", "verdict_macro_f1", "qwk", "key_point_precision",
                "key_point_recall", "key_point_f1", "adversarial_not_correct", "addresses_caught", "honest_flagged",
                "latency_p50_s", "latency_p95_s"):
        lines.append(f"  {key:24} {report[key]}")
    lines.append(f"  {'kind':16} {'cases':>5} {'choice':>7} {'verdict':>8}")
    for kind, row in report["by_kind"].items():
        lines.append(f"  {kind:16} {row['cases']:5d} {row['choice_accuracy']:7.2f} {row['verdict_accuracy']:8.2f}")
    return "\n".join(lines)


def print_progress(n: int, total: int, case: dict, grade) -> None:
    mark = "ok" if grade.verdict == case["label"]["verdict"] else "xx"
    print(f"[{n}/{total}] {mark} {case['question'].id} {case['kind']}: label {case['label']['verdict']}/"
          f"{case['label'].get('choice')} got {grade.verdict}/{grade.choice} {grade.timings.get('verdict_s', 0):.2f}s",
          file=sys.stderr, flush=True)


def fit_parser(prog: str, fit_file: str) -> argparse.ArgumentParser:
    """The arguments both fit commands take (python -m app.fit_address, python -m app.fit_choice)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("answers", nargs="+", type=Path)
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    parser.add_argument("--model", type=Path, default=Path("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"))
    parser.add_argument("--refit", action="store_true",
                        help=f"fit again on the rows stored in {fit_file} (no model run; after a feature change)")
    return parser


def labelled_answers(files: list[Path], split: str) -> list[dict]:
    """The labelled answers of one split (or all), as the raw rows the fit commands read."""
    rows = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or split_of(r["question"]) == split]
